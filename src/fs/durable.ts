/**
 * Durable file-system building blocks for the local drivers: a write is only durable once the file's
 * data is fsynced AND the folder entry naming it is fsynced; a folder created on the way needs its own
 * entry in its parent fsynced too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errnoCode } from './errors.js';

/**
 * A temp-file name next to `finalPath`: hidden (leading `.`), marked `.tmp-<pid>-<random>`, never ending
 * in `.json`, so no glob for data files (`telephony_*.json`) or generation files picks it up.
 */
export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
}

const TEMP_NAME = /^\..+\.tmp-\d+-[0-9a-f]+$/;

export function isTempName(name: string): boolean {
  return TEMP_NAME.test(name);
}

/** Create `path` exclusively, write `data`, fsync and close it. The caller links or renames it into place. */
export async function writeSyncedFile(path: string, data: Uint8Array): Promise<void> {
  const fh = await open(path, 'wx');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Make the entries of `dir` durable (new, renamed or removed files). */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (err) {
    // Some file systems (certain network and FUSE mounts) cannot fsync a folder; their entries are as
    // durable as they are going to get.
    if (errnoCode(err) !== 'EINVAL' && errnoCode(err) !== 'ENOTSUP') throw err;
  } finally {
    await fh.close();
  }
}

/**
 * `mkdir -p dir`, then fsync the parents of every folder this call created so they survive a crash.
 * A folder created concurrently by another process is that process's to fsync.
 *
 * Hand-written rather than `mkdir(dir, { recursive: true })`: Node's recursive mkdir retries forever,
 * spinning a CPU and deaf to signals, where a file system answers ENOENT for a folder whose parent
 * exists (under /proc, some FUSE mounts). Here each level is tried once, and such a folder is an error.
 */
export async function mkdirDurable(dir: string): Promise<void> {
  const created: string[] = [];
  await mkdirLevels(dir, created);
  for (const d of created) await fsyncDir(dirname(d));
}

/** Creates `dir` and any missing parents, outermost first, recording what it created. */
async function mkdirLevels(dir: string, created: string[]): Promise<void> {
  if (await makeOne(dir, created)) return;
  const parent = dirname(dir);
  if (parent === dir) throw Object.assign(new Error(`cannot create ${dir}: no such root`), { code: 'ENOENT' });
  await mkdirLevels(parent, created);
  if (!(await makeOne(dir, created))) {
    throw Object.assign(new Error(`cannot create ${dir}: the file system refuses a folder there (ENOENT)`), { code: 'ENOENT', path: dir });
  }
}

/** true: `dir` exists now (made here or before); false: its parent is missing (ENOENT). */
async function makeOne(dir: string, created: string[]): Promise<boolean> {
  try {
    await mkdir(dir);
    created.push(dir);
    return true;
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') return false;
    if (code !== 'EEXIST') throw err;
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error(`${dir} exists and is not a folder`), { code: 'ENOTDIR', path: dir });
    return true;
  }
}

/** Lowercase hex SHA-256 of a file, streamed (objects can be a few MB). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

/** Remove a file, ignoring that it is already gone. */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
}

/**
 * Best effort: remove temp files in `dir` older than `maxAgeMs`, left by a process killed mid-write.
 * Age is the safety margin: a live writer holds its temp file for milliseconds, never an hour.
 */
export async function removeStaleTemps(dir: string, maxAgeMs = 3_600_000, nowMs = Date.now()): Promise<number> {
  let removed = 0;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    if (!isTempName(name)) continue;
    const p = join(dir, name);
    try {
      const st = await lstat(p);
      if (st.isFile() && nowMs - st.mtimeMs > maxAgeMs) {
        await unlink(p);
        removed += 1;
      }
    } catch {
      // Gone already, or not ours to remove: leave it.
    }
  }
  return removed;
}
