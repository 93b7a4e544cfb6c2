/**
 * Self-hosted mode: run the collector on a cron schedule (croner), never overlapping itself, and on
 * stop abandon the request to Duo in flight, commit the page being stored, and resolve.
 */
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Collector } from '../collect/deps.js';
import { logStreamProblems, type CollectionSummary } from '../collect/run-streams.js';
import { ConfigError, describeError } from '../errors.js';
import { codeOf, ERROR_CODES } from '../exit-codes.js';

export interface DaemonOptions {
  collector: Pick<Collector, 'run'>;
  schedule: string;
  logger: Logger;
  /** Also run once right away (default true): a fresh deployment should not wait for the first tick. */
  runAtStart?: boolean;
  onRun?: (s: CollectionSummary | Error) => void;
  /** Abandons storage I/O in flight (a grace after a stop signal). */
  hardSignal?: AbortSignal;
}

export interface Daemon {
  /** Stop scheduling; the run in flight finishes its page and commits. Resolves when it has. */
  stop(): Promise<void>;
  /**
   * Rejects with the error of a run that failed on a problem another tick cannot cure (a row of the
   * exit-code table with `stopsDaemon`: bad configuration, refused credentials, an object conflict):
   * the daemon has stopped scheduling then. Never resolves otherwise.
   */
  readonly failed: Promise<never>;
  /** Next scheduled start, if any. */
  nextRun(): Date | null;
  /** Runs so far, and how many were skipped because the previous one was still going. */
  readonly stats: { runs: number; skipped: number; failures: number };
}

export function startDaemon(opts: DaemonOptions): Daemon {
  const stopping = new AbortController();
  const stats = { runs: 0, skipped: 0, failures: 0 };
  let inFlight: Promise<void> | null = null;
  let fail!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  // Only a caller that waits on it sees it; an unobserved rejection must not crash the process.
  failed.catch(() => {});

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
      .run(stopping.signal, opts.hardSignal)
      .then((s) => {
        // Every stream has run: the worst failure is this run's, as if it had been thrown.
        const failure = logStreamProblems(s, opts.logger);
        if (failure !== undefined) throw failure;
        opts.onRun?.(s);
      })
      .catch((err: unknown) => {
        // A failed run is logged and, unless another tick cannot cure it, tried again at the next tick;
        // the checkpoint was not advanced past what was written.
        stats.failures += 1;
        const code = codeOf(err) ?? 'UNEXPECTED';
        const permanent = ERROR_CODES[code].stopsDaemon;
        opts.logger.error(
          { event: 'daemon.run-failed', error_code: code, stopping: permanent },
          `${describeError(err)}${permanent ? ' (another tick cannot cure this: the daemon stops)' : ' (trying again at the next tick)'}`,
        );
        const error = err instanceof Error ? err : new Error(String(err));
        opts.onRun?.(error);
        if (permanent) {
          job.stop();
          stopping.abort();
          fail(error);
        }
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
    failed,
    nextRun: () => job.nextRun(),
    async stop() {
      job.stop();
      stopping.abort();
      if (inFlight) await inFlight;
      opts.logger.info({ event: 'daemon.stopped', ...stats }, 'stopped');
    },
  };
}
