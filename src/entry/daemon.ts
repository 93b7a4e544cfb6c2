/**
 * Self-hosted mode: run the collector on a cron schedule (croner), never overlapping itself, and on
 * stop finish the page in flight, commit, and resolve.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Collector } from '../collect/deps.js';
import type { RunSummary } from '../collect/run.js';
import { ConfigError, describeError } from '../errors.js';

export interface DaemonOptions {
  collector: Pick<Collector, 'run'>;
  schedule: string;
  logger: Logger;
  /** Also run once right away (default true): a fresh deployment should not wait for the first tick. */
  runAtStart?: boolean;
  onRun?: (s: RunSummary | Error) => void;
}

export interface Daemon {
  /** Stop scheduling; the run in flight finishes its page and commits. Resolves when it has. */
  stop(): Promise<void>;
  /** Next scheduled start, if any. */
  nextRun(): Date | null;
  /** Runs so far, and how many were skipped because the previous one was still going. */
  readonly stats: { runs: number; skipped: number; failures: number };
}

export function startDaemon(opts: DaemonOptions): Daemon {
  const stopping = new AbortController();
  const stats = { runs: 0, skipped: 0, failures: 0 };
  let inFlight: Promise<void> | null = null;

  const tick = () => {
    if (stopping.signal.aborted) return;
    if (inFlight) {
      // croner's `protect` does the same; this keeps the count and the log line ours.
      stats.skipped += 1;
      opts.logger.warn({ event: 'daemon.skipped' }, 'previous run still going: skipping this tick');
      return;
    }
    stats.runs += 1;
    inFlight = opts.collector
      .run(stopping.signal)
      .then((s) => {
        opts.onRun?.(s);
      })
      .catch((err: unknown) => {
        // A failed run is logged and retried at the next tick; the checkpoint was not advanced.
        stats.failures += 1;
        opts.logger.error({ event: 'daemon.run-failed', error_code: (err as { code?: string }).code ?? 'UNEXPECTED' }, describeError(err));
        opts.onRun?.(err instanceof Error ? err : new Error(String(err)));
      })
      .finally(() => {
        inFlight = null;
      });
  };

  let job: Cron;
  try {
    job = new Cron(opts.schedule, { protect: true, catch: true }, tick);
  } catch (err) {
    throw new ConfigError([`--schedule: "${opts.schedule}" is not a cron expression (${describeError(err)}); e.g. "*/5 * * * *"`]);
  }
  opts.logger.info({ event: 'daemon.started', schedule: opts.schedule, next: job.nextRun()?.toISOString() }, `scheduled: ${opts.schedule}`);
  if (opts.runAtStart ?? true) tick();

  return {
    stats,
    nextRun: () => job.nextRun(),
    async stop() {
      job.stop();
      stopping.abort();
      if (inFlight) await inFlight;
      opts.logger.info({ event: 'daemon.stopped', ...stats }, 'stopped');
    },
  };
}
