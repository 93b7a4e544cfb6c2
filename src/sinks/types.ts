/**
 * A Sink stores one object per page of logs, create-only: an object is never overwritten, and reads
 * it back by name.
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
   * How many bytes it accepted may still be undelivered: a pipe's capacity for stdout into a pipe (a
   * reader that dies loses what the pipe holds). A page counts as delivered once this many more bytes
   * were accepted after it. 0 or absent: delivered once `writePage` resolves.
   */
  readonly inFlightBytes?: number;
  /**
   * Store the object create-only and resolve once it is durable.
   * If an object with the same key exists: resolve `exists` when its content hash equals `obj.sha256`,
   * reject with `ObjectConflictError` when it differs. Other failures reject with `StorageError`.
   */
  writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome>;
  /**
   * The bytes stored under `key`, exactly as written, or null when no object has that name.
   *
   * For reconciling a page whose name already holds different content (a late event arrived after an
   * earlier attempt wrote the page): the caller reads the page and its supplementary objects
   * (`…_p00003_s1.json`, `_s2`, …; see object-name.ts), which are names like any other, and writes only
   * what they lack. An aborted `signal` rejects with `AbortedError` before any I/O. A store that cannot be
   * read rejects with `StorageError` (permission, missing bucket, unavailable after retries), never
   * null: a bucket that does not exist is not an object that does not exist.
   */
  readPage(key: string, signal?: AbortSignal): Promise<Buffer | null>;
  close?(): Promise<void>;
}
