/**
 * Local-folder sink (OUTPUT_DIR, the embedded default store): one file per page under `root`.
 *
 * Create-only and durable, and safe when several processes share the folder:
 *   write `.<name>.tmp-<pid>-<random>` in the target folder → fsync → link(tmp, final) → unlink tmp →
 *   fsync the folder.
 * `link` fails with EEXIST instead of replacing, which is exactly "create if absent" (rename would
 * overwrite). The file only appears under its final name complete, so a reader or a crash never sees a
 * half-written page; a crash leaves at most a hidden temp file, swept once it is an hour old.
 *
 * `readPage` reads the file under its final name, which only ever holds a complete page. No file there,
 * or no folder on the way to it, is null; a folder under the object's name is an error.
 */
import { createHash } from 'node:crypto';
import { link, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AbortedError, ObjectConflictError, StorageError } from '../errors.js';
import { fsyncDir, mkdirDurable, removeStaleTemps, sha256File, tempPathFor, unlinkIfPresent, writeSyncedFile } from '../fs/durable.js';
import { errnoCode, storageErrorFrom } from '../fs/errors.js';
import type { PageObject, Sink, WriteOutcome } from './types.js';

export interface LocalSinkOptions {
  /** The folder objects are stored under (OUTPUT_DIR). Created on first write. */
  root: string;
}

const HINT = 'check OUTPUT_DIR (--out) names a folder on a local disk that this user can write';
const READ_HINT = 'check OUTPUT_DIR (--out) names a folder on a local disk that this user can read and write';

export function createLocalSink(opts: LocalSinkOptions): Sink {
  const root = resolve(opts.root);
  // Folders whose stale temp files this instance has already swept: once each is enough.
  const swept = new Set<string>();

  return {
    location: root.endsWith(sep) ? root : root + sep,

    async writePage(obj: PageObject, signal?: AbortSignal): Promise<WriteOutcome> {
      if (signal?.aborted) throw new AbortedError(`write of ${obj.key} aborted`);
      const finalPath = resolveKey(root, obj.key);
      const dir = dirname(finalPath);
      // Hash the body ourselves rather than trusting `obj.sha256`: the comparison must be about bytes.
      // Only when there is something to compare with: a new object needs no hash.
      const want = (): string => createHash('sha256').update(obj.body).digest('hex');

      // Fast path for the common retry: an earlier attempt stored this page already.
      const have = await hashIfExists(finalPath);
      if (have !== null) return settleExisting(finalPath, have, want());

      try {
        await mkdirDurable(dir);
      } catch (err) {
        throw storageErrorFrom(err, { action: 'create the folder for', path: finalPath, hint: HINT });
      }
      if (!swept.has(dir)) {
        swept.add(dir);
        await removeStaleTemps(dir);
      }

      const tmp = tempPathFor(finalPath);
      let linked = false;
      try {
        await writeSyncedFile(tmp, obj.body);
        try {
          await link(tmp, finalPath);
          linked = true;
        } catch (err) {
          const code = errnoCode(err);
          if (code !== 'EEXIST') {
            if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
              // In a folder where we just created a file, link only fails like this when the file system
              // has no hard links (FAT, some FUSE and SMB mounts); rename would silently overwrite.
              throw new StorageError(
                'STORAGE_DENIED',
                `cannot write to ${finalPath}: the file system does not support hard links, which create-only writes need (${code}); use a folder on a local disk for OUTPUT_DIR (--out)`,
                { cause: err },
              );
            }
            throw err;
          }
        }
      } catch (err) {
        throw storageErrorFrom(err, { action: 'write to', path: finalPath, hint: HINT });
      } finally {
        await unlinkIfPresent(tmp).catch(() => {});
      }

      if (!linked) {
        // Another writer (a concurrent run, or another process) created it between our check and link.
        return settleExisting(finalPath, await hashExisting(finalPath), want());
      }
      try {
        // Makes both the new name and the temp file's removal durable.
        await fsyncDir(dir);
      } catch (err) {
        throw storageErrorFrom(err, { action: 'sync the folder', path: dir, hint: HINT });
      }
      return 'created';
    },

    async readPage(key: string, signal?: AbortSignal): Promise<Buffer | null> {
      if (signal?.aborted) throw new AbortedError(`read of ${key} aborted`);
      const path = resolveKey(root, key);
      let data: Buffer;
      try {
        data = await readFile(path, { signal });
      } catch (err) {
        if (signal?.aborted) throw new AbortedError(`read of ${key} aborted`);
        // ENOTDIR: a file sits where a folder on the way should be, so no object can have this name.
        if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
        throw storageErrorFrom(err, { action: 'read', path, hint: READ_HINT });
      }
      try {
        // As for `exists`: the writer may not have synced the folder yet, and the caller is about to act
        // (write what the page lacks, commit the checkpoint) on the page being there.
        await fsyncDir(dirname(path));
      } catch (err) {
        throw storageErrorFrom(err, { action: 'sync the folder of', path, hint: HINT });
      }
      return data;
    },
  };
}

/** The absolute path for an object key, refusing keys that are absolute or could leave `root`. */
export function resolveKey(root: string, key: string): string {
  const refuse = (why: string): never => {
    throw new StorageError(
      'STORAGE_DENIED',
      `refusing object key ${JSON.stringify(key)}: ${why}; object keys must be relative paths inside ${root} (check GCS_PREFIX / --prefix)`,
    );
  };
  if (key.length === 0) refuse('it is empty');
  if (key.includes('\0')) refuse('it contains a NUL character');
  if (isAbsolute(key) || key.startsWith('/') || key.startsWith('\\')) refuse('it is an absolute path');
  const segments = key.split(/[/\\]/);
  if (segments.some((s) => s === '..')) refuse('it contains ".." and could escape the output folder');
  if (segments.some((s) => s === '' || s === '.')) refuse('it has an empty or "." path segment');
  const full = join(root, key);
  const rel = relative(root, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) refuse('it resolves outside the output folder');
  return full;
}

/**
 * `exists` for identical content. The folder is fsynced first: the writer that created the file may not
 * have synced its folder yet, and the caller is about to commit the checkpoint on our word.
 */
async function settleExisting(path: string, have: string, want: string): Promise<WriteOutcome> {
  if (have !== want) conflictAt(path, have, want);
  try {
    await fsyncDir(dirname(path));
  } catch (err) {
    throw storageErrorFrom(err, { action: 'sync the folder of', path, hint: HINT });
  }
  return 'exists';
}

function conflictAt(path: string, have: string, want: string): never {
  throw new ObjectConflictError(
    `object ${path} already exists with different content (stored sha256 ${have}, this page ${want}); not overwriting it. ` +
      'The same page was collected differently before: check that no other collector with different settings (ENRICH, prefix) writes to this folder',
  );
}

async function hashIfExists(path: string): Promise<string | null> {
  try {
    return await sha256File(path);
  } catch (err) {
    // ENOTDIR: a file sits where a folder should be; creating the folder reports that as a write error.
    if (errnoCode(err) === 'ENOENT' || errnoCode(err) === 'ENOTDIR') return null;
    throw storageErrorFrom(err, { action: 'read', path, hint: HINT });
  }
}

async function hashExisting(path: string): Promise<string> {
  try {
    return await sha256File(path);
  } catch (err) {
    throw storageErrorFrom(err, { action: 'read', path, hint: HINT });
  }
}
