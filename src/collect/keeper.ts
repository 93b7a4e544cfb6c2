/**
 * The checkpoint keeper: loads the checkpoint (carrying on from Google's guide's `state.json`, or
 * starting `LOOKBACK_HOURS` back when there is none), and commits each new state with compare-and-swap
 * on the version it last read or wrote. A failed swap means another run moved the checkpoint and owns
 * the window; a swap whose answer was lost and that "conflicts" with itself is recognised as landed.
 */
import type { Logger } from 'pino';
import type { CheckpointStore, StoredCheckpoint } from '../checkpoint/types.js';
import { initialCheckpoint, parseStoredCheckpoint, serializeCheckpoint, type Checkpoint } from '../checkpoint/codec.js';
import { CheckpointConflictError } from '../errors.js';
import type { Failpoint } from './failpoint.js';

export interface KeeperOptions {
  store: CheckpointStore;
  logger: Logger;
  now: () => number;
  failpoint: Failpoint;
  /** Where a first run starts. */
  lookbackMs: number;
  signal?: AbortSignal | undefined;
}

export interface Keeper {
  /** The checkpoint as last loaded or committed. */
  readonly checkpoint: Checkpoint;
  /** What was loaded: null when there was no checkpoint at all (a first run). */
  readonly loaded: StoredCheckpoint | null;
  /**
   * Compare-and-swap `next` in. Resolves with it once durable, or null when another run moved the
   * checkpoint first (this run no longer owns the window and must stop without writing more).
   */
  commit(next: Checkpoint): Promise<Checkpoint | null>;
  /** Whether the stored checkpoint is still the one this run last read or wrote. */
  stillOwner(): Promise<boolean>;
}

export async function openKeeper(o: KeeperOptions): Promise<Keeper> {
  const startMs = o.now();
  const loaded = await o.store.load(o.signal);
  let version: string | null = loaded?.version ?? null;
  let checkpoint: Checkpoint;
  if (loaded) {
    checkpoint = parseStoredCheckpoint(loaded, new Date(startMs).toISOString());
    if (loaded.version === null) {
      o.logger.info({ event: 'checkpoint.migrating', from: loaded.location, to: o.store.location }, `carrying on from ${loaded.location}; the new checkpoint goes to ${o.store.location}`);
    }
  } else {
    checkpoint = initialCheckpoint(startMs - o.lookbackMs, new Date(startMs).toISOString());
    o.logger.info({ event: 'checkpoint.missing', location: o.store.location, startMs: checkpoint.nextMintimeMs }, `no checkpoint yet: starting ${o.lookbackMs / 3_600_000} h back`);
  }

  return {
    get checkpoint() {
      return checkpoint;
    },
    loaded,
    async commit(next) {
      const stamped: Checkpoint = { ...next, updatedAt: new Date(o.now()).toISOString() };
      o.failpoint('checkpoint.committing');
      const bytes = serializeCheckpoint(stamped);
      try {
        version = await o.store.save(bytes, version, o.signal);
      } catch (err) {
        if (!(err instanceof CheckpointConflictError)) throw err;
        // A save whose answer was lost is retried by the storage client and then "conflicts" with
        // itself: if the stored document is exactly ours, the commit did land.
        const current = await o.store.load(o.signal).catch(() => null);
        if (!(current && current.version !== null && current.data.equals(bytes))) {
          o.logger.info({ event: 'checkpoint.conflict', location: o.store.location }, 'another run moved the checkpoint: it owns the window; stopping');
          return null;
        }
        version = current.version;
      }
      checkpoint = stamped;
      o.failpoint('checkpoint.committed');
      // At info: the committed position is what an operator checks to see that nothing is lost or doubled.
      o.logger.info({ event: 'checkpoint.committed', nextMintimeMs: stamped.nextMintimeMs, open: stamped.open }, 'checkpoint committed');
      return stamped;
    },
    async stillOwner() {
      const current = await o.store.load(o.signal);
      return (current?.version ?? null) === version;
    },
  };
}
