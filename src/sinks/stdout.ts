/**
 * Stdout sink: each page's NDJSON body goes to a stream (normally the process's stdout), so the collector
 * can feed a pipe (`duo-secops collect --stdout | vector …`).
 *
 * Delivery to a pipe is at-least-once, not exactly-once: a stream has no object names, so a crash between
 * writing a page and committing the checkpoint repeats that page on the next run. Every write is
 * therefore `created`. Consumers that need exactly-once deduplicate on `telephony_id`. A page accepted
 * by a pipe may still sit in it unread, lost if the reader dies: `inFlightBytes` (the pipe's capacity)
 * tells the run loop to commit a page only once that much more output was accepted after it.
 *
 * Nor can it read back what it wrote: `readPage` answers null for every name. That is safe because the
 * only reader is the run loop reconciling a page whose name already holds different content, and a
 * write here never meets an existing object (no `exists`, no ObjectConflictError), so it never asks.
 */
import { fstatSync, readFileSync } from 'node:fs';
import { AbortedError, OutputClosedError, StorageError } from '../errors.js';
import { errnoCode } from '../fs/errors.js';
import type { PageObject, Sink, WriteOutcome } from './types.js';

export interface StdoutSinkOptions {
  stream: NodeJS.WritableStream;
  /** Bytes the stream may hold unread (a pipe's capacity; 0 for a file or a terminal). */
  inFlightBytes?: number;
}

/**
 * What a pipe on file descriptor `fd` can hold unread, at most: 0 for a file or a terminal; for a pipe
 * or a socket, the largest a pipe may be made on this system (a reader can enlarge its pipe up to
 * /proc/sys/fs/pipe-max-size, 1 MiB by default on Linux), or 1 MiB where that cannot be read.
 */
export function pipeCapacityOf(fd: number): number {
  let st;
  try {
    st = fstatSync(fd);
  } catch {
    return 0;
  }
  if (!st.isFIFO() && !st.isSocket()) return 0;
  try {
    const max = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'utf8').trim());
    if (Number.isSafeInteger(max) && max > 0) return max;
  } catch {
    // Not Linux: use the common bound.
  }
  return 1024 * 1024;
}

export function createStdoutSink(opts: StdoutSinkOptions): Sink {
  const stream = opts.stream;
  let failure: unknown;
  // Without a listener an EPIPE from a vanished reader would crash the process from an 'error' event;
  // recording it instead lets the current or next write reject with a clear StorageError.
  const onError = (err: unknown): void => {
    failure ??= err;
  };
  stream.on('error', onError);
  // One write in flight at a time: pages stay whole and in order, and concurrent callers do not pile
  // listeners onto the stream.
  let queue: Promise<unknown> = Promise.resolve();

  return {
    location: 'stdout',
    inFlightBytes: opts.inFlightBytes ?? 0,

    async writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome> {
      if (signal?.aborted) throw new AbortedError(`write of ${obj.key} aborted`);
      const turn = queue.then(async () => {
        if (failure !== undefined) throw stdoutError(failure);
        try {
          await writeRespectingBackpressure(stream, obj.body);
        } catch (err) {
          throw stdoutError(failure ?? err);
        }
      });
      queue = turn.catch(() => {});
      await turn;
      return 'created';
    },

    async readPage(key: string, signal?: AbortSignal): Promise<Buffer | null> {
      if (signal?.aborted) throw new AbortedError(`read of ${key} aborted`);
      return null;
    },

    async close(): Promise<void> {
      stream.off('error', onError);
    },
  };
}

/**
 * Resolve once the stream has accepted the chunk (its write callback) and, if the stream asked us to
 * wait, once it has drained: a slow reader slows the collector down instead of piling pages up in memory.
 */
function writeRespectingBackpressure(stream: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    let written = false;
    let drained = true;
    let settled = false;
    const cleanup = (): void => {
      stream.off('drain', onDrain);
      stream.off('close', onClose);
      stream.off('error', onFail);
    };
    const settle = (err?: unknown): void => {
      if (settled) return;
      if (err !== undefined) {
        settled = true;
        cleanup();
        reject(err);
      } else if (written && drained) {
        settled = true;
        cleanup();
        resolve();
      }
    };
    const onDrain = (): void => {
      drained = true;
      settle();
    };
    // Closed after our bytes were accepted: they are delivered; the next write will report the closure.
    const onClose = (): void => {
      if (written) {
        drained = true;
        settle();
      } else {
        settle(Object.assign(new Error('the stream closed before the page was written'), { code: 'ERR_STREAM_DESTROYED' }));
      }
    };
    const onFail = (err: unknown): void => settle(err ?? new Error('stream error'));
    stream.on('error', onFail);
    stream.on('close', onClose);
    const ok = stream.write(chunk, (err?: Error | null) => {
      written = true;
      settle(err ?? undefined);
    });
    if (!ok) {
      drained = false;
      stream.on('drain', onDrain);
    }
  });
}

function stdoutError(err: unknown): StorageError | OutputClosedError {
  const code = errnoCode(err);
  if (code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END') {
    return new OutputClosedError(
      `cannot write to stdout: the reading side of the pipe went away (${code}); the checkpoint stays at the last committed page and the next run repeats from there`,
      { cause: err },
    );
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new StorageError('STORAGE_UNAVAILABLE', `cannot write to stdout: ${code ?? detail}`, { cause: err });
}
