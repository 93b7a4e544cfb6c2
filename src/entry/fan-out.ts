/**
 * The function's side of accounts mode with WORK_TOPIC (collect/accounts.ts says the why): the scheduled
 * message lists the children and publishes one work message per (account, stream); each work message is
 * collected by an invocation of its own. Loaded only in accounts mode, so a single-account function
 * never loads the Pub/Sub client.
 */
import type { Config } from '../config.js';
import { ceilingOf, listChildren, parseWorkMessage, refOf, workMessages, type WorkMessage } from '../collect/accounts.js';

export { isWorkMessage } from '../collect/accounts.js';
import { collectChild, resolveSecretKey } from '../collect/deps.js';
import { logStreamProblems, type CollectionSummary } from '../collect/run-streams.js';
import { collectionJson } from '../collect/summary.js';
import type { Logger } from '../log.js';

/** Lists the children and publishes their work on WORK_TOPIC; returns how many messages went out. */
export async function dispatchWork(c: Config, logger: Logger, eventId: string | undefined): Promise<number> {
  const topicName = c.workTopic;
  if (topicName === undefined) throw new Error('dispatchWork needs WORK_TOPIC');
  const { selected: accounts } = await listChildren(c, await resolveSecretKey(c), logger);
  const messages = workMessages(c, accounts);
  await publish(topicName, messages);
  const rpm = messages[0]?.requests_per_minute;
  logger.info(
    { event: 'accounts.dispatched', eventId, accounts: accounts.length, messages: messages.length, topic: topicName, requestsPerMinute: rpm },
    `published ${messages.length} work messages for ${accounts.length} child accounts on ${topicName}${rpm === undefined ? '' : `, each paced at most ${rpm}/min per endpoint`}`,
  );
  return messages.length;
}

/**
 * Publishes every message and waits until Pub/Sub has them all. A dispatch that fails part way fails the
 * invocation (`function.failed`); the next scheduled run publishes everything again, and what was
 * published twice meets the checkpoints' compare-and-swap.
 */
async function publish(topicName: string, messages: readonly WorkMessage[]): Promise<void> {
  const { PubSub } = await import('@google-cloud/pubsub');
  // The topic's own project: no project detection (metadata server, environment) is needed.
  const projectId = /^projects\/([^/]+)\//.exec(topicName)?.[1];
  const pubsub = new PubSub(projectId ? { projectId } : {});
  try {
    const topic = pubsub.topic(topicName, { batching: { maxMessages: 100, maxMilliseconds: 20 } });
    await Promise.all(messages.map((m) => topic.publishMessage({ json: m })));
  } finally {
    await pubsub.close();
  }
}

/**
 * One work message: one child account's stream, collected by a collector that lives for it. A failure is
 * logged with the account's id and name and the invocation still succeeds: Pub/Sub redelivering it at
 * once would only repeat a 403 or prolong a 429 storm, and the next scheduled run asks again. A message
 * that cannot be read is logged and dropped for the same reason.
 */
export async function collectWork(c: Config, logger: Logger, message: unknown, eventId: string | undefined): Promise<CollectionSummary | undefined> {
  const work = parseWorkMessage(c, message);
  if ('problem' in work) {
    logger.error({ event: 'work.refused', eventId, error_code: 'CONFIG_INVALID' }, `work message dropped: ${work.problem}`);
    return undefined;
  }
  const account = refOf(work.account);
  const summary = await collectChild(c, {
    logger,
    account: work.account,
    streams: [work.stream],
    // The message's share, never above this deployment's own ceiling, whoever published it.
    ...(work.requestsPerMinute !== undefined ? { client: { requestsPerMinute: Math.min(work.requestsPerMinute, ceilingOf(c)) } } : {}),
  });
  const json = collectionJson(summary);
  logger.info(
    { event: 'function.finished', eventId, account_id: account.id, account_name: account.name, ...json },
    `${account.name} (${account.id}) ${work.stream}: collected ${json.events} events (${json.outcome})`,
  );
  logStreamProblems(summary, logger);
  return summary;
}
