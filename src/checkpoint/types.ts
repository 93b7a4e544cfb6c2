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
  /** Where it was read from (for messages): `gs://b/_state/x.json`, `/data/_state/x.json`. */
  location: string;
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
