/**
 * GCS sink: one object per page, create-only (`ifGenerationMatch: 0`), so a name is written at most once
 * whatever runs overlap or retry. A 412 means the name is taken: the existing object's content decides
 * between `exists` (a retry of the same page, including a retry of our own create whose answer was lost)
 * and `ObjectConflictError` (different data under the same name: stop, never overwrite or skip).
 *
 * `readPage` downloads the live object with the client's CRC32C check against GCS's own hash, so a
 * corrupted transfer is an error, not other bytes. Only a 404 about the object is null: a 404 about the
 * bucket, a 401/403 or a failure after the client's retries (GET is idempotent, so it retries them) is a
 * StorageError.
 */
import { createHash } from 'node:crypto';
import type { File } from '@google-cloud/storage';
import { AbortedError, ObjectConflictError } from '../errors.js';
import type { PageObject, Sink, WriteOutcome } from './types.js';
import { abandonOnAbort, gsUri, isBucketNotFound, isNotFound, isPreconditionFailed, toStorageError, type Storage } from '../gcs/storage.js';

export interface GcsSinkOptions {
  storage: Storage;
  bucket: string;
  /** The data prefix, only for the location text (keys arrive complete). */
  prefix?: string;
  /** Added to every object's custom metadata (accounts mode: `account_id`, `account_name`). */
  metadata?: Readonly<Record<string, string>>;
}

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

/** How many times a name that vanished between the 412 and the look at it is tried again. */
const MAX_CREATE_ATTEMPTS = 3;

type Existing = { kind: 'same' } | { kind: 'different'; sha256: string } | { kind: 'gone' };

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function md5Base64(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

function checkAborted(signal: AbortSignal | undefined, what = 'writing the page'): void {
  if (signal?.aborted) throw new AbortedError(`aborted before ${what}`);
}

/** The object's bytes, checked against its CRC32C; an abort destroys the download. */
async function download(file: File, signal: AbortSignal | undefined): Promise<Buffer> {
  const stream = file.createReadStream({ validation: 'crc32c' });
  const onAbort = (): void => {
    stream.destroy(new AbortedError(`aborted while reading ${file.name}`));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export function createGcsSink(opts: GcsSinkOptions): Sink {
  const bucket = opts.storage.bucket(opts.bucket);
  const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const location = gsUri(opts.bucket, prefix ? `${prefix}/` : undefined);

  /** Compare the object that holds the name with the page; download only when the metadata can't tell. */
  const inspectExisting = async (obj: PageObject): Promise<Existing> => {
    const file = bucket.file(obj.key);
    let generation: string | number | undefined;
    try {
      const [meta] = await file.getMetadata();
      generation = meta.generation;
      const claimed = meta.metadata?.['sha256'];
      // Our own metadata, and GCS's md5 of the stored bytes agrees with it: no need to download.
      if (claimed === obj.sha256 && (meta.md5Hash === undefined || meta.md5Hash === md5Base64(obj.body))) return { kind: 'same' };
    } catch (err) {
      if (isNotFound(err) && !isBucketNotFound(err)) return { kind: 'gone' };
      throw toStorageError(err, { bucket: opts.bucket, key: obj.key, action: 'read the existing object' });
    }
    try {
      // Pinned to the generation just inspected, so metadata and bytes describe the same object.
      const [data] = await bucket.file(obj.key, generation === undefined ? {} : { generation }).download();
      const actual = sha256Hex(data);
      return actual === obj.sha256 ? { kind: 'same' } : { kind: 'different', sha256: actual };
    } catch (err) {
      if (isNotFound(err) && !isBucketNotFound(err)) return { kind: 'gone' };
      throw toStorageError(err, { bucket: opts.bucket, key: obj.key, action: 'download the existing object' });
    }
  };

  const create = async (file: File, obj: PageObject, signal: AbortSignal | undefined): Promise<void> => {
    const saving = file.save(obj.body, {
      // Pages are small (a few MB at most): one request, and a 412 surfaces as `code` on one error shape.
      resumable: false,
      validation: 'crc32c',
      contentType: NDJSON_CONTENT_TYPE,
      metadata: {
        metadata: {
          ...opts.metadata,
          itemCount: String(obj.itemCount),
          firstTs: obj.firstTs,
          lastTs: obj.lastTs,
          sha256: obj.sha256,
        },
      },
      // Create-only. With a generation precondition the client also retries transient failures itself.
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    await abandonOnAbort(saving, signal, `writing ${gsUri(opts.bucket, obj.key)}`);
  };

  return {
    location,
    async writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome> {
      const uri = gsUri(opts.bucket, obj.key);
      for (let attempt = 1; ; attempt++) {
        checkAborted(signal);
        try {
          await create(bucket.file(obj.key), obj, signal);
          return 'created';
        } catch (err) {
          if (err instanceof AbortedError) throw err;
          if (!isPreconditionFailed(err)) throw toStorageError(err, { bucket: opts.bucket, key: obj.key, action: 'write', writing: true });
        }
        const existing = await inspectExisting(obj);
        if (existing.kind === 'same') return 'exists';
        if (existing.kind === 'gone' && attempt < MAX_CREATE_ATTEMPTS) continue;
        const theirs = existing.kind === 'different' ? existing.sha256 : 'unknown: the object kept changing while it was read';
        throw new ObjectConflictError(
          `${uri} exists with different content (sha256 ${theirs} in the bucket vs ${obj.sha256} for this page); ` +
            'the run stopped so nothing is overwritten or skipped. Check whether another collector with different settings ' +
            '(DUO_API_HOST, ENRICH, PAGE_LIMIT) writes to the same bucket and prefix, or whether the object was edited; ' +
            'move the object aside to let the page be written again.',
        );
      }
    },

    async readPage(key: string, signal?: AbortSignal): Promise<Buffer | null> {
      checkAborted(signal, `reading ${gsUri(opts.bucket, key)}`);
      try {
        return await download(bucket.file(key), signal);
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        if (isNotFound(err) && !isBucketNotFound(err)) return null;
        throw toStorageError(err, { bucket: opts.bucket, key, action: 'read' });
      }
    },
  };
}
