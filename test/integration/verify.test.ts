/**
 * `verify` against the simulator, on the local folder and on the GCS test server: after a collection,
 * one object deleted, one line removed from another and a third copied under another name, it reports
 * exactly those events missing and doubled; `--repair` writes the missing ones that were not in a
 * deleted object, `--include-deleted` the others too; once the copy is removed, exit 0.
 */
import { mkdir, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, generateDataset, type Simulator } from '../../src/simulator/index.js';
import { createStorage } from '../../src/gcs/storage.js';
import { parseObjectName } from '../../src/sinks/object-name.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { runCli, spawnCli } from '../support/cli.js';
import { duoEnvOf } from '../support/duo-env.js';
import type { VerifyJson } from '../../src/entry/commands/verify.js';

const H = 3_600_000;
const X = Math.floor((Date.now() - 5 * H) / H) * H;
let sim: Simulator;
let gcs: GcsTestServer;

beforeAll(async () => {
  sim = await startSimulator({ events: generateDataset({ events: 600, seed: 21, fromMs: X, toMs: X + 3 * H }) });
  gcs = await startGcsTestServer();
});

afterAll(async () => {
  await sim?.close();
  await gcs?.close();
});

/** What the test does to a store behind the collector's back. */
interface Store {
  env: Record<string, string>;
  names(): Promise<string[]>;
  read(name: string): Promise<string>;
  write(name: string, text: string): Promise<void>;
  remove(name: string): Promise<void>;
  close(): Promise<void>;
}

async function localStore(): Promise<Store> {
  const dir = await mkdtemp(join(tmpdir(), 'duo-verify-'));
  return {
    env: { OUTPUT_DIR: dir },
    names: async () =>
      (await readdir(join(dir, 'duo-telephony'), { recursive: true, withFileTypes: true }))
        .filter((e) => e.isFile())
        .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
        .sort(),
    read: (name) => readFile(join(dir, name), 'utf8'),
    write: async (name, text) => {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), text);
    },
    remove: (name) => unlink(join(dir, name)),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

async function gcsStore(): Promise<Store> {
  const bucketName = `verify-${Math.random().toString(36).slice(2, 8)}`;
  gcs.createBucket(bucketName);
  const storage = await createStorage({ apiEndpoint: gcs.url, timeoutMs: 10_000 });
  const bucket = storage.bucket(bucketName);
  return {
    env: { GCS_BUCKET: bucketName, GCS_API_ENDPOINT: gcs.url },
    names: async () => gcs.objects(bucketName).map((o) => o.name).filter((n) => n.startsWith('duo-telephony/')),
    read: async (name) => (await bucket.file(name).download())[0].toString('utf8'),
    write: async (name, text) => {
      await bucket.file(name).save(text, { resumable: false });
    },
    remove: async (name) => {
      await bucket.file(name).delete();
    },
    close: async () => undefined,
  };
}

const idsIn = (text: string): string[] =>
  text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { telephony_id: string }).telephony_id);

const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe.each([
  ['the local folder', localStore],
  ['the GCS test server', gcsStore],
])('verify on %s', (_, makeStore) => {
  let store: Store;
  let env: Record<string, string>;
  const range = ['--from', new Date(X).toISOString(), '--to', new Date(X + 3 * H).toISOString()];
  const verify = async (...extra: string[]): Promise<{ code: number | null; out: VerifyJson; stderr: string }> => {
    const r = await runCli(['verify', ...range, '--json', ...extra], env);
    expect(r.stdout, r.stderr).not.toBe('');
    return { code: r.code, out: JSON.parse(r.stdout) as VerifyJson, stderr: r.stderr };
  };

  beforeAll(async () => {
    store = await makeStore();
    env = { ...duoEnvOf(sim), ...store.env, DELAY_SECONDS: '1', LOOKBACK_HOURS: '6', PAGE_LIMIT: '10', WINDOW_MAX_HOURS: '1', REQUESTS_PER_MINUTE: '100000' };
    const r = await runCli(['collect'], env);
    expect(r.code, r.stderr).toBe(0);
  });

  afterAll(async () => {
    await store?.close();
  });

  let deletedIds: string[];
  let removedId: string;
  let copiedIds: string[];
  let copyName: string;

  it('after a collection: all there, exit 0', async () => {
    const r = await verify();
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toMatchObject({ stream: 'telephony', duo: 600, stored: 600, missing: 0, doubled: 0, unknown: 0, leftOut: null });
  });

  it('one object deleted, one line removed, one object copied: exactly those reported, exit 1', async () => {
    const names = await store.names();
    const windows = [...new Set(names.map((n) => parseObjectName(n)?.mintimeMs))].filter((m) => m !== undefined);
    // Pages 2 and 4 of a window with five pages or more: a deleted page leaves a hole between pages still there.
    const full = windows.find((m) => names.filter((n) => parseObjectName(n)?.mintimeMs === m).length >= 5)!;
    const inFull = names.filter((n) => parseObjectName(n)?.mintimeMs === full);
    const page = (n: number): string => inFull.find((k) => parseObjectName(k)?.page === n && parseObjectName(k)?.supplement === undefined)!;
    const deleted = page(2);
    deletedIds = idsIn(await store.read(deleted));
    await store.remove(deleted);
    const trimmed = page(4);
    const lines = (await store.read(trimmed)).split('\n').filter((l) => l !== '');
    removedId = idsIn(lines[4]!)[0]!;
    await store.write(trimmed, `${[...lines.slice(0, 4), ...lines.slice(5)].join('\n')}\n`);
    const copied = names.find((n) => parseObjectName(n) !== null && parseObjectName(n)?.mintimeMs !== full)!;
    copiedIds = idsIn(await store.read(copied));
    copyName = `${dirname(copied)}/copy-of-a-page.json`;
    await store.write(copyName, await store.read(copied));

    const r = await verify();
    expect(r.code, r.stderr).toBe(1);
    expect(r.out).toMatchObject({ duo: 600, missing: deletedIds.length + 1, doubled: copiedIds.length, unknown: 0, inDeleted: deletedIds.length });
    expect(sorted(r.out.ids.missing)).toEqual(sorted([...deletedIds, removedId]));
    expect(sorted(r.out.ids.doubled)).toEqual(sorted(copiedIds));
    // The words, without --json.
    const plain = await runCli(['verify', ...range], env);
    const missing = deletedIds.length + 1;
    expect(plain.stdout).toBe(
      `verify telephony ${new Date(X).toISOString()}..${new Date(X + 3 * H).toISOString()}: duo=600 stored=${600 - missing + copiedIds.length} missing=${missing} doubled=${copiedIds.length} unknown=0\n`,
    );
    expect(plain.stderr).toContain('lay where an object was deleted from the store: SecOps most likely ingested them already');
  });

  it('--repair writes the line removed, not the deleted object; --include-deleted that too; the copy stays doubled', async () => {
    const first = await verify('--repair');
    expect(first.code).toBe(1);
    expect(first.out.repair).toMatchObject({ written: 1, skippedDeleted: deletedIds.length });
    expect(first.out).toMatchObject({ missing: deletedIds.length, doubled: copiedIds.length });
    const second = await verify('--repair', '--include-deleted');
    expect(second.out.repair).toMatchObject({ written: deletedIds.length, skippedDeleted: 0 });
    expect(second.out).toMatchObject({ duo: 600, missing: 0, doubled: copiedIds.length, unknown: 0 });
    expect(second.code).toBe(1);
    // Repair objects follow the object-name grammar, under the same prefix.
    const repairs = (await store.names()).filter((n) => parseObjectName(n)?.repair !== undefined);
    expect(repairs.length).toBeGreaterThanOrEqual(2);
  });

  it('once the copy is removed by hand: exit 0', async () => {
    await store.remove(copyName);
    const r = await verify();
    expect(r.code, r.stderr).toBe(0);
    expect(r.out).toMatchObject({ duo: 600, stored: 600, missing: 0, doubled: 0, unknown: 0 });
  });
});

describe('verify leaves out what is not collected yet, and says so', () => {
  it('the part after the checkpoint, and the one newer than Duo clock minus the delay', async () => {
    const store = await localStore();
    try {
      const env = { ...duoEnvOf(sim), ...store.env, DELAY_SECONDS: '1', LOOKBACK_HOURS: '6', PAGE_LIMIT: '100', REQUESTS_PER_MINUTE: '100000' };
      // Nothing collected: everything is left out.
      const none = await runCli(['verify', '--from', new Date(X).toISOString(), '--to', new Date(X + H).toISOString()], env);
      expect(none.code, none.stderr).toBe(0);
      expect(none.stderr).toContain('left out: not collected yet');
      expect(none.stdout).toContain('duo=0 stored=0 missing=0');
      const collected = await runCli(['collect'], env);
      expect(collected.code, collected.stderr).toBe(0);
      const future = new Date(Date.now() + H).toISOString();
      const r = await runCli(['verify', '--from', new Date(X).toISOString(), '--to', future], env);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('duo=600 stored=600 missing=0 doubled=0 unknown=0');
      expect(r.stderr).toMatch(/left out: (not collected yet|newer than Duo's clock minus DELAY_SECONDS)/);
      const bad = await runCli(['verify', '--from', 'yesterday', '--to', future], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--from: yesterday is not an ISO 8601 time with a zone');
    } finally {
      await store.close();
    }
  });
});

describe('verify of a burst larger than a slice holds', () => {
  it('counts a millisecond of 21,000 events in one slice: bounded by what Duo has, never refused', async () => {
    const burstAt = X + H + 123;
    const big = await startSimulator({ events: generateDataset({ events: 22_000, seed: 5, fromMs: X, toMs: X + 2 * H, bursts: [{ atMs: burstAt, count: 21_000 }] }) });
    const store = await localStore();
    try {
      const env = { ...duoEnvOf(big), ...store.env, DELAY_SECONDS: '1', LOOKBACK_HOURS: '6', REQUESTS_PER_MINUTE: '1000000' };
      expect((await runCli(['collect'], env)).code).toBe(0);
      const r = await runCli(['verify', '--from', new Date(X).toISOString(), '--to', new Date(X + 2 * H).toISOString(), '--json'], env);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ duo: 22_000, stored: 22_000, missing: 0, doubled: 0, unknown: 0 });
    } finally {
      await store.close();
      await big.close();
    }
  }, 60_000);
});

describe('verify of the administrator log: no id, identical events, compared as a multiset', () => {
  it('holds each copy once after a collection; a copied object is reported doubled, copy for copy', async () => {
    const admin = await startSimulator({ logs: { administrator: { events: 300, seed: 8, fromMs: X, toMs: X + 2 * H, identicalRate: 0.2 } } });
    const store = await localStore();
    try {
      const env = { ...duoEnvOf(admin), ...store.env, DUO_LOGS: 'administrator', DELAY_SECONDS: '1', LOOKBACK_HOURS: '6', REQUESTS_PER_MINUTE: '1000000' };
      expect((await runCli(['collect'], env)).code).toBe(0);
      const range = ['--from', new Date(X).toISOString(), '--to', new Date(X + 2 * H).toISOString(), '--json'];
      const clean = await runCli(['verify', ...range], env);
      expect(clean.code, clean.stderr).toBe(0);
      expect(JSON.parse(clean.stdout)).toMatchObject({ stream: 'administrator', duo: 300, stored: 300, missing: 0, doubled: 0, unknown: 0 });

      const dir = store.env['OUTPUT_DIR']!;
      const page = (await readdir(join(dir, 'duo-administrator'), { recursive: true, withFileTypes: true })).find((e) => e.isFile())!;
      const text = await readFile(join(page.parentPath, page.name), 'utf8');
      await writeFile(join(page.parentPath, 'copy.json'), text);
      const doubled = await runCli(['verify', ...range], env);
      expect(doubled.code).toBe(1);
      expect(JSON.parse(doubled.stdout)).toMatchObject({ duo: 300, missing: 0, doubled: text.split('\n').filter((l) => l !== '').length, unknown: 0 });
    } finally {
      await store.close();
      await admin.close();
    }
  }, 60_000);
});

describe('verify cut short', () => {
  it('by SIGTERM while Duo stalls: exit 1, never the 0 of a clean verify, and it says nothing is proven', async () => {
    const store = await localStore();
    try {
      const env = { ...duoEnvOf(sim), ...store.env, DELAY_SECONDS: '1', LOOKBACK_HOURS: '6', PAGE_LIMIT: '100', REQUESTS_PER_MINUTE: '100000' };
      expect((await runCli(['collect'], env)).code).toBe(0);
      sim.setFaults({ rateDelay: 1, delayMs: 30_000 });
      const { child, done } = spawnCli(['verify', '--from', new Date(X).toISOString(), '--to', new Date(X + 3 * H).toISOString()], env);
      // Stop once the first request to Duo is held back.
      const before = sim.stats.requests;
      while (sim.stats.requests === before) await new Promise((r) => setTimeout(r, 50));
      child.kill('SIGTERM');
      const r = await done;
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain('verify stopped on SIGTERM before it finished: nothing is proven');
    } finally {
      sim.setFaults({});
      await store.close();
    }
  }, 60_000);
});
