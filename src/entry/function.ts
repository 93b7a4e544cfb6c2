/**
 * The Cloud Run function: a functions-framework CloudEvent handler named `main`, triggered by Pub/Sub
 * from Cloud Scheduler, exactly where Google's guide puts its Python function. At import it only
 * registers the handler; configuration, clients and storage load on the first event, then stay warm.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import type { Collector } from '../collect/deps.js';
import type { CollectionSummary } from '../collect/run-streams.js';
import type { CollectionSummaryJson } from '../collect/summary.js';
import type { Logger } from '../log.js';
import type { Config } from '../config.js';
// A few classes with no dependencies: cheap enough to load before the first event.
import { isCollectorError } from '../errors.js';

interface Warm {
  config: Config;
  collector: Collector;
  logger: Logger;
  summaryJson: (s: CollectionSummary) => CollectionSummaryJson;
  /** Logs each stream not collected; returns the worst failure. */
  logStreamProblems: (s: CollectionSummary, logger: Logger) => unknown;
}

let warm: Promise<Warm> | undefined;

async function build(env: NodeJS.ProcessEnv): Promise<Warm> {
  const [{ loadConfig }, { createLogger }, { createCollector }, { collectionJson }, { logStreamProblems }] = await Promise.all([
    import('../config.js'),
    import('../log.js'),
    import('../collect/deps.js'),
    import('../collect/summary.js'),
    import('../collect/run-streams.js'),
  ]);
  const config = loadConfig(env, {}, { needDuo: true, entry: 'function' });
  // Cloud Logging reads JSON lines from stdout: `severity` and `message` are understood as such.
  const logger = createLogger({ level: config.logLevel, destination: process.stdout });
  return { config, collector: await createCollector(config, { logger }), logger, summaryJson: collectionJson, logStreamProblems };
}

/**
 * What the framework receives when an invocation fails. The framework answers 500 (Pub/Sub then
 * redelivers) and prints the error's `stack` to stderr. A stack trace there would be a dozen Cloud
 * Logging entries per failure, and a multi-line configuration message as many: so `stack` is one
 * JSON line Cloud Logging parses into a single entry with `severity`, `message` and the error code.
 * Frames are kept (as `stack_trace`, which Error Reporting reads) only for errors we did not expect.
 */
export class InvocationError extends Error {
  readonly code: string;

  constructor(cause: unknown, eventId: string | undefined) {
    const known = isCollectorError(cause);
    const message = cause instanceof Error ? cause.message : String(cause);
    super(message, { cause });
    this.name = 'InvocationError';
    this.code = known ? cause.code : 'UNEXPECTED';
    this.stack = JSON.stringify({
      severity: 'ERROR',
      message,
      event: 'function.failed',
      error_code: this.code,
      ...(eventId !== undefined ? { eventId } : {}),
      ...(!known && cause instanceof Error && cause.stack ? { stack_trace: cause.stack } : {}),
      time: new Date().toISOString(),
    });
  }
}

/** Exported for tests; the framework calls it through the registration below. */
export async function handleEvent(event: CloudEvent<unknown>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const starting = (warm ??= build(env).catch((err: unknown) => {
    // Do not keep a failed start (bad config, Secret Manager down): the next event tries again.
    warm = undefined;
    throw err;
  }));
  let w: Warm;
  try {
    w = await starting;
  } catch (err) {
    throw new InvocationError(err, event.id);
  }
  try {
    // The daily job (`deploy --verify-daily`) sends `{"verify":"yesterday"}`; accounts mode with a work
    // topic publishes and receives work messages (fan-out.ts); anything else collects.
    const message = pubsubJson(event);
    const verify = verifyRequestOf(message);
    if (w.config.accounts !== undefined && w.config.workTopic !== undefined && !verify) {
      const { collectWork, dispatchWork, isWorkMessage } = await import('./fan-out.js');
      if (isWorkMessage(message)) await collectWork(w.config, w.logger, message, event.id);
      else await dispatchWork(w.config, w.logger, event.id);
      return;
    }
    if (verify) {
      // Only a verify message loads verify: a collection's invocations carry none of it.
      const { verifyYesterday } = await import('../verify/daily.js');
      const results = await verifyYesterday(w.config, w.logger, verify);
      w.logger.info({ event: 'function.verified', eventId: event.id, streams: results.length }, `verified ${results.length} stream${results.length === 1 ? '' : 's'}`);
      return;
    }
    const summary = await w.collector.run();
    const json = w.summaryJson(summary);
    // "Caught up" and "another run owns the window" are successes: nothing to redeliver.
    w.logger.info({ event: 'function.finished', eventId: event.id, ...json }, `collected ${json.events} events (${json.outcome})`);
    // Every stream has run; the worst failure fails the invocation (the others' progress is committed).
    const failure = w.logStreamProblems(summary, w.logger);
    if (failure !== undefined) throw failure;
  } catch (err) {
    throw new InvocationError(err, event.id);
  }
}

/** The message that asks to verify yesterday (`{"verify":"yesterday","repair":…}`), or null: collect. */
export function verifyRequestOf(message: unknown): { repair: boolean } | null {
  if (typeof message !== 'object' || message === null) return null;
  const m = message as { verify?: unknown; repair?: unknown };
  return m.verify === 'yesterday' ? { repair: m.repair === true } : null;
}

/** The JSON a Pub/Sub CloudEvent carries (`data.message.data`, base64), or undefined. */
export function pubsubJson(event: CloudEvent<unknown>): unknown {
  const data = event.data as { message?: { data?: unknown } } | undefined;
  const b64 = data?.message?.data;
  if (typeof b64 !== 'string' || b64 === '') return undefined;
  try {
    return JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** Forget the warm collector (tests that change the environment between events). */
export async function resetForTests(): Promise<void> {
  const w = warm;
  warm = undefined;
  if (w) await (await w.catch(() => undefined))?.collector.close();
}

cloudEvent('main', (event: CloudEvent<unknown>) => handleEvent(event));
