/**
 * In-process sink for tests: objects live in a Map that several sink instances can share, so
 * "another function instance" is simply another sink on the same Map.
 *
 * `MemoryFaults` lets unit tests of the collector make the next operation fail, either before it takes
 * effect or after (the write landed but the caller saw an error, like a GCS timeout after the upload).
 * A read has no effect to take, so a `readPage` fault fails it either way.
 */
import { createHash } from 'node:crypto';
import { AbortedError, ObjectConflictError } from '../errors.js';
import type { PageObject, Sink, WriteOutcome } from '../sinks/types.js';

export type MemoryOp = 'writePage' | 'readPage' | 'load' | 'save';

export interface MemoryFaultOptions {
  /** `before` (default): the operation fails without effect. `after`: it takes effect, then fails. */
  when?: 'before' | 'after';
  /** How many consecutive calls fail (default 1). */
  times?: number;
  /** Only calls for this object key / checkpoint key fail. */
  key?: string;
}

interface Fault {
  error: Error;
  when: 'before' | 'after';
  remaining: number;
  key: string | undefined;
}

/** Queued failures per operation; shared by every sink and store of one memory store. */
export class MemoryFaults {
  private readonly queue = new Map<MemoryOp, Fault[]>();

  failNext(op: MemoryOp, error: Error, opts: MemoryFaultOptions = {}): void {
    const list = this.queue.get(op) ?? [];
    list.push({ error, when: opts.when ?? 'before', remaining: opts.times ?? 1, key: opts.key });
    this.queue.set(op, list);
  }

  clear(): void {
    this.queue.clear();
  }

  /** Consume and return the fault that applies to this call, if any. */
  take(op: MemoryOp, key: string): Fault | undefined {
    const list = this.queue.get(op);
    if (!list) return undefined;
    const idx = list.findIndex((f) => f.key === undefined || f.key === key);
    if (idx < 0) return undefined;
    const fault = list[idx] as Fault;
    fault.remaining -= 1;
    if (fault.remaining <= 0) list.splice(idx, 1);
    return fault;
  }
}

export interface MemorySinkOptions {
  /** Shared object map: key → bytes. A new one when omitted. */
  objects?: Map<string, Buffer>;
  faults?: MemoryFaults;
  location?: string;
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Let other callers interleave, as they would with real I/O. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createMemorySink(opts: MemorySinkOptions = {}): Sink {
  const objects = opts.objects ?? new Map<string, Buffer>();
  const faults = opts.faults;
  const location = opts.location ?? 'memory://objects/';

  return {
    location,
    async writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome> {
      if (signal?.aborted) throw new AbortedError(`write of ${obj.key} aborted`);
      await tick();
      const fault = faults?.take('writePage', obj.key);
      if (fault?.when === 'before') throw fault.error;
      // Check and insert without an await in between: that is what makes the write create-only.
      const existing = objects.get(obj.key);
      let outcome: WriteOutcome;
      if (existing) {
        const have = sha256(existing);
        const want = sha256(obj.body);
        if (have !== want) {
          throw new ObjectConflictError(
            `object ${location}${obj.key} already exists with different content (stored sha256 ${have}, new ${want}); not overwriting`,
          );
        }
        outcome = 'exists';
      } else {
        // Copy: the caller may reuse its buffer.
        objects.set(obj.key, Buffer.from(obj.body));
        outcome = 'created';
      }
      if (fault) throw fault.error;
      return outcome;
    },

    async readPage(key: string, signal?: AbortSignal): Promise<Buffer | null> {
      if (signal?.aborted) throw new AbortedError(`read of ${key} aborted`);
      await tick();
      const fault = faults?.take('readPage', key);
      if (fault) throw fault.error;
      const stored = objects.get(key);
      // Copy: the caller must not be able to change stored bytes.
      return stored === undefined ? null : Buffer.from(stored);
    },
  };
}
