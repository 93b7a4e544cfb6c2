/**
 * GCS checkpoint store: one small JSON object replaced with compare-and-swap on its generation
 * (`ifGenerationMatch: <generation>`, or 0 to create). Bytes and generation are read in one download
 * (`x-goog-generation` of the same response), so a version never describes other bytes than those loaded.
 *
 * Migration from Google's guide: when `key` does not exist but `legacyKey` (the guide's
 * `{prefix}/state.json`) does, its data is returned with `version: null`; the first save then creates
 * `key`. The legacy object is left in place: we never delete user data.
 *
 * A 412 is always reported as `CheckpointConflictError`, even when it answers a client retry of a save
 * whose first answer was lost (the save did land). The run loop tells the two apart: it loads the
 * checkpoint again and, when the stored bytes are exactly the ones it saved, counts the save as
 * committed and goes on (`commit` in collect/run.ts).
 */
import type { Bucket, File } from '@google-cloud/storage';
import { AbortedError, CheckpointConflictError, StorageError } from '../errors.js';
import type { CheckpointStore, StoredCheckpoint } from './types.js';
import { abandonOnAbort, gsUri, isBucketNotFound, isNotFound, isPreconditionFailed, toStorageError, type Storage } from '../gcs/storage.js';

export interface GcsCheckpointStoreOptions {
  storage: Storage;
  bucket: string;
  /** The checkpoint object, e.g. `_state/duo-telephony.json`. */
  key: string;
  /** The guide's `{prefix}/state.json`, read only when `key` does not exist yet. */
  legacyKey?: string;
}

export const CHECKPOINT_CONTENT_TYPE = 'application/json';

/** Reads retried when the object is replaced between a metadata read and a pinned download. */
const MAX_READ_ATTEMPTS = 3;

function checkAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw new AbortedError(`aborted before ${what}`);
}

function headerText(headers: unknown, name: string): string | undefined {
  if (typeof headers !== 'object' || headers === null) return undefined;
  const v = (headers as Record<string, unknown>)[name];
  const first: unknown = Array.isArray(v) ? v[0] : v;
  return typeof first === 'string' && first !== '' ? first : undefined;
}

/** Download the object and the generation the same response describes. */
async function downloadWithGeneration(file: File, signal: AbortSignal | undefined): Promise<{ data: Buffer; generation: string | undefined }> {
  const stream = file.createReadStream({ validation: 'crc32c' });
  let generation: string | undefined;
  stream.on('response', (res: unknown) => {
    generation = headerText(typeof res === 'object' && res !== null ? (res as { headers?: unknown }).headers : undefined, 'x-goog-generation');
  });
  const onAbort = (): void => {
    stream.destroy(new AbortedError('aborted while reading the checkpoint'));
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return { data: Buffer.concat(chunks), generation };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The object's bytes and generation, or null when it does not exist. */
async function readObject(bucket: Bucket, key: string, signal: AbortSignal | undefined): Promise<{ data: Buffer; generation: string } | null> {
  for (let attempt = 1; ; attempt++) {
    checkAborted(signal, 'reading the checkpoint');
    let pinned = false;
    try {
      const { data, generation } = await downloadWithGeneration(bucket.file(key), signal);
      if (generation !== undefined) return { data, generation };
      // A server that doesn't send x-goog-generation: read the metadata, then download exactly that generation.
      const [meta] = await bucket.file(key).getMetadata();
      if (meta.generation === undefined) throw new StorageError('STORAGE_UNAVAILABLE', `GCS returned no generation for ${gsUri(bucket.name, key)}`);
      pinned = true;
      const exact = await downloadWithGeneration(bucket.file(key, { generation: meta.generation }), signal);
      return { data: exact.data, generation: String(meta.generation) };
    } catch (err) {
      if (err instanceof AbortedError || err instanceof StorageError) throw err;
      if (isNotFound(err) && !isBucketNotFound(err)) {
        // That generation was replaced between the two reads: read the new one.
        if (pinned && attempt < MAX_READ_ATTEMPTS) continue;
        return null;
      }
      throw toStorageError(err, { bucket: bucket.name, key, action: 'read the checkpoint' });
    }
  }
}

export function createGcsCheckpointStore(opts: GcsCheckpointStoreOptions): CheckpointStore {
  const bucket = opts.storage.bucket(opts.bucket);
  const location = gsUri(opts.bucket, opts.key);

  return {
    location,

    async load(signal?: AbortSignal): Promise<StoredCheckpoint | null> {
      const current = await readObject(bucket, opts.key, signal);
      if (current) return { data: current.data, version: current.generation, location };
      if (opts.legacyKey === undefined || opts.legacyKey === opts.key) return null;
      const legacy = await readObject(bucket, opts.legacyKey, signal);
      // version null: the first save creates `key` (ifGenerationMatch 0) and leaves the legacy object alone.
      return legacy ? { data: legacy.data, version: null, location: gsUri(opts.bucket, opts.legacyKey) } : null;
    },

    async save(data: Buffer, expectedVersion: string | null, signal?: AbortSignal): Promise<string> {
      checkAborted(signal, 'saving the checkpoint');
      if (expectedVersion !== null && !/^\d+$/.test(expectedVersion)) {
        throw new CheckpointConflictError(`cannot save ${location}: version "${expectedVersion}" is not a GCS generation (was it loaded from another store?)`);
      }
      const file = bucket.file(opts.key);
      try {
        const saving = file.save(data, {
          resumable: false,
          validation: 'crc32c',
          contentType: CHECKPOINT_CONTENT_TYPE,
          // Compare-and-swap: replace only the generation we loaded; 0 creates only if absent.
          preconditionOpts: { ifGenerationMatch: expectedVersion ?? 0 },
        });
        await abandonOnAbort(saving, signal, `saving ${location}`);
      } catch (err) {
        if (err instanceof AbortedError) throw err;
        if (isPreconditionFailed(err)) {
          throw new CheckpointConflictError(
            `${location} changed since it was loaded (expected ${expectedVersion === null ? 'no checkpoint' : `generation ${expectedVersion}`}): another run moved it, so this run stops and leaves it to that one.`,
          );
        }
        throw toStorageError(err, { bucket: opts.bucket, key: opts.key, action: 'save the checkpoint', writing: true });
      }
      const generation = file.metadata.generation;
      if (generation === undefined || generation === '') {
        throw new StorageError('STORAGE_UNAVAILABLE', `GCS stored ${location} but returned no generation; the next run reloads it.`);
      }
      return String(generation);
    },
  };
}
