/**
 * A collection: every selected stream collected side by side, each by its own `runOnce` with its own
 * sink and checkpoint, all through one Duo client (one pacing for the integration). A stream that
 * fails does not stop the others; the collection reports each stream, and its failure is the worst
 * stream's (K's exit-code table).
 *
 * A stream Duo refuses with 403 or 404 while it serves another stream of the same collection is
 * "unsupported" for this account (an edition without it, or an app allowed only some logs): reported,
 * not a failure. With no stream served, the same refusal is the failure it always was (a wrong key,
 * host or permission).
 */
import type { StreamName } from '../duo/streams.js';
import { AbortedError, describeError, DuoApiError } from '../errors.js';
import { codeOf, EXIT_STATUS, exitStatusOf, type ExitStatus } from '../exit-codes.js';
import type { RunOutcome, RunSummary } from './run.js';
import type { Logger } from '../log.js';

/** A child account in accounts mode, as results and log lines name it. */
export interface AccountRef {
  id: string;
  name: string;
}

export type StreamResult = (
  | { stream: StreamName; status: 'collected'; summary: RunSummary }
  | { stream: StreamName; status: 'unsupported'; error: DuoApiError }
  | { stream: StreamName; status: 'failed'; error: unknown }
  /** Accounts mode: the run's time budget ran out before this account's turn; the next run starts with it. */
  | { stream: StreamName; status: 'deferred' }
) & { account?: AccountRef };

export interface CollectionSummary {
  /** One result per selected stream, in the stream table's order. */
  streams: StreamResult[];
  durationMs: number;
}

export interface StreamJob {
  stream: StreamName;
  run(): Promise<RunSummary>;
}

/** Runs every job at once and waits for all of them, whatever each one's fate. */
export async function runStreams(jobs: readonly StreamJob[], now: () => number = Date.now): Promise<CollectionSummary> {
  const startMs = now();
  const settled = await Promise.allSettled(jobs.map((j) => j.run()));
  const anyServed = settled.some((s) => s.status === 'fulfilled');
  const streams = settled.map((s, i): StreamResult => {
    const stream = jobs[i]!.stream;
    if (s.status === 'fulfilled') return { stream, status: 'collected', summary: s.value };
    const err: unknown = s.reason;
    if (anyServed && isUnsupported(err)) return { stream, status: 'unsupported', error: err };
    return { stream, status: 'failed', error: err };
  });
  return { streams, durationMs: now() - startMs };
}

/** A refusal that says this account does not offer the endpoint to this application. */
function isUnsupported(err: unknown): err is DuoApiError {
  return err instanceof DuoApiError && (err.httpStatus === 403 || err.httpStatus === 404);
}

/**
 * Which failure speaks for the collection: one a human must look at before one the next run may cure
 * (an object conflict, a bug, a setting, Duo's refusal, then what is unavailable). Undefined when no
 * stream failed.
 */
export function worstFailure(c: CollectionSummary): unknown {
  const failures = c.streams.flatMap((r) => (r.status === 'failed' ? [r.error] : []));
  const rank = (err: unknown): number => SEVERITY.indexOf(exitStatusOf(err));
  return failures.reduce<unknown>((worst, err) => (worst === undefined || rank(err) < rank(worst) ? err : worst), undefined);
}

const SEVERITY: readonly ExitStatus[] = [EXIT_STATUS.objectConflict, EXIT_STATUS.failed, EXIT_STATUS.config, EXIT_STATUS.duoAccess, EXIT_STATUS.unavailable, EXIT_STATUS.ok];

/**
 * The outcome of the whole collection for one line: `stopped` if any stream stopped, else the first not
 * caught up (an account deferred for want of time counts as `budget`).
 */
export function collectionOutcome(c: CollectionSummary): RunOutcome | 'failed' {
  if (c.streams.some((r) => r.status === 'failed')) return 'failed';
  const outcomes = c.streams.flatMap((r): RunOutcome[] => (r.status === 'collected' ? [r.summary.outcome] : r.status === 'deferred' ? ['budget'] : []));
  if (outcomes.includes('stopped')) return 'stopped';
  return outcomes.find((o) => o !== 'caught-up') ?? 'caught-up';
}

/** Events written by every stream of the collection. */
export function collectionEvents(c: CollectionSummary): number {
  return c.streams.reduce((n, r) => n + (r.status === 'collected' ? r.summary.events : 0), 0);
}

/** An error's code and message as a summary shows them. */
export function describeFailure(err: unknown): { code: string; message: string } {
  return { code: codeOf(err) ?? 'UNEXPECTED', message: describeError(err) };
}

/**
 * For entry points without a printed summary (the daemon, the function): one log line per stream that
 * was not collected, and the failure that speaks for the collection (worstFailure), if any.
 */
export function logStreamProblems(c: CollectionSummary, logger: Logger): unknown {
  for (const r of c.streams) {
    if (r.status === 'collected') continue;
    const who = resultName(r);
    const account = r.account ? { account_id: r.account.id, account_name: r.account.name } : {};
    if (r.status === 'deferred') {
      logger.warn({ event: 'account.deferred', stream: r.stream, ...account }, `${who}: not reached within the run's time budget; the next run starts with it`);
      continue;
    }
    const { code, message } = describeFailure(r.error);
    if (r.status === 'unsupported') logger.warn({ event: 'stream.unsupported', stream: r.stream, ...account, error_code: code }, `${who}: not served to this Duo account or application, left out: ${message}`);
    else logger.error({ event: 'stream.failed', stream: r.stream, ...account, error_code: code }, `${who}: ${message}`);
  }
  return worstFailure(c);
}

/** How a result is named in messages: `telephony`, or `Child 7 (DA…) telephony` in accounts mode. */
export function resultName(r: Pick<StreamResult, 'stream' | 'account'>): string {
  return r.account ? `${r.account.name} (${r.account.id}) ${r.stream}` : r.stream;
}

/** The summary of a collection of one stream (`stream`, or the only one), its failure thrown. */
export function streamSummary(c: CollectionSummary, stream?: StreamName): RunSummary {
  const r = stream === undefined && c.streams.length === 1 ? c.streams[0] : c.streams.find((x) => x.stream === stream);
  if (!r) throw new Error(`the collection has no stream ${stream ?? '(several were collected: name one)'}`);
  if (r.status === 'deferred') throw new Error(`${resultName(r)} was not reached within the time budget`);
  if (r.status !== 'collected') throw r.error;
  return r.summary;
}

/**
 * Turns for streams collected side by side: at most `n` hold one at a time, the others wait in order
 * of arrival. A stream holds a turn from a page's request to its commit, so the pages in memory at
 * once stay `n` however many streams run, and every stream advances in turn. Hand-written: a FIFO
 * semaphore with abort is a dozen lines, smaller than a dependency.
 */
export function createTurns(n: number): (signal?: AbortSignal) => Promise<() => void> {
  let free = n;
  const waiting: Array<() => void> = [];
  const release = (): void => {
    const next = waiting.shift();
    if (next) next();
    else free += 1;
  };
  return (signal) => {
    if (signal?.aborted) return Promise.reject(new AbortedError('stopped while waiting for a turn'));
    const once = (): (() => void) => {
      let done = false;
      return () => {
        if (done) return;
        done = true;
        release();
      };
    };
    if (free > 0) {
      free -= 1;
      return Promise.resolve(once());
    }
    return new Promise((resolve, reject) => {
      const grant = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve(once());
      };
      const onAbort = (): void => {
        const i = waiting.indexOf(grant);
        if (i >= 0) waiting.splice(i, 1);
        reject(new AbortedError('stopped while waiting for a turn'));
      };
      waiting.push(grant);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  };
}
