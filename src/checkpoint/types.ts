/**
 * A CheckpointStore keeps one small document (the checkpoint) with compare-and-swap semantics.
 * Stores deal in bytes; parsing, validation and migration live in `codec.ts`.
 */

export interface StoredCheckpoint {
  /** The document's bytes. */
  data: Buffer;
  /**
   * Opaque version token for compare-and-swap (GCS generation, local generation number).
   * `null` means the data came from a legacy location: the first save must create the new key.
   */
  version: string | null;
  /**
   * Where these bytes were read from (for messages): `gs://b/_state/x.json`, and for the local store the
   * generation file, `/data/_state/x.json.d/0000000000000007.json`.
   */
  location: string;
  /**
   * The document before this one, when the store still holds it (local store: the previous generation
   * that is not torn). Offered by `parseStoredCheckpoint` when `data` cannot be used.
   */
  previous?: PreviousCheckpoint;
  /**
   * Set when a copy of the checkpoint kept for people (the local store's file at its path) matches none
   * of the stored versions: someone edited it, and the next save would overwrite the edit.
   */
  editedCopy?: { location: string };
}

export interface PreviousCheckpoint {
  data: Buffer;
  location: string;
  /** A shell command that makes this the current checkpoint, touching nothing else. */
  restoreCommand: string;
}

export interface CheckpointStore {
  /** Human-readable location of the checkpoint, e.g. `gs://bucket/_state/duo-telephony.json`. */
  readonly location: string;
  /** The current checkpoint, or null when none exists yet. */
  load(signal?: AbortSignal): Promise<StoredCheckpoint | null>;
  /**
   * Replace the checkpoint only if its version is still `expectedVersion` (`null`: only if none exists).
   * Resolves with the new version once the write is durable.
   * Rejects with `CheckpointConflictError` when the precondition fails, `StorageError` otherwise.
   */
  save(data: Buffer, expectedVersion: string | null, signal?: AbortSignal): Promise<string>;
  close?(): Promise<void>;
}
