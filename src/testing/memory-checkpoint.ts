/**
 * In-process checkpoint store, and `createMemoryStore()`: one shared state for a memory sink and any
 * number of checkpoint stores, so tests can run two "instances" of the collector against one store.
 */
import { AbortedError, CheckpointConflictError } from '../errors.js';
import type { CheckpointStore, StoredCheckpoint } from '../checkpoint/types.js';
import type { Sink } from '../sinks/types.js';
import { createMemorySink, MemoryFaults, type MemoryFaultOptions, type MemoryOp } from './memory-sink.js';

export interface MemoryDocument {
  data: Buffer;
  version: string;
}

export interface MemoryCheckpointOptions {
  /** Shared documents: checkpoint key → current bytes and version. A new map when omitted. */
  documents?: Map<string, MemoryDocument>;
  key?: string;
  faults?: MemoryFaults;
  /** Returned with `version: null` when `key` has no document, like a legacy `state.json`. */
  legacyKey?: string;
  /** Shared counter so versions stay unique across instances; a new one when omitted. */
  counter?: { next: number };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export function createMemoryCheckpointStore(opts: MemoryCheckpointOptions = {}): CheckpointStore {
  const documents = opts.documents ?? new Map<string, MemoryDocument>();
  const key = opts.key ?? '_state/duo-telephony.json';
  const counter = opts.counter ?? { next: 1 };
  const faults = opts.faults;
  const location = `memory://${key}`;

  return {
    location,
    async load(signal?: AbortSignal): Promise<StoredCheckpoint | null> {
      if (signal?.aborted) throw new AbortedError(`loading ${location} aborted`);
      await tick();
      const fault = faults?.take('load', key);
      if (fault) throw fault.error;
      const doc = documents.get(key);
      if (doc) return { data: Buffer.from(doc.data), version: doc.version, location };
      const legacy = opts.legacyKey === undefined ? undefined : documents.get(opts.legacyKey);
      if (legacy) return { data: Buffer.from(legacy.data), version: null, location: `memory://${opts.legacyKey}` };
      return null;
    },

    async save(data: Buffer, expectedVersion: string | null, signal?: AbortSignal): Promise<string> {
      if (signal?.aborted) throw new AbortedError(`saving ${location} aborted`);
      await tick();
      const fault = faults?.take('save', key);
      if (fault?.when === 'before') throw fault.error;
      // Compare and swap with no await in between: atomic within the process.
      const current = documents.get(key)?.version ?? null;
      if (current !== expectedVersion) {
        throw new CheckpointConflictError(
          `checkpoint ${location} moved: expected version ${expectedVersion ?? '(none)'}, found ${current ?? '(none)'}; another run owns it`,
        );
      }
      // Opaque on purpose: a prefix keeps callers from doing arithmetic on versions.
      const version = `m${counter.next++}`;
      documents.set(key, { data: Buffer.from(data), version });
      if (fault) throw fault.error;
      return version;
    },
  };
}

export interface MemoryStore {
  /** Stored objects, key → bytes. */
  readonly objects: Map<string, Buffer>;
  /** Stored checkpoints, key → bytes and version. */
  readonly documents: Map<string, MemoryDocument>;
  readonly faults: MemoryFaults;
  /** A new sink instance on the shared objects. */
  sink(): Sink;
  /** A new checkpoint store instance on the shared documents. */
  checkpoint(key?: string, opts?: { legacyKey?: string }): CheckpointStore;
  /** Make the next `op` (optionally only for one key) fail with `error`; see MemoryFaultOptions. */
  failNext(op: MemoryOp, error: Error, opts?: MemoryFaultOptions): void;
}

export function createMemoryStore(): MemoryStore {
  const objects = new Map<string, Buffer>();
  const documents = new Map<string, MemoryDocument>();
  const faults = new MemoryFaults();
  const counter = { next: 1 };
  return {
    objects,
    documents,
    faults,
    sink: () => createMemorySink({ objects, faults }),
    checkpoint: (key = '_state/duo-telephony.json', o = {}) =>
      createMemoryCheckpointStore({ documents, key, faults, counter, ...(o.legacyKey === undefined ? {} : { legacyKey: o.legacyKey }) }),
    failNext: (op, error, opts) => faults.failNext(op, error, opts),
  };
}
