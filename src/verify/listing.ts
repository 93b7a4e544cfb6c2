/**
 * Every object under a stream's prefix, in name order: what `verify` reads. The SecOps feed ingests
 * everything under the prefix, so everything there is read (the collector's pages, supplements and
 * repairs, and any other file), except hidden temporary files of the local folder (a write in progress).
 */
import { readdir } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Storage } from '@google-cloud/storage';
import { StorageError } from '../errors.js';

export interface ListedObject {
  /** The name relative to the store's root, `/`-separated, as the sink reads it. */
  key: string;
}

export type ObjectLister = (prefix: string, signal?: AbortSignal) => AsyncIterable<ListedObject>;

/** The local folder: the files below `<root>/<prefix>/`. */
export function localLister(root: string): ObjectLister {
  return async function* (prefix) {
    const base = prefix ? join(root, prefix) : root;
    const keys: ListedObject[] = [];
    let entries;
    try {
      entries = await readdir(base, { recursive: true, withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new StorageError('STORAGE_DENIED', `cannot list ${base}: ${(err as Error).message}`, { cause: err });
    }
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.')) continue;
      const full = join(e.parentPath, e.name);
      keys.push({ key: relative(root, full).split(sep).join('/') });
    }
    keys.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    yield* keys;
  };
}

/** A bucket: the objects named `<prefix>/…`, a listing page (1000 names) at a time. */
export function gcsLister(storage: Storage, bucket: string): ObjectLister {
  return async function* (prefix) {
    let pageToken: string | undefined;
    do {
      let files;
      let next: { pageToken?: string } | null | undefined;
      try {
        [files, next] = await storage.bucket(bucket).getFiles({ prefix: prefix ? `${prefix}/` : '', autoPaginate: false, maxResults: 1000, ...(pageToken ? { pageToken } : {}) });
      } catch (err) {
        const code = (err as { code?: unknown }).code;
        const denied = code === 401 || code === 403 || code === 404;
        throw new StorageError(denied ? 'STORAGE_DENIED' : 'STORAGE_UNAVAILABLE', `cannot list gs://${bucket}/${prefix}/: ${(err as Error).message}`, { cause: err });
      }
      for (const f of files) yield { key: f.name };
      pageToken = next?.pageToken;
    } while (pageToken);
  };
}
