/**
 * The local drivers beyond the contract: several PROCESSES sharing a folder, SIGKILL at random points,
 * folders that cannot be written, torn generation files, pruning, the legacy file and key checks.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, truncate, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as FsPromises from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { execFileSync } from 'node:child_process';
import { CHECKPOINT_VERSION, initialCheckpoint, parseStoredCheckpoint, serializeCheckpoint } from '../../src/checkpoint/codec.js';
import { createLocalCheckpointStore } from '../../src/checkpoint/local.js';
import type { CheckpointStore, StoredCheckpoint } from '../../src/checkpoint/types.js';
import { CheckpointConflictError, CheckpointError, ObjectConflictError, StorageError } from '../../src/errors.js';
import { isTempName } from '../../src/fs/durable.js';
import { createLocalSink } from '../../src/sinks/local.js';
import { contractKey, contractPage } from '../contract/sink.contract.js';

// Hooks run just before the checkpoint store's `link` (a generation) and `rename` (its copy), to stage
// races that need precise interleaving.
const hooks = vi.hoisted(() => ({
  beforeLink: undefined as undefined | ((target: string) => Promise<void>),
  beforeRename: undefined as undefined | ((target: string) => Promise<void>),
}));
vi.mock('node:fs/promises', async (importOriginal) => {
  const orig = await importOriginal<typeof FsPromises>();
  return {
    ...orig,
    link: async (from: string, to: string) => {
      const hook = hooks.beforeLink;
      if (hook) await hook(to);
      return orig.link(from, to);
    },
    rename: async (from: string, to: string) => {
      const hook = hooks.beforeRename;
      if (hook) await hook(to);
      return orig.rename(from, to);
    },
  };
});

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const isRoot = process.getuid?.() === 0;
if (isRoot) console.warn('local-drivers.test.ts: running as root, which ignores file permissions: skipping the read-only folder test');
let work: string;
const modules: { checkpoint: string; sink: string } = { checkpoint: '', sink: '' };

/**
 * Child processes run plain JavaScript. Use the built `dist/` (the test run's global setup and `npm ci`
 * build it) when it is at least as new as every source it comes from; otherwise bundle the source with
 * esbuild (vitest's own transformer) into the temp folder, so a stale dist never gets tested.
 */
async function childModule(name: 'checkpoint/local' | 'sinks/local'): Promise<string> {
  const sources = [`${name}.ts`, 'fs/durable.ts', 'fs/errors.ts', 'errors.ts'];
  const fresh = sources.every((s) => {
    const built = join(repo, 'dist/src', s.replace(/\.ts$/, '.js'));
    return existsSync(built) && statSync(built).mtimeMs >= statSync(join(repo, 'src', s)).mtimeMs;
  });
  if (fresh) return pathToFileURL(join(repo, 'dist/src', `${name}.js`)).href;
  const { build } = await import('esbuild');
  const outfile = join(work, `${name.replace('/', '-')}.mjs`);
  await build({ entryPoints: [join(repo, 'src', `${name}.ts`)], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'silent' });
  return pathToFileURL(outfile).href;
}

function runChild(script: string, args: string[]): { child: ChildProcess; output: Promise<{ code: number | null; stdout: string; stderr: string }> } {
  const child = spawn(process.execPath, [join(repo, 'test/support', script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const output = new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    child.on('close', (code) => res({ code, stdout, stderr }));
  });
  return { child, output };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'duo-local-'));
  modules.checkpoint = await childModule('checkpoint/local');
  modules.sink = await childModule('sinks/local');
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(work, 't-'));
});
afterEach(() => {
  hooks.beforeLink = undefined;
  hooks.beforeRename = undefined;
});

const doc = (n: number): Buffer => Buffer.from(`${JSON.stringify({ counter: n })}\n`);

describe('local checkpoint store across processes', () => {
  it('loses no update when 4 processes race 200 compare-and-swap increments each', async () => {
    const path = join(dir, '_state', 'duo-telephony.json');
    const runs = Array.from({ length: 4 }, () => runChild('local-cas-child.mjs', [modules.checkpoint, path, 'race', '200']).output);
    const results = await Promise.all(runs);
    let successes = 0;
    let conflicts = 0;
    for (const r of results) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const parsed = JSON.parse(r.stdout) as { successes: number; conflicts: number };
      expect(parsed.successes + parsed.conflicts).toBe(200);
      successes += parsed.successes;
      conflicts += parsed.conflicts;
    }
    const store = createLocalCheckpointStore({ path });
    const final = await store.load();
    const counter = (JSON.parse(final?.data.toString() ?? '{}') as { counter: number }).counter;
    // Every successful save added exactly one; a lost update would leave the counter short.
    expect(counter).toBe(successes);
    expect(final?.version).toBe(String(successes));
    expect(conflicts).toBeGreaterThan(0);
    // Pruned down to a bounded number of generations, nothing but our own file names left behind.
    const names = await readdir(`${path}.d`);
    expect(names.filter((n) => n.endsWith('.json')).length).toBeLessThanOrEqual(32);
    expect(names.every((n) => /^\d{16}\.json$/.test(n) || /^floor-\d{16}$/.test(n))).toBe(true);
    // The copy follows the newest generation; a writer overtaken while refreshing it may have removed
    // it (the next save writes it again), but no stale copy is left to read as a hand edit.
    if (existsSync(path)) expect((await readFile(path)).toString()).toBe(final?.data.toString());
    expect(final?.editedCopy).toBeUndefined();
  });

  it('needs no clean-up after processes are SIGKILLed at random points', async () => {
    const path = join(dir, '_state', 'duo-telephony.json');
    for (let round = 0; round < 4; round++) {
      const { child, output } = runChild('local-cas-child.mjs', [modules.checkpoint, path, 'forever']);
      // Let it commit a few saves, then kill it somewhere in the middle of the next one.
      await new Promise<void>((res) => {
        const onData = (d: Buffer): void => {
          if (d.toString().split('\n').filter(Boolean).length > 0) {
            child.stdout?.off('data', onData);
            setTimeout(res, Math.floor(Math.random() * 40));
          }
        };
        child.stdout?.on('data', onData);
      });
      child.kill('SIGKILL');
      const { stdout } = await output;
      const printed = stdout.split('\n').filter(Boolean).map(Number);
      const lastPrinted = printed.at(-1) ?? 0;

      // A fresh process (here: a fresh store) loads and saves straight away.
      const store = createLocalCheckpointStore({ path });
      const loaded = await store.load();
      expect(loaded).not.toBeNull();
      const counter = (JSON.parse(loaded?.data.toString() ?? '{}') as { counter: number }).counter;
      // The killed process may have committed one save it did not get to print.
      expect(counter === lastPrinted || counter === lastPrinted + 1).toBe(true);
      expect(loaded?.version).toBe(String(counter));
      await expect(store.save(doc(counter + 1), loaded?.version ?? null)).resolves.toBe(String(counter + 1));
    }
    // Only finished generations, markers and (hidden, never-loaded) temp files can be left.
    const names = await readdir(`${path}.d`);
    expect(names.every((n) => /^\d{16}\.json$/.test(n) || /^floor-\d{16}$/.test(n) || isTempName(n))).toBe(true);
  });
});

describe('local sink across processes', () => {
  async function race(bodies: string[]): Promise<string[]> {
    const key = contractKey();
    const children = bodies.map((body) => runChild('local-sink-child.mjs', [modules.sink, dir, key, body]));
    // Start all four writes together, once every child has loaded the module.
    await Promise.all(
      children.map(
        ({ child }) =>
          new Promise<void>((res) => {
            child.stdout?.once('data', () => res());
          }),
      ),
    );
    for (const { child } of children) child.stdin?.write('go\n');
    const results = await Promise.all(children.map((c) => c.output));
    for (const r of results) expect(r.stderr).toBe('');
    expect((await readFile(join(dir, key))).toString()).toMatch(/^\{"n":\d\}\n$/);
    return results.map((r) => r.stdout.split('\n').filter(Boolean).at(-1) ?? '');
  }

  it('lets exactly one of 4 processes create the same object', async () => {
    const outcomes = await race(Array.from({ length: 4 }, () => '{"n":1}\n'));
    expect(outcomes.sort()).toEqual(['created', 'exists', 'exists', 'exists']);
  });

  it('rejects the other contents when 4 processes write different ones', async () => {
    const outcomes = await race(Array.from({ length: 4 }, (_, i) => `{"n":${i}}\n`));
    expect(outcomes.sort()).toEqual(['OBJECT_CONFLICT', 'OBJECT_CONFLICT', 'OBJECT_CONFLICT', 'created']);
  });
});

describe('local drivers on a folder that cannot be written', () => {
  it('fails with a clear StorageError when OUTPUT_DIR lies under a regular file (works as root too)', async () => {
    const blocker = join(dir, 'not-a-folder');
    await writeFile(blocker, 'x');
    const root = join(blocker, 'out');
    const sink = createLocalSink({ root });
    const page = contractPage(contractKey(), '{"a":1}\n');
    const err = await sink.writePage(page).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain(join(root, page.key));
    expect((err as StorageError).message).toMatch(/not a folder.*OUTPUT_DIR/);

    const store = createLocalCheckpointStore({ path: join(root, '_state', 'duo-telephony.json') });
    await expect(store.load()).rejects.toBeInstanceOf(StorageError);
    const saveErr = await store.save(doc(1), null).catch((e: unknown) => e);
    expect(saveErr).toBeInstanceOf(StorageError);
    expect((saveErr as StorageError).message).toMatch(/not a folder.*OUTPUT_DIR/);
    expect(await readdir(dir)).toEqual(['not-a-folder']);
    expect(await readFile(blocker, 'utf8')).toBe('x');
  });

  // Node's own recursive mkdir spins forever there (ENOENT for a folder whose parent, /proc, exists).
  it.skipIf(!existsSync('/proc/self'))('fails at once, not spinning, when the file system refuses a folder (OUTPUT_DIR under /proc)', async () => {
    const root = '/proc/duo-secops-test/out';
    const sink = createLocalSink({ root });
    const err = await sink.writePage(contractPage(contractKey(), '{"a":1}\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect((err as StorageError).message).toContain('/proc/duo-secops-test');
    const store = createLocalCheckpointStore({ path: join(root, '_state', 'duo-telephony.json') });
    await expect(store.save(doc(1), null)).rejects.toBeInstanceOf(StorageError);
  });

  it.skipIf(isRoot)('fails with STORAGE_DENIED on a read-only folder (not as root: root ignores permissions)', async () => {
    const root = join(dir, 'ro');
    await mkdir(root, { mode: 0o500 });
    try {
      const sink = createLocalSink({ root });
      const err = await sink.writePage(contractPage(contractKey(), '{"a":1}\n')).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'STORAGE_DENIED' });
      expect((err as Error).message).toMatch(/permission denied; check OUTPUT_DIR/);
      const store = createLocalCheckpointStore({ path: join(root, '_state', 'x.json') });
      await expect(store.save(doc(1), null)).rejects.toMatchObject({ code: 'STORAGE_DENIED' });
      expect(await readdir(root)).toEqual([]);
    } finally {
      await chmod(root, 0o700);
    }
  });
});

describe('local checkpoint store', () => {
  const cpPath = (): string => join(dir, '_state', 'duo-telephony.json');
  const genFile = (g: number): string => join(`${cpPath()}.d`, `${String(g).padStart(16, '0')}.json`);

  it('skips an empty or zeroed newest generation but keeps its number as the version', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    let v: string | null = null;
    for (let i = 1; i <= 3; i++) v = await store.save(doc(i), v);
    // What a crash on a file system that reorders data and metadata can leave behind.
    await truncate(genFile(3), 0);
    let loaded = await store.load();
    expect(loaded?.data.toString()).toBe(doc(2).toString());
    expect(loaded?.version).toBe('3');
    expect(loaded?.location).toBe(genFile(2));
    await writeFile(genFile(3), Buffer.alloc(64));
    expect((await store.load())?.data.toString()).toBe(doc(2).toString());
    // The next save supersedes the torn file; an older version still conflicts.
    await expect(store.save(doc(9), '2')).rejects.toBeInstanceOf(CheckpointConflictError);
    await expect(store.save(doc(4), '3')).resolves.toBe('4');
    loaded = await store.load();
    expect(loaded?.data.toString()).toBe(doc(4).toString());
  });

  it('reports a clear CheckpointError when every generation is torn', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    const v1 = await store.save(doc(1), null);
    await store.save(doc(2), v1);
    await truncate(genFile(1), 0);
    await truncate(genFile(2), 0);
    const err = await store.load().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain(`${cpPath()}.d`);
    expect((err as Error).message).toMatch(/delete .* to start again from LOOKBACK_HOURS/);
  });

  it('reads the legacy file with version null until the first save, and never touches it', async () => {
    const legacyPath = join(dir, 'duo-telephony', 'state.json');
    await mkdir(dirname(legacyPath), { recursive: true });
    const legacy = '{"last_offset":null,"last_timestamp_ms":1700000000000}';
    await writeFile(legacyPath, legacy);
    const store = createLocalCheckpointStore({ path: cpPath(), legacyPath });
    const first = await store.load();
    expect(first).toEqual({ data: Buffer.from(legacy), version: null, location: legacyPath });
    const v1 = await store.save(doc(1), null);
    expect(v1).toBe('1');
    const next = await store.load();
    expect(next?.version).toBe('1');
    expect(next?.location).toBe(genFile(1));
    expect(next?.data.toString()).toBe(doc(1).toString());
    await expect(store.save(doc(2), null)).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(await readFile(legacyPath, 'utf8')).toBe(legacy);
  });

  it('keeps a human-readable copy at the configured path', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    const v1 = await store.save(doc(1), null);
    expect(await readFile(cpPath(), 'utf8')).toBe(doc(1).toString());
    await store.save(doc(2), v1);
    expect(await readFile(cpPath(), 'utf8')).toBe(doc(2).toString());
    expect((await readdir(dirname(cpPath()))).sort()).toEqual(['duo-telephony.json', 'duo-telephony.json.d']);
  });

  it('prunes old generations behind a floor marker', async () => {
    const store = createLocalCheckpointStore({ path: cpPath(), keep: 3 });
    let v: string | null = null;
    for (let i = 1; i <= 20; i++) v = await store.save(doc(i), v);
    const names = await readdir(`${cpPath()}.d`);
    const gens = names.filter((n) => n.endsWith('.json')).sort();
    expect(gens.length).toBeGreaterThanOrEqual(3);
    expect(gens.length).toBeLessThan(6);
    expect(gens.at(-1)).toBe('0000000000000020.json');
    expect(names.filter((n) => n.startsWith('floor-'))).toHaveLength(1);
    expect((await store.load())?.data.toString()).toBe(doc(20).toString());
  });

  it('refuses a save whose generation name was freed by pruning while it ran', async () => {
    const path = cpPath();
    const slow = createLocalCheckpointStore({ path, keep: 2 });
    const fast = createLocalCheckpointStore({ path, keep: 2 });
    const v1 = await slow.save(doc(1), null);
    // While the slow writer is between its check and its link, others save 8 more times and prune
    // generation 2 away, so its link of generation 2 would succeed again.
    let staged = false;
    hooks.beforeLink = async (target) => {
      if (staged || !target.endsWith('0000000000000002.json')) return;
      staged = true;
      hooks.beforeLink = undefined;
      let v = v1;
      for (let i = 2; i <= 9; i++) v = await fast.save(doc(100 + i), v);
      expect(existsSync(target)).toBe(false);
    };
    await expect(slow.save(doc(2), v1)).rejects.toBeInstanceOf(CheckpointConflictError);
    expect(staged).toBe(true);
    const loaded = await slow.load();
    expect(loaded?.version).toBe('9');
    expect(loaded?.data.toString()).toBe(doc(109).toString());
    await expect(fast.save(doc(110), '9')).resolves.toBe('10');
  });

  it("sweeps temp files older than an hour left beside the copy when it prunes, and keeps fresh ones", async () => {
    const store = createLocalCheckpointStore({ path: cpPath(), keep: 2 });
    await store.save(doc(1), null);
    const stale = join(dirname(cpPath()), '.duo-telephony.json.tmp-999-0a0b0c');
    const fresh = join(dirname(cpPath()), '.duo-telephony.json.tmp-999-0d0e0f');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    let v = '1';
    for (let i = 2; i <= 4; i++) v = await store.save(doc(i), v);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });

  it('treats a version it never issues as a conflict', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await store.save(doc(1), null);
    for (const bogus of ['', '0', '01', 'abc', '1.0', '-1', '99999999999999999999']) {
      await expect(store.save(doc(2), bogus)).rejects.toBeInstanceOf(CheckpointConflictError);
    }
    expect((await store.load())?.version).toBe('1');
  });

  it('refuses to restart silently when generation files were deleted by hand', async () => {
    const store = createLocalCheckpointStore({ path: cpPath(), keep: 1 });
    let v: string | null = null;
    for (let i = 1; i <= 4; i++) v = await store.save(doc(i), v);
    for (const n of await readdir(`${cpPath()}.d`)) if (n.endsWith('.json')) await rm(join(`${cpPath()}.d`, n));
    await expect(store.load()).rejects.toBeInstanceOf(CheckpointError);
  });

  it('rejects an aborted signal before touching the folder', async () => {
    const ac = new AbortController();
    ac.abort();
    const store = createLocalCheckpointStore({ path: cpPath() });
    await expect(store.save(doc(1), null, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(store.load(ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('local checkpoint store: a corrupt generation, a hand-edited copy', () => {
  const cpPath = (): string => join(dir, '_state', 'duo-telephony.json');
  const genFile = (g: number): string => join(`${cpPath()}.d`, `${String(g).padStart(16, '0')}.json`);
  /** A checkpoint document as the collector writes it; `n` makes each one distinct. */
  const cp = (n: number): Buffer => serializeCheckpoint(initialCheckpoint(1_700_000_000_000 + n, '2026-11-23T02:00:00.000Z'));
  const parse = (stored: StoredCheckpoint | null): unknown => parseStoredCheckpoint(stored as StoredCheckpoint, '2026-11-23T03:00:00.000Z');
  const refusal = (stored: StoredCheckpoint | null): Error => {
    try {
      parse(stored);
    } catch (err) {
      return err as Error;
    }
    throw new Error('expected parseStoredCheckpoint to refuse');
  };

  async function saveMany(store: CheckpointStore, count: number): Promise<string> {
    let v: string | null = null;
    for (let i = 1; i <= count; i++) v = await store.save(cp(i), v);
    return v as string;
  }

  /** Every file under the state folder with its bytes, to show that nothing changed. */
  async function snapshot(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const e of await readdir(dirname(cpPath()), { recursive: true, withFileTypes: true })) {
      if (e.isFile()) out[join(e.parentPath, e.name)] = (await readFile(join(e.parentPath, e.name))).toString('hex');
    }
    return out;
  }

  it('reports the generation file it loaded, and the generation before it', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 3);
    const loaded = await store.load();
    expect(loaded?.location).toBe(genFile(3));
    expect(loaded?.previous?.location).toBe(genFile(2));
    expect(loaded?.previous?.data.toString()).toBe(cp(2).toString());
    expect(loaded?.editedCopy).toBeUndefined();
    expect(parse(loaded)).toMatchObject({ nextMintimeMs: 1_700_000_000_003 });
  });

  for (const [what, corrupt] of [
    ['invalid JSON', '{"version":1,"source":"telephony","nextMint'],
    ['a document the codec refuses', JSON.stringify(initialCheckpoint(1_700_000_000, '2026-11-23T02:00:00.000Z'))],
  ] as const) {
    it(`names a newest generation holding ${what}, and goes back to the previous one with the command it gives`, async () => {
      const store = createLocalCheckpointStore({ path: cpPath() });
      await saveMany(store, 3);
      await writeFile(genFile(3), corrupt);
      const before = await snapshot();

      const err = refusal(await store.load());
      expect(err).toBeInstanceOf(CheckpointError);
      expect((err as CheckpointError).exitCode).toBe(2);
      expect(err.message).toMatch(new RegExp(`^checkpoint ${genFile(3).replaceAll('.', '\\.')} (is not valid JSON|is invalid)`));
      expect(err.message).toContain(`The checkpoint before it, ${genFile(2)}, is intact`);
      expect(await snapshot()).toEqual(before);

      const command = /run `([^`]+)`;/.exec(err.message)?.[1] as string;
      expect(command).toContain(genFile(3));
      execFileSync('sh', ['-c', command]);
      // Moved out of the generation folder, not deleted; the copy goes and comes back with the next commit.
      expect(await readFile(`${cpPath()}.corrupt-0000000000000003`, 'utf8')).toBe(corrupt);
      expect(existsSync(cpPath())).toBe(false);

      const restored = await store.load();
      expect(restored?.version).toBe('2');
      expect(restored?.location).toBe(genFile(2));
      expect(parse(restored)).toMatchObject({ nextMintimeMs: 1_700_000_000_002 });
      await expect(store.save(cp(4), '2')).resolves.toBe('3');
      expect(await readFile(cpPath(), 'utf8')).toBe(cp(4).toString());
      expect((await store.load())?.editedCopy).toBeUndefined();
    });
  }

  it('moves every newer generation aside when a torn one sits above the corrupt one', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 3);
    await writeFile(genFile(2), '{');
    await truncate(genFile(3), 0);
    const err = refusal(await store.load());
    expect(err.message).toContain(`checkpoint ${genFile(2)} is not valid JSON`);
    execFileSync('sh', ['-c', /run `([^`]+)`;/.exec(err.message)?.[1] as string]);
    const restored = await store.load();
    expect(restored?.version).toBe('1');
    expect(parse(restored)).toMatchObject({ nextMintimeMs: 1_700_000_000_001 });
  });

  it('quotes paths in the command so a folder name with spaces or quotes survives the shell', async () => {
    const path = join(dir, "it's a folder", '_state', 'duo-telephony.json');
    const store = createLocalCheckpointStore({ path });
    let v: string | null = null;
    for (let i = 1; i <= 2; i++) v = await store.save(cp(i), v);
    await writeFile(join(`${path}.d`, '0000000000000002.json'), 'nope');
    execFileSync('sh', ['-c', /run `([^`]+)`;/.exec(refusal(await store.load()).message)?.[1] as string]);
    expect((await store.load())?.version).toBe('1');
  });

  it('offers nothing to go back to when the generation before is corrupt too', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 3);
    await writeFile(genFile(3), '{');
    await writeFile(genFile(2), '[]');
    const err = refusal(await store.load());
    expect(err.message).toContain(`The checkpoint before it, ${genFile(2)}, cannot be used either`);
    expect(err.message).not.toContain('mv ');
  });

  it('refuses a checkpoint from a newer duo-secops and offers no way back past it', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    const v = await saveMany(store, 2);
    const newer = CHECKPOINT_VERSION + 1;
    await store.save(Buffer.from(JSON.stringify({ ...initialCheckpoint(1_700_000_000_003, '2026-11-23T02:00:00.000Z'), version: newer })), v);
    const before = await snapshot();
    const err = refusal(await store.load());
    expect(err.message).toContain(`checkpoint ${genFile(3)} was written by a newer duo-secops (version ${newer}); this one understands up to ${CHECKPOINT_VERSION}: upgrade`);
    expect(err.message).not.toContain('mv ');
    expect(await snapshot()).toEqual(before);
  });

  it('refuses a hand-edited copy; deleting the copy goes on from the generation', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 3);
    await writeFile(cpPath(), cp(99));
    const before = await snapshot();

    const loaded = await store.load();
    expect(loaded?.editedCopy).toEqual({ location: cpPath() });
    const err = refusal(loaded);
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain(`checkpoint copy ${cpPath()} was edited by hand`);
    expect(err.message).toContain(`the newest generation, ${genFile(3)}`);
    expect(err.message).toContain(`delete ${cpPath()}`);
    expect(err.message).toContain('duo-secops state reset --to <ISO time> --yes');
    expect(await snapshot()).toEqual(before);

    await rm(cpPath());
    const next = await store.load();
    expect(next?.editedCopy).toBeUndefined();
    expect(parse(next)).toMatchObject({ nextMintimeMs: 1_700_000_000_003 });
    await store.save(cp(4), next?.version ?? null);
    expect(await readFile(cpPath(), 'utf8')).toBe(cp(4).toString());
  });

  it('lets a reset (a save over the loaded version) replace a hand-edited copy', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 2);
    await writeFile(cpPath(), 'edited');
    const loaded = await store.load();
    expect(loaded?.editedCopy).toBeDefined();
    // What `duo-secops state reset` does: it saves a new checkpoint against the loaded version.
    await store.save(cp(50), loaded?.version ?? null);
    const after = await store.load();
    expect(after?.editedCopy).toBeUndefined();
    expect(await readFile(cpPath(), 'utf8')).toBe(cp(50).toString());
  });

  it('accepts a copy equal to any generation still held, and ignores a copy that is torn', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 5);
    await writeFile(cpPath(), cp(2));
    expect((await store.load())?.editedCopy).toBeUndefined();
    await writeFile(cpPath(), Buffer.alloc(0));
    expect((await store.load())?.editedCopy).toBeUndefined();
  });

  it('does not judge the copy when the newest generation is torn (the copy may hold what it lost)', async () => {
    const store = createLocalCheckpointStore({ path: cpPath() });
    await saveMany(store, 3);
    await truncate(genFile(3), 0);
    const loaded = await store.load();
    expect(loaded?.editedCopy).toBeUndefined();
    expect(parse(loaded)).toMatchObject({ nextMintimeMs: 1_700_000_000_002 });
  });

  it('accepts a copy one save behind while a writer is between its commit and its copy refresh', async () => {
    // keep 1 asks for the least the store keeps: still two generations, so the lagging copy matches one.
    const writer = createLocalCheckpointStore({ path: cpPath(), keep: 1 });
    const reader = createLocalCheckpointStore({ path: cpPath(), keep: 1 });
    const v = await saveMany(writer, 5);
    let release = (): void => {};
    const gate = new Promise<void>((res) => (release = res));
    let atCopy = (): void => {};
    const reachedCopy = new Promise<void>((res) => (atCopy = res));
    hooks.beforeRename = async (target) => {
      if (target !== cpPath()) return;
      hooks.beforeRename = undefined;
      atCopy();
      await gate;
    };
    const saving = writer.save(cp(6), v);
    await reachedCopy;
    // Generation 6 is committed; the copy still holds 5.
    expect(await readFile(cpPath(), 'utf8')).toBe(cp(5).toString());
    const seen = await reader.load();
    expect(seen?.version).toBe('6');
    expect(seen?.editedCopy).toBeUndefined();
    expect(parse(seen)).toMatchObject({ nextMintimeMs: 1_700_000_000_006 });
    // And so while the writer is stopped there for good (killed): the next save catches up.
    const v7 = await reader.save(cp(7), '6');
    expect((await reader.load())?.editedCopy).toBeUndefined();
    release();
    await saving;
    expect(v7).toBe('7');
    expect(await readFile(cpPath(), 'utf8').catch(() => null)).not.toBe(cp(6).toString());
    expect((await reader.load())?.editedCopy).toBeUndefined();
  });

  it('leaves no stale copy behind a writer overtaken while refreshing it, even with aggressive pruning', async () => {
    const slow = createLocalCheckpointStore({ path: cpPath(), keep: 2 });
    const fast = createLocalCheckpointStore({ path: cpPath(), keep: 2 });
    const v = await saveMany(slow, 2);
    hooks.beforeRename = async (target) => {
      if (target !== cpPath()) return;
      hooks.beforeRename = undefined;
      // While the slow writer is about to put its copy (generation 3) in place, others save 3 more
      // times, refresh the copy and prune generation 3 away.
      let w = '3';
      for (let i = 4; i <= 6; i++) w = await fast.save(cp(i), w);
      expect(existsSync(genFile(3))).toBe(false);
    };
    await slow.save(cp(3), v);
    expect(await readFile(cpPath(), 'utf8').catch(() => null)).not.toBe(cp(3).toString());
    const loaded = await fast.load();
    expect(loaded?.version).toBe('6');
    expect(loaded?.editedCopy).toBeUndefined();
    await fast.save(cp(7), '6');
    expect(await readFile(cpPath(), 'utf8')).toBe(cp(7).toString());
  });

  it('removes the copy when refreshing it fails, so it never outlives its generation', async () => {
    const store = createLocalCheckpointStore({ path: cpPath(), keep: 2 });
    let v = await saveMany(store, 2);
    hooks.beforeRename = async (target) => {
      if (target === cpPath()) throw Object.assign(new Error('injected'), { code: 'EIO' });
    };
    for (let i = 3; i <= 9; i++) v = await store.save(cp(i), v);
    hooks.beforeRename = undefined;
    expect(existsSync(cpPath())).toBe(false);
    expect(existsSync(genFile(2))).toBe(false);
    const loaded = await store.load();
    expect(loaded?.version).toBe('9');
    expect(loaded?.editedCopy).toBeUndefined();
    expect(parse(loaded)).toMatchObject({ nextMintimeMs: 1_700_000_000_009 });
  });

  it('never reports a hand edit while 4 writers in one process race each other', async () => {
    const stores = Array.from({ length: 4 }, () => createLocalCheckpointStore({ path: cpPath() }));
    const flagged: string[] = [];
    let committed = 0;
    await Promise.all(
      stores.map(async (store) => {
        for (let i = 0; i < 40; i++) {
          const loaded = await store.load();
          if (loaded?.editedCopy) flagged.push(`${loaded.version ?? ''}: ${(await readFile(cpPath(), 'utf8').catch(() => '')).slice(0, 60)}`);
          try {
            await store.save(cp(Number(loaded?.version ?? 0) + 1), loaded?.version ?? null);
            committed += 1;
          } catch (err) {
            if (!(err instanceof CheckpointConflictError)) throw err;
          }
        }
      }),
    );
    expect(flagged).toEqual([]);
    expect(committed).toBeGreaterThan(0);
    const final = await stores[0]?.load();
    expect(final?.version).toBe(String(committed));
    expect(final?.editedCopy).toBeUndefined();
  });
});

describe('local sink', () => {
  it('refuses keys that are absolute or could leave the output folder', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    for (const key of ['/etc/passwd', '../escape.json', 'a/../../escape.json', 'a/../b.json', 'a//b.json', './a.json', '', 'a/\0.json']) {
      const err = await sink.writePage(contractPage(key, '{"a":1}\n')).catch((e: unknown) => e);
      expect(err, key).toBeInstanceOf(StorageError);
      expect((err as Error).message).toContain('refusing object key');
    }
    expect(await readdir(dir)).toEqual([]);
  });

  it('leaves only data files behind: temp files are hidden and removed', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const pages = Array.from({ length: 20 }, (_, i) => contractPage(contractKey(i + 1), `{"i":${i}}\n`));
    await Promise.all(pages.map((p) => sink.writePage(p)));
    await Promise.all(pages.map((p) => sink.writePage(p)));
    const files = (await readdir(root, { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
    expect(files).toHaveLength(20);
    for (const f of files) expect(f.name).toMatch(/^telephony_\d+_\d+_p\d{5}\.json$/);
    expect(isTempName('.telephony_1_2_p00001.json.tmp-123-abcdef')).toBe(true);
    expect(isTempName('telephony_1_2_p00001.json')).toBe(false);
  });

  it('sweeps temp files older than an hour from a folder it writes to, and keeps fresh ones', async () => {
    const root = join(dir, 'out');
    const key = contractKey();
    const folder = dirname(join(root, key));
    await mkdir(folder, { recursive: true });
    const stale = join(folder, '.telephony_1_2_p00001.json.tmp-999-0a0b0c');
    const fresh = join(folder, '.telephony_1_2_p00002.json.tmp-999-0d0e0f');
    await writeFile(stale, 'partial');
    await writeFile(fresh, 'in progress');
    const twoHoursAgo = new Date(Date.now() - 2 * 3_600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    await createLocalSink({ root }).writePage(contractPage(key, '{"a":1}\n'));
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
  });

  it('names the path and both hashes in a conflict', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const key = contractKey();
    const a = contractPage(key, '{"a":1}\n');
    const b = contractPage(key, '{"a":2}\n');
    await sink.writePage(a);
    const err = await sink.writePage(b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ObjectConflictError);
    expect((err as Error).message).toContain(join(root, key));
    expect((err as Error).message).toContain(a.sha256);
    expect((err as Error).message).toContain(b.sha256);
    expect(relative(root, join(root, key))).toBe(key);
  });

  it('reports its folder as location', () => {
    expect(createLocalSink({ root: join(dir, 'out') }).location).toBe(`${join(dir, 'out')}/`);
  });
});

describe('local sink reads', () => {
  it('reads null when OUTPUT_DIR or a folder on the way is missing, or a file stands where a folder should be, and creates nothing', async () => {
    const missingRoot = createLocalSink({ root: join(dir, 'never-made') });
    await expect(missingRoot.readPage(contractKey())).resolves.toBeNull();
    expect(await readdir(dir)).toEqual([]);

    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const page = contractPage(contractKey(), '{"a":1}\n');
    await sink.writePage(page);
    // The page's own file as a folder on the way: no object can have that name.
    await expect(sink.readPage(`${page.key}/telephony_1_2_p00001.json`)).resolves.toBeNull();
    const before = (await readdir(root, { recursive: true })).sort();
    await expect(sink.readPage(`elsewhere/${contractKey()}`)).resolves.toBeNull();
    expect((await readdir(root, { recursive: true })).sort()).toEqual(before);
  });

  it('refuses a folder under an object name with a StorageError saying so', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const key = contractKey();
    await mkdir(join(root, key), { recursive: true });
    const err = await sink.readPage(key).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'STORAGE_NOT_FOUND', exitCode: 2 });
    expect((err as Error).message).toBe(
      `cannot read ${join(root, key)}: it is a folder, not a file; check OUTPUT_DIR (--out) names a folder on a local disk that this user can read and write`,
    );
    // The date folder above the object, read as an object, is the same mistake.
    await expect(sink.readPage(dirname(key))).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  });

  it('rejects an aborted read before touching the folder', async () => {
    const root = join(dir, 'out');
    const key = contractKey();
    // Reading this name would fail (it is a folder): an abort that did I/O would report that instead.
    await mkdir(join(root, key), { recursive: true });
    const controller = new AbortController();
    controller.abort();
    await expect(createLocalSink({ root }).readPage(key, controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
  });

  it('refuses keys that are absolute or could leave the output folder', async () => {
    await writeFile(join(dir, 'escape.json'), 'outside\n');
    const sink = createLocalSink({ root: join(dir, 'out') });
    for (const key of ['/etc/passwd', '../escape.json', 'a/../../escape.json', 'a//b.json', '', 'a/\0.json']) {
      const err = await sink.readPage(key).catch((e: unknown) => e);
      expect(err, key).toBeInstanceOf(StorageError);
      expect((err as Error).message).toContain('refusing object key');
    }
  });

  it('reads a page being written as null until it appears whole under its name', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const page = contractPage(contractKey(), '{"a":1}\n{"a":2}\n');
    const target = join(root, page.key);
    const seen: Array<Buffer | null> = [];
    // Just before the final name is linked: the bytes are all in the hidden temp file beside it.
    hooks.beforeLink = async (to) => {
      if (to === target) seen.push(await createLocalSink({ root }).readPage(page.key));
    };
    await expect(sink.writePage(page)).resolves.toBe('created');
    expect(seen).toEqual([null]);
    expect(await sink.readPage(page.key)).toEqual(page.body);
  });

  it.skipIf(isRoot)('fails with STORAGE_DENIED on a page it may not read (not as root: root ignores permissions)', async () => {
    const root = join(dir, 'out');
    const sink = createLocalSink({ root });
    const page = contractPage(contractKey(), '{"a":1}\n');
    await sink.writePage(page);
    await chmod(join(root, page.key), 0o200);
    const err = await sink.readPage(page.key).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'STORAGE_DENIED', exitCode: 2 });
    expect((err as Error).message).toBe(
      `cannot read ${join(root, page.key)}: permission denied; check OUTPUT_DIR (--out) names a folder on a local disk that this user can read and write`,
    );
  });
});

describe('local checkpoint store at a path that already holds a checkpoint', () => {
  it('carries on from a file at its own path when no generation exists (STATE_KEY set to the guide’s file)', async () => {
    const path = join(dir, 'duo-telephony', 'state.json');
    await mkdir(dirname(path), { recursive: true });
    const guide = '{"last_offset":null,"last_timestamp_ms":1700000000000}';
    await writeFile(path, guide);
    const store = createLocalCheckpointStore({ path });
    expect(await store.load()).toEqual({ data: Buffer.from(guide), version: null, location: path });
    const v1 = await store.save(doc(1), null);
    expect((await store.load())?.version).toBe(v1);
    // The copy at the path now follows the checkpoint; the generation is the truth.
    expect(await readFile(path, 'utf8')).toBe(doc(1).toString());
    await expect(store.save(doc(2), null)).rejects.toBeInstanceOf(CheckpointConflictError);
  });
});
