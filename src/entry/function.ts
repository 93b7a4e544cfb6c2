/**
 * The Cloud Run function: a functions-framework CloudEvent handler named `main`, triggered by Pub/Sub
 * from Cloud Scheduler, exactly where Google's guide puts its Python function. At import it only
 * registers the handler; configuration, clients and storage load on the first event, then stay warm.
 */
import { cloudEvent, type CloudEvent } from '@google-cloud/functions-framework';
import type { Collector } from '../collect/deps.js';
import type { Logger } from '../log.js';

let collector: Promise<{ collector: Collector; logger: Logger }> | undefined;

async function build(env: NodeJS.ProcessEnv): Promise<{ collector: Collector; logger: Logger }> {
  const [{ loadConfig }, { createLogger }, { createCollector }] = await Promise.all([
    import('../config.js'),
    import('../log.js'),
    import('../collect/deps.js'),
  ]);
  const config = loadConfig(env, {}, { needDuo: true });
  // Cloud Logging reads JSON lines from stdout: `severity` and `message` are understood as such.
  const logger = createLogger({ level: config.logLevel, destination: process.stdout });
  return { collector: await createCollector(config, { logger }), logger };
}

/** Exported for tests; the framework calls it through the registration below. */
export async function handleEvent(event: CloudEvent<unknown>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  collector ??= build(env).catch((err: unknown) => {
    // Do not keep a failed start (bad config, Secret Manager down): the next event tries again.
    collector = undefined;
    throw err;
  });
  const { collector: c, logger } = await collector;
  try {
    const summary = await c.run();
    // "Caught up" and "another run owns the window" are successes: nothing to redeliver.
    logger.info({ event: 'function.finished', eventId: event.id, outcome: summary.outcome, events: summary.events }, `collected ${summary.events} events (${summary.outcome})`);
  } catch (err) {
    const e = err as { code?: string; message?: string };
    logger.error({ event: 'function.failed', eventId: event.id, error_code: e.code ?? 'UNEXPECTED' }, e.message ?? String(err));
    throw err;
  }
}

/** Forget the warm collector (tests that change the environment between events). */
export async function resetForTests(): Promise<void> {
  const c = collector;
  collector = undefined;
  if (c) await (await c.catch(() => undefined))?.collector.close();
}

cloudEvent('main', (event: CloudEvent<unknown>) => handleEvent(event));
