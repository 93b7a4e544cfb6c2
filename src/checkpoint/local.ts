/**
 * Local-folder checkpoint store with compare-and-swap that holds across processes sharing the folder
 * and survives SIGKILL at any point, with no lock file that could be left behind.
 *
 * Layout, for `path` = `<OUTPUT_DIR>/_state/duo-telephony.json`:
 *   <path>.d/0000000000000007.json   generation files: the checkpoint as of each save (the truth)
 *   <path>.d/floor-0000000000000003  prune marker: generations below 3 may have been removed
 *   <path>                           a copy of the newest generation for people who `cat` it (never
 *                                    loaded while a generation exists; compared with them: see load)
 *
 * Save with expected version k (null = 0):
 *   1. list <path>.d; the newest generation must be k, else conflict (cheap early answer);
 *   2. write a temp file in <path>.d, fsync it;
 *   3. link(temp, <k+1>.json): link never replaces, so of all writers expecting k exactly one gets it,
 *      the others get EEXIST → CheckpointConflictError. This is the whole lock, and it is held by a
 *      name that exists only once complete: a process killed at any point leaves either nothing or a
 *      finished generation (plus perhaps a hidden temp file, swept after an hour);
 *   4. list again and check k+1 ≥ floor (below);
 *   5. fsync <path>.d, then refresh the copy at <path> (tmp + rename, not synced) and prune.
 * Load picks the highest generation; its number is the version, its file the location reported.
 * Along with it, load reports two things the store cannot judge itself (parsing is the codec's job,
 * `parseStoredCheckpoint`):
 *   - `previous`: the generation before it, with the command that goes back to it (move the newer
 *     generation files out of `<path>.d`, remove the copy), for when the newest cannot be parsed;
 *   - `editedCopy`: the copy matches none of the generations, so someone edited it and the next save
 *     would overwrite the edit. The copy is kept from ever matching nothing otherwise: a writer whose
 *     refresh fails removes it, and a writer overtaken while refreshing removes its own stale copy;
 *     a writer stopped between its link and its refresh leaves the copy one save behind, which still
 *     matches a generation, as pruning always keeps at least two. A copy read while others save (the
 *     listing changed meanwhile) is not judged.
 *
 * Why the floor marker: pruning deletes old generation files, and a deleted name can be linked again. A
 * writer that read k, stalled while others saved k+1…k+N and pruned k+1, could then "win" k+1 although
 * the checkpoint moved on. The pruner therefore first records `floor-F` (durably), then deletes
 * generations below F; the highest marker only grows, because a pruner deletes only markers below its own.
 * A writer that linked k+1 and then sees a floor above k+1 knows its name may have been re-used, and
 * reports a conflict; its file lies below the newest generation, so nobody loads it, and the next prune
 * removes it. (It can also be a real save overtaken by `keep` later saves within those few microseconds:
 * calling that a conflict is still true, as the checkpoint did move on, and nothing is lost.)
 *
 * Why not a lock file: a lock needs an owner to remove it, and SIGKILL leaves it for a human; judging a
 * lock stale by pid or age is itself racy. Why not rename over one file: rename replaces, so two writers
 * expecting the same version would both succeed.
 *
 * A generation file that is empty or all zero bytes (a crash on a file system that does not honour
 * fsync ordering) is skipped in favour of the previous generation, while the version stays the highest
 * number: the collector then repeats a little work (create-only writes make that harmless) and its next
 * save supersedes the broken file. Reporting the torn file's number as version keeps CAS moving; using
 * the older number instead would wedge every later save on EEXIST.
 */
import { link, readFile, readdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AbortedError, CheckpointConflictError, CheckpointError, StorageError } from '../errors.js';
import { fsyncDir, mkdirDurable, removeStaleTemps, tempPathFor, unlinkIfPresent, writeSyncedFile } from '../fs/durable.js';
import { errnoCode, storageErrorFrom } from '../fs/errors.js';
import type { CheckpointStore, StoredCheckpoint } from './types.js';

export interface LocalCheckpointOptions {
  /** The checkpoint file, e.g. `<OUTPUT_DIR>/_state/duo-telephony.json`; generations live in `<path>.d/`. */
  path: string;
  /** The guide's `state.json`: read (version null) only while no generation exists; never written. */
  legacyPath?: string;
  /**
   * Generations kept after pruning (default 16, at least 2). Pruning runs once twice as many have piled
   * up. Kept generously above 1 so a save that links and checks within microseconds is never mistaken
   * for a stale one; at least 2 so the previous generation is there to go back to, and a copy one save
   * behind still matches a generation.
   */
  keep?: number;
}

const GEN = /^(\d{16})\.json$/;
const FLOOR = /^floor-(\d{16})$/;
const pad = (n: number): string => String(n).padStart(16, '0');
const HINT = 'check OUTPUT_DIR (--out) and STATE_KEY name a folder on a local disk that this user can write';

interface Listing {
  /** Generation numbers, ascending. */
  gens: number[];
  /** Prune markers, ascending. */
  floors: number[];
  /** Highest marker (0: never pruned): no generation below it can be trusted to be unique. */
  floor: number;
}

export function createLocalCheckpointStore(opts: LocalCheckpointOptions): CheckpointStore {
  const path = opts.path;
  const genDir = `${path}.d`;
  const keep = Math.max(2, opts.keep ?? 16);
  const genPath = (g: number): string => join(genDir, `${pad(g)}.json`);

  async function list(): Promise<Listing> {
    let names: string[];
    try {
      names = await readdir(genDir);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { gens: [], floors: [], floor: 0 };
      throw storageErrorFrom(err, { action: 'read the checkpoint folder', path: genDir, hint: HINT });
    }
    const gens: number[] = [];
    const floors: number[] = [];
    for (const name of names) {
      const g = GEN.exec(name);
      if (g) gens.push(Number(g[1]));
      const f = FLOOR.exec(name);
      if (f) floors.push(Number(f[1]));
    }
    gens.sort((a, b) => a - b);
    floors.sort((a, b) => a - b);
    return { gens, floors, floor: floors.at(-1) ?? 0 };
  }

  async function readOptional(file: string): Promise<Buffer | null> {
    try {
      return await readFile(file);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return null;
      throw storageErrorFrom(err, { action: 'read the checkpoint', path: file, hint: HINT });
    }
  }

  function conflict(expected: string | null, found: string, why = ''): CheckpointConflictError {
    return new CheckpointConflictError(
      `checkpoint ${path} moved: expected version ${expected ?? '(none)'}, found ${found}${why}; another run owns it`,
    );
  }

  /**
   * Refresh the human-readable copy after generation `target` committed. Best effort: the save has
   * already committed. Not synced: only the generations must survive a power loss (load never reads
   * the copy while one exists), and two fsyncs here would add a third to every page's commit time.
   * A copy must never outlive its generation (pruned, it would match none and read as a hand edit), so a
   * failed refresh removes the old copy, and a writer overtaken while refreshing removes its own.
   */
  async function writeCopy(data: Buffer, target: number): Promise<void> {
    const tmp = tempPathFor(path);
    try {
      await writeFile(tmp, data, { flag: 'wx' });
      await rename(tmp, path);
    } catch {
      await unlinkIfPresent(tmp).catch(() => {});
      await unlinkIfPresent(path).catch(() => {});
      return;
    }
    try {
      if (((await list()).gens.at(-1) ?? target) === target) return;
      // Overtaken: the newer writer's copy may have landed before ours. Ours is stale if still there;
      // a newer copy written between this read and the unlink is lost too, which only leaves no copy.
      const now = await readOptional(path);
      if (now !== null && now.equals(data)) await unlinkIfPresent(path);
    } catch {
      // The next save refreshes the copy.
    }
  }

  /** Remove generations (and markers) below `newest - keep + 1`, recording the floor first. Best effort. */
  async function prune(listing: Listing): Promise<void> {
    const newest = listing.gens.at(-1);
    if (newest === undefined || listing.gens.length < 2 * keep) return;
    const floor = newest - keep + 1;
    try {
      const marker = join(genDir, `floor-${pad(floor)}`);
      try {
        await writeSyncedFile(marker, new Uint8Array(0));
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      // The marker must be durable before any generation name is freed (see the header comment).
      await fsyncDir(genDir);
      // Ascending, so a generation is never gone while an older one is still present.
      for (const g of listing.gens) if (g < floor) await unlinkIfPresent(genPath(g));
      for (const f of listing.floors) if (f < floor) await unlinkIfPresent(join(genDir, `floor-${pad(f)}`));
      await removeStaleTemps(genDir);
      // And the copy's, left by a process killed while refreshing it.
      await removeStaleTemps(dirname(path));
      await fsyncDir(genDir);
    } catch {
      // Leftover files are harmless; the next save prunes again.
    }
  }

  /**
   * Whether the copy at `path` matches none of the generations listed (`gens`): a hand edit. Not judged
   * when a generation newer than the one loaded is torn (the copy may hold what it lost), when the copy
   * is missing, unreadable or torn, or when the listing changed meanwhile (another writer's copy).
   */
  async function copyEdited(gens: number[], current: { gen: number; data: Buffer }, previous: { data: Buffer } | undefined): Promise<boolean> {
    if (current.gen !== gens.at(-1)) return false;
    const copy = await readOptional(path).catch(() => null);
    if (copy === null || isTorn(copy) || copy.equals(current.data) || previous?.data.equals(copy)) return false;
    for (const gen of gens) {
      const data = await readOptional(genPath(gen)).catch(() => null);
      if (data?.equals(copy)) return false;
    }
    const again = await list().catch(() => null);
    return again !== null && again.gens.at(-1) === gens.at(-1);
  }

  /** The shell command that makes generation `to` the newest: the newer ones (and the copy) moved out of the way. */
  function restoreCommand(gens: number[], to: number): string {
    const moves = gens.filter((g) => g > to).map((g) => `mv ${shellQuote(genPath(g))} ${shellQuote(`${path}.corrupt-${pad(g)}`)}`);
    return [...moves, `rm -f ${shellQuote(path)}`].join(' && ');
  }

  return {
    location: path,

    async load(signal?: AbortSignal): Promise<StoredCheckpoint | null> {
      if (signal?.aborted) throw new AbortedError(`loading the checkpoint ${path} aborted`);
      // A few passes: a generation can be pruned between listing and reading when others save a lot.
      for (let pass = 0; pass < 5; pass++) {
        const { gens, floor } = await list();
        const newest = gens.at(-1);
        if (newest === undefined) {
          if (floor > 0) {
            throw new CheckpointError(
              `the checkpoint folder ${genDir} has a prune marker but no generation files: they were removed by hand. ` +
                `Restore them, or delete ${genDir} and ${path} to start again from LOOKBACK_HOURS`,
            );
          }
          // No generation yet. A file at `path` itself was not written by this store (it writes the copy
          // only after a generation): STATE_KEY points at an existing checkpoint, e.g. the guide's
          // `state.json`. Like the legacy file, it is carried on from and the first save creates generation 1.
          for (const candidate of [path, opts.legacyPath]) {
            if (candidate === undefined) continue;
            const data = await readOptional(candidate);
            if (data !== null) return { data, version: null, location: candidate };
          }
          return null;
        }
        // The newest generation that is not torn, and the one before it.
        let current: { gen: number; data: Buffer } | undefined;
        let previous: { gen: number; data: Buffer } | undefined;
        let vanished = false;
        for (let i = gens.length - 1; i >= 0 && previous === undefined; i--) {
          const gen = gens[i] as number;
          const data = await readOptional(genPath(gen));
          if (data === null) {
            // Pruned meanwhile: read again, unless it was only the previous one (then offered no previous).
            vanished = current === undefined;
            break;
          }
          if (isTorn(data)) continue;
          if (current === undefined) current = { gen, data };
          else previous = { gen, data };
        }
        if (vanished) continue;
        if (current === undefined) {
          throw new CheckpointError(
            `every checkpoint generation in ${genDir} is empty or zeroed (a crash on a file system that does not honour fsync?). ` +
              `Restore one from a backup, or delete ${genDir} and ${path} to start again from LOOKBACK_HOURS`,
          );
        }
        const stored: StoredCheckpoint = { data: current.data, version: String(newest), location: genPath(current.gen) };
        if (previous) stored.previous = { data: previous.data, location: genPath(previous.gen), restoreCommand: restoreCommand(gens, previous.gen) };
        if (await copyEdited(gens, current, previous)) stored.editedCopy = { location: path };
        return stored;
      }
      throw new StorageError('STORAGE_UNAVAILABLE', `the checkpoint ${path} kept changing while it was being read; try again`, { retryable: true });
    },

    async save(data: Buffer, expectedVersion: string | null, signal?: AbortSignal): Promise<string> {
      if (signal?.aborted) throw new AbortedError(`saving the checkpoint ${path} aborted`);
      const expected = parseVersion(expectedVersion);
      if (expected === undefined) throw conflict(expectedVersion, 'a version this store never issues');

      const before = await list();
      const newest = before.gens.at(-1) ?? 0;
      if (newest !== expected) throw conflict(expectedVersion, newest === 0 ? '(none)' : String(newest));

      const target = expected + 1;
      const finalPath = genPath(target);
      try {
        await mkdirDurable(genDir);
      } catch (err) {
        throw storageErrorFrom(err, { action: 'create the checkpoint folder', path: genDir, hint: HINT });
      }
      const tmp = tempPathFor(finalPath);
      try {
        await writeSyncedFile(tmp, data);
        await link(tmp, finalPath);
      } catch (err) {
        if (errnoCode(err) === 'EEXIST') throw conflict(expectedVersion, `${target} written by another run`);
        const code = errnoCode(err);
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
          throw new StorageError(
            'STORAGE_DENIED',
            `cannot write the checkpoint ${finalPath}: the file system does not support hard links, which compare-and-swap needs (${code}); use a folder on a local disk for OUTPUT_DIR (--out)`,
            { cause: err },
          );
        }
        throw storageErrorFrom(err, { action: 'write the checkpoint', path: finalPath, hint: HINT });
      } finally {
        await unlinkIfPresent(tmp).catch(() => {});
      }

      const after = await list();
      if (target < after.floor) {
        throw conflict(expectedVersion, String(after.gens.at(-1) ?? after.floor), ' (this save was overtaken while it ran)');
      }
      try {
        await fsyncDir(genDir);
      } catch (err) {
        throw storageErrorFrom(err, { action: 'sync the checkpoint folder', path: genDir, hint: HINT });
      }

      // Committed. Housekeeping below never fails the save: the caller must not retry a save that landed.
      // Under concurrent writers the copy can lag one save behind; `<path>.d/` is what counts.
      if ((after.gens.at(-1) ?? target) === target) await writeCopy(data, target);
      await prune(after);
      return String(target);
    },
  };
}

/** null → 0; a decimal generation number → that number; anything else → undefined (not ours). */
function parseVersion(v: string | null): number | undefined {
  if (v === null) return 0;
  if (!/^[1-9]\d{0,14}$/.test(v)) return undefined;
  return Number(v);
}

/** An empty or all-zero file: what a torn write looks like on file systems that reorder data and metadata. */
function isTorn(data: Buffer): boolean {
  return data.every((b) => b === 0);
}

/** `s` as one POSIX shell word. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}
