/**
 * Bad input stops the collector with a message naming the problem and what to do, the right exit
 * status, and every existing object and the checkpoint left exactly as they were. Secrets never show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, generateDataset, randomIntegration, type Simulator } from '../../src/simulator/index.js';
import { runCli } from '../support/cli.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
let sim: Simulator;
let gcs: GcsTestServer;
const good = randomIntegration(true);
const noPermission = randomIntegration(false);

beforeAll(async () => {
  sim = await startSimulator({
    integrations: [good, noPermission],
    events: generateDataset({ events: 500, seed: 3, fromMs: Date.now() - 3 * H, toMs: Date.now() - H }),
  });
  gcs = await startGcsTestServer();
});
afterAll(async () => {
  await sim?.close();
  await gcs?.close();
});

function env(extra: Record<string, string> = {}, integration = good): NodeJS.ProcessEnv {
  return {
    ...duoEnvOf(sim, integration),
    DELAY_SECONDS: '1',
    REQUESTS_PER_MINUTE: '100000',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/** A folder with one earlier object and a checkpoint file with the given content. */
async function folderWith(checkpoint: string): Promise<{ dir: string; objectPath: string; statePath: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'duo-bad-'));
  const objectPath = join(dir, 'duo-telephony/2026/01/01/telephony_1767225600000_1767229200000_p00001.json');
  await mkdir(join(objectPath, '..'), { recursive: true });
  await writeFile(objectPath, '{"telephony_id":"earlier"}\n');
  const statePath = join(dir, '_state/duo-telephony.json');
  await mkdir(join(statePath, '..'), { recursive: true });
  await writeFile(statePath, checkpoint);
  return { dir, objectPath, statePath };
}

async function expectUntouched(f: { objectPath: string; statePath: string }, checkpoint: string): Promise<void> {
  expect(await readFile(f.objectPath, 'utf8')).toBe('{"telephony_id":"earlier"}\n');
  expect(await readFile(f.statePath, 'utf8')).toBe(checkpoint);
}

function expectNoSecret(text: string): void {
  expect(text).not.toContain(good.skey);
  expect(text).not.toContain(noPermission.skey);
}

describe('collect refuses bad input and keeps data intact', () => {
  it('a seconds-valued checkpoint', async () => {
    const cp = JSON.stringify({ version: 1, source: 'telephony', nextMintimeMs: Math.floor(Date.now() / 1000) - 3600, boundaryIds: [], open: null, updatedAt: 'x' });
    const f = await folderWith(cp);
    const r = await runCli(['collect'], env({ OUTPUT_DIR: f.dir }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/_state\/duo-telephony\.json/);
    expect(r.stderr).toMatch(/seconds, not milliseconds/);
    expect(r.stderr).toMatch(/state reset/);
    await expectUntouched(f, cp);
    await rm(f.dir, { recursive: true, force: true });
  });

  it("the guide's seconds-valued state.json", async () => {
    const cp = JSON.stringify({ last_offset: null, last_timestamp_ms: Math.floor(Date.now() / 1000) });
    const f = await folderWith(cp);
    const r = await runCli(['collect'], env({ OUTPUT_DIR: f.dir }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/seconds/);
    await expectUntouched(f, cp);
    await rm(f.dir, { recursive: true, force: true });
  });

  it('a corrupt checkpoint', async () => {
    const cp = '{"version":1,"source":"telephony","nextMintimeMs":17';
    const f = await folderWith(cp);
    const r = await runCli(['collect'], env({ OUTPUT_DIR: f.dir }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not valid JSON/);
    expect(r.stderr).toMatch(/_state\/duo-telephony\.json/);
    await expectUntouched(f, cp);
    await rm(f.dir, { recursive: true, force: true });
  });

  it('an unwritable folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-bad-'));
    // A path below a regular file cannot be created, even by root.
    await writeFile(join(dir, 'a-file'), 'x');
    const r = await runCli(['collect'], env({ OUTPUT_DIR: join(dir, 'a-file', 'out') }));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/a-file\/out/);
    expect(r.stderr).toMatch(/OUTPUT_DIR/);
    expect(await readFile(join(dir, 'a-file'), 'utf8')).toBe('x');
    await rm(dir, { recursive: true, force: true });
  });

  it('a missing bucket', async () => {
    const r = await runCli(['collect'], env({ GCS_BUCKET: 'no-such-bucket', GCS_API_ENDPOINT: gcs.url }));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no-such-bucket/);
    expect(r.stderr).toMatch(/does not exist/);
    expect(gcs.objects('no-such-bucket')).toEqual([]);
  });

  it('a wrong secret key: exit 3, names DUO_SKEY, and the checkpoint does not move', async () => {
    const f = await folderWith(JSON.stringify({ version: 1, source: 'telephony', nextMintimeMs: Date.now() - 3 * H, boundaryIds: [], open: null, updatedAt: 'x' }));
    const before = await readFile(f.statePath, 'utf8');
    const r = await runCli(['collect'], { ...env({ OUTPUT_DIR: f.dir }), DUO_SKEY: `${good.skey.slice(0, -4)}XXXX` });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/40103/);
    expect(r.stderr).toMatch(/DUO_SKEY/);
    expectNoSecret(r.stdout + r.stderr);
    // The opened window may be committed before the first request; no data position is lost.
    const after = JSON.parse(await readFile(f.statePath, 'utf8').catch(() => before)) as { nextMintimeMs: number };
    expect(after.nextMintimeMs).toBe((JSON.parse(before) as { nextMintimeMs: number }).nextMintimeMs);
    await rm(f.dir, { recursive: true, force: true });
  });

  it('a missing telephony permission: exit 3 and the fix', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-bad-'));
    const r = await runCli(['collect'], env({ OUTPUT_DIR: dir }, noPermission));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/40301/);
    expect(r.stderr).toMatch(/Read Telephony/i);
    expectNoSecret(r.stdout + r.stderr);
    await rm(dir, { recursive: true, force: true });
  });

  it('bad configuration: exit 2 with every problem listed', async () => {
    const r = await runCli(['collect', '--page-limit', '0'], { DUO_SKEY: good.skey, DELAY_SECONDS: 'soon' });
    expect(r.code).toBe(2);
    for (const name of ['DUO_IKEY', 'DUO_API_HOST', 'PAGE_LIMIT', 'DELAY_SECONDS']) expect(r.stderr).toContain(name);
    expectNoSecret(r.stdout + r.stderr);
  });
});

describe('check', () => {
  it('diagnoses a good setup, a wrong key, a missing permission and a skewed clock', async () => {
    const ok = await runCli(['check'], env());
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(new RegExp(sim.apiHost));
    const badKey = await runCli(['check'], { ...env(), DUO_SKEY: 'x'.repeat(40) });
    expect(badKey.code).toBe(3);
    expect(badKey.stdout).toMatch(/DUO_SKEY/);
    const noPerm = await runCli(['check'], env({}, noPermission));
    expect(noPerm.code).toBe(3);
    expect(noPerm.stdout).toMatch(/Read Telephony/i);
    // A Duo whose clock is 10 minutes ahead of this machine: 40105.
    const ahead = await startSimulator({ integrations: [good], now: () => Date.now() + 600_000 });
    try {
      const skew = await runCli(['check'], { ...env(), DUO_API_URL: ahead.url });
      expect(skew.code).toBe(3);
      expect(skew.stdout).toMatch(/clock/i);
      expect(skew.stdout).toMatch(/NTP|sync/i);
      for (const r of [ok, badKey, noPerm, skew]) expectNoSecret(r.stdout + r.stderr);
    } finally {
      await ahead.close();
    }
  });
});
