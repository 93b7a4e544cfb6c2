/**
 * What the end-to-end tests through Pub/Sub share: topics whose push subscriptions reach the real
 * functions-framework server as Cloud Run's trigger would, the function's JSON log lines, and waiting
 * for one of them.
 */
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { FunctionsFrameworkServer } from './functions-framework.js';
import type { PubSubEmulator } from './pubsub-emulator.js';

/**
 * A Pub/Sub client on the emulator, for this test process only (the function is given its own
 * environment), and how to put the process's environment back.
 */
export async function emulatorClient(emulator: PubSubEmulator, project: string): Promise<{ pubsub: PubSub; restore: () => Promise<void> }> {
  const saved = { PUBSUB_EMULATOR_HOST: process.env.PUBSUB_EMULATOR_HOST, METADATA_SERVER_DETECTION: process.env.METADATA_SERVER_DETECTION };
  process.env.PUBSUB_EMULATOR_HOST = emulator.host;
  process.env.METADATA_SERVER_DETECTION = 'none';
  const { PubSub } = await import('@google-cloud/pubsub');
  const pubsub = new PubSub({ projectId: project });
  return {
    pubsub,
    restore: async () => {
      await pubsub.close();
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}

/**
 * A topic pushed to the function. The push path must name the topic: only then does the framework turn
 * the push into a CloudEvent.
 */
export async function topicPushedTo(pubsub: PubSub, ff: FunctionsFrameworkServer, project: string, name: string, ackDeadlineSeconds: number): Promise<Topic> {
  const [topic] = await pubsub.createTopic(name);
  await topic.createSubscription(`${name}-push`, { pushConfig: { pushEndpoint: `${ff.url}/projects/${project}/topics/${name}` }, ackDeadlineSeconds });
  return topic;
}

/** The function's stdout as the JSON objects Cloud Logging would read. */
export function jsonLines<T>(ff: FunctionsFrameworkServer): T[] {
  return ff.stdout.filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as T);
}

/** Waits until `cond` holds; on a timeout the error shows the function's last lines. */
export async function until(ff: FunctionsFrameworkServer | undefined, what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; function output:\n${ff?.lines.slice(-30).join('\n')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
