/**
 * Hard deadlines and prompt stops, through the CLI as users run it: SIGTERM in a storm of 429s and
 * during a GCS request that never answers, the run budget in a 429 storm, and the daemon during a
 * stall. Each stop commits nothing it did not write; a later run delivers everything exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, startSimulator, type Simulator } from '../../src/testing/index.js';
import { startIsolatedGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { runCli, spawnCli, type CliResult } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { exactlyOnceReport, idsOf } from '../support/store-source.js';
import type { ChildProcess } from 'node:child_process';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
let sim: Simulator;
let gcs: GcsTestServer;
let duoEnv: Record<string, string>;

beforeAll(async () => {
  const now = Date.now();
  sim = await startSimulator({ events: generateDataset({ events: 2000, seed: 41, fromMs: now - 2 * H, toMs: now - 10 * 60_000 }) });
  gcs = await startIsolatedGcsTestServer();
  duoEnv = { ...duoEnvOf(sim), DELAY_SECONDS: '1', LOOKBACK_HOURS: '3', REQUESTS_PER_MINUTE: '100000', PAGE_LIMIT: '200' };
});

afterAll(async () => {
  await sim?.close();
  await gcs?.close();
});

/** What a child prints on stderr, from its start, and a wait for a condition on it. */
function watchStderr(child: ChildProcess): (test: (text: string) => boolean, what: string) => Promise<void> {
  let text = '';
  const waiters = new Set<() => void>();
  child.stderr!.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters) w();
  });
  return (test, what) =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!test(text)) return;
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
      child.once('close', () => (waiters.has(check) ? reject(new Error(`exited before ${what}:\n${text}`)) : undefined));
      check();
    });
}

async function stopAndTime(child: ChildProcess, done: Promise<CliResult>, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ r: CliResult; ms: number }> {
  const t0 = performance.now();
  child.kill(signal);
  const r = await done;
  return { r, ms: performance.now() - t0 };
}

describe('prompt stops', () => {
  it('SIGTERM during a storm of 429s: exit 0 within 10 s, having asked Duo nothing more', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-stop-429-'));
    try {
      sim.setFaults({ rate429: 1 });
      const { child, done } = spawnCli(['collect'], { ...duoEnv, OUTPUT_DIR: dir, LOG_LEVEL: 'warn' });
      await watchStderr(child)((t) => t.includes('"event":"duo.retry"'), 'a retry');
      const requestsAtStop = sim.stats.requests;
      const { r, ms } = await stopAndTime(child, done);
      expect(r.code, r.stderr).toBe(0);
      expect(ms).toBeLessThan(10_000);
      expect(r.stdout).toMatch(/^stopped on request/);
      expect(sim.stats.requests - requestsAtStop).toBeLessThanOrEqual(1);
      sim.setFaults({});
      expect((await runCli(['collect'], { ...duoEnv, OUTPUT_DIR: dir })).code).toBe(0);
      expect(exactlyOnceReport(sim.events.map((e) => e.id), idsOf(await localObjects(join(dir, 'duo-telephony'))))).toMatchObject({ missing: 0, doubled: 0 });
    } finally {
      sim.setFaults({});
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('SIGTERM during a GCS upload that never answers: exit 0 within 10 s; the next run delivers once', async () => {
    gcs.createBucket('stall');
    gcs.setFault({ kind: 'delay', ms: 60_000, times: 1, match: { method: 'POST', path: /^\/upload\/.*[?&]name=duo-telephony%2F/ } });
    const env = { ...duoEnv, GCS_BUCKET: 'stall', GCS_API_ENDPOINT: gcs.url, LOG_LEVEL: 'info' };
    const { child, done } = spawnCli(['collect'], env);
    await watchStderr(child)((t) => t.includes('"event":"window.opened"'), 'the first window');
    // The first upload is being held by the server now (or is about to be).
    await new Promise<void>((resolve) => {
      const check = (): void => (gcs.requests().some((q) => q.method === 'POST' && q.path.startsWith('/upload/') && String(q.query['name']).startsWith('duo-telephony/')) ? resolve() : void setTimeout(check, 20));
      check();
    });
    const { r, ms } = await stopAndTime(child, done);
    expect(r.code, r.stderr).toBe(0);
    expect(ms).toBeLessThan(10_000);
    gcs.setFault(null);
    const again = await runCli(['collect'], env);
    expect(again.code, again.stderr).toBe(0);
    const ids = idsOf(gcs.objects('stall').filter((o) => o.name.startsWith('duo-telephony/')).map((o) => o.data));
    expect(exactlyOnceReport(sim.events.map((e) => e.id), ids)).toMatchObject({ missing: 0, doubled: 0 });
  });

  it('the daemon stops within 10 s of SIGTERM during a stalled GCS upload', async () => {
    gcs.createBucket('stall-daemon');
    gcs.setFault({ kind: 'delay', ms: 60_000, times: 1, match: { method: 'POST', path: /^\/upload\/.*[?&]name=duo-telephony%2F/ } });
    const env = { ...duoEnv, GCS_BUCKET: 'stall-daemon', GCS_API_ENDPOINT: gcs.url };
    const { child, done } = spawnCli(['daemon', '--schedule', '0 0 1 1 *'], env);
    await watchStderr(child)((t) => t.includes('"event":"window.opened"'), 'the first window');
    const { r, ms } = await stopAndTime(child, done);
    gcs.setFault(null);
    expect(r.code, r.stderr).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });
});

describe('the run budget bounds the whole run', () => {
  it('a 5 s budget in a storm of 429s ends within 5 s plus one request timeout, committing nothing it did not write', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-budget-'));
    try {
      sim.setFaults({ rate429: 1 });
      const t0 = performance.now();
      const r = await runCli(['collect', '--json'], { ...duoEnv, OUTPUT_DIR: dir, RUN_BUDGET_SECONDS: '5' });
      const ms = performance.now() - t0;
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ outcome: 'budget', events: 0 });
      // Well inside 5 s + the 30 s request timeout: the backoff itself is cut at the deadline.
      expect(ms).toBeLessThan(5_000 + 30_000);
      expect(ms).toBeGreaterThanOrEqual(4_500);
    } finally {
      sim.setFaults({});
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('a second signal', () => {
  it('exits at once, while the first one waits for a stalled GCS upload', async () => {
    gcs.createBucket('stall-twice');
    gcs.setFault({ kind: 'delay', ms: 60_000, times: 1, match: { method: 'POST', path: /^\/upload\/.*[?&]name=duo-telephony%2F/ } });
    const env = { ...duoEnv, GCS_BUCKET: 'stall-twice', GCS_API_ENDPOINT: gcs.url };
    const { child, done } = spawnCli(['daemon', '--schedule', '0 0 1 1 *'], env);
    const until = watchStderr(child);
    await until((t) => t.includes('"event":"window.opened"'), 'the first window');
    await new Promise<void>((resolve) => {
      const check = (): void =>
        gcs.requests().some((q) => q.method === 'POST' && String(q.query['name']).startsWith('duo-telephony/')) ? resolve() : void setTimeout(check, 20);
      check();
    });
    child.kill('SIGTERM');
    await until((t) => t.includes('"event":"daemon.signal"'), 'the first signal taken');
    const { r } = await stopAndTime(child, done);
    gcs.setFault(null);
    expect(r.code, r.stderr).toBe(143);
    expect(r.stderr).toContain('"event":"daemon.forced"');
    expect(r.stderr).not.toContain('"event":"daemon.stopped"');
  });
});
