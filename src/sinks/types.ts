/**
 * A Sink stores one object per page of logs, create-only: an object is never overwritten.
 */

export interface PageObject {
  /** Full object name relative to the store root, e.g. `duo-telephony/2026/11/23/telephony_…_p00001.json`. */
  key: string;
  /** NDJSON content: one item per line, each line ending in `\n`. */
  body: Buffer;
  /** Lowercase hex SHA-256 of `body`. */
  sha256: string;
  itemCount: number;
  firstTs: string;
  lastTs: string;
}

/** `created`: this call stored it. `exists`: an identical object (same SHA-256) was already there. */
export type WriteOutcome = 'created' | 'exists';

export interface Sink {
  /** Human-readable destination, e.g. `gs://bucket/duo-telephony/` or `/data/duo-telephony/`. */
  readonly location: string;
  /**
   * Store the object create-only and resolve once it is durable.
   * If an object with the same key exists: resolve `exists` when its content hash equals `obj.sha256`,
   * reject with `ObjectConflictError` when it differs. Other failures reject with `StorageError`.
   */
  writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome>;
  close?(): Promise<void>;
}
