/**
 * `duo-secops daemon` as users run it (the built CLI in its own process), ticking every second
 * against a simulator slow enough that every run outlasts a tick. A counting proxy between the two sees
 * every Duo request: the daemon never has two in flight, so runs never overlap. SIGTERM and SIGINT
 * mid-run finish and commit the page in flight and exit 0; a following `collect` completes the set
 * with nothing lost or doubled.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { defaultStateKey } from '../../src/config.js';
import { exactlyOnceReport, idsOf } from '../support/store-source.js';
import { localObjects } from '../support/collected.js';
import { runCli, spawnCli, type CliResult } from '../support/cli.js';

const now = Date.now();
const dataset = generateDataset({ events: 1500, seed: 505, fromMs: now - 150 * 60_000, toMs: now - 30_000 });
const allIds = dataset.map((e) => e.id);
const SLOW = { rateDelay: 1, delayMs: 300 } as const;

interface ProxiedRequest {
  query: URLSearchParams;
  startMs: number;
  endMs: number | null;
  /** The client went away before the answer was complete. */
  aborted: boolean;
}

/** Forwards to the simulator untouched (signatures stay valid) and records what is in flight. */
interface CountingProxy {
  url: string;
  requests: ProxiedRequest[];
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  const proxy: CountingProxy = { url: '', requests: [], inFlight: 0, maxInFlight: 0, close: async () => {} };
  const server: Server = createServer((req, res) => {
    const rec: ProxiedRequest = { query: new URL(req.url ?? '/', 'http://x').searchParams, startMs: Date.now(), endMs: null, aborted: false };
    proxy.requests.push(rec);
    proxy.inFlight += 1;
    proxy.maxInFlight = Math.max(proxy.maxInFlight, proxy.inFlight);
    let done = false;
    const finish = (aborted: boolean): void => {
      if (done) return;
      done = true;
      rec.aborted = aborted;
      rec.endMs = Date.now();
      proxy.inFlight -= 1;
    };
    res.on('finish', () => finish(false));
    res.on('close', () => finish(!res.writableFinished));
    const upstream = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

let sim: Simulator;
let proxy: CountingProxy;
let dir: string;
const children: Array<{ kill(signal: NodeJS.Signals): boolean }> = [];

beforeAll(async () => {
  sim = await startSimulator({ events: dataset, faults: SLOW });
  proxy = await startCountingProxy(sim.url);
  dir = await mkdtemp(join(tmpdir(), 'duo-daemon-'));
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await Promise.allSettled([proxy?.close(), sim?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const i = sim.integrations[0]!;
  return {
    DUO_IKEY: i.ikey,
    DUO_SKEY: i.skey,
    DUO_API_HOST: sim.apiHost,
    DUO_API_URL: proxy.url,
    OUTPUT_DIR: dir,
    DELAY_SECONDS: '1',
    LOOKBACK_HOURS: '3',
    WINDOW_MAX_HOURS: '1',
    PAGE_LIMIT: '50',
    REQUESTS_PER_MINUTE: '1000000',
    LOG_LEVEL: 'info',
    ...extra,
  };
}

function events(stderr: string): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function until(what: string, cond: () => boolean, timeoutMs: number, output: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; daemon output:\n${output().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Checkpoint {
  nextMintimeMs: number;
  open: { mintimeMs: number; maxtimeMs: number; nextOffset: string | null; page: number } | null;
}

async function readCheckpoint(): Promise<Checkpoint> {
  return JSON.parse(await readFile(join(dir, defaultStateKey('duo-telephony')), 'utf8')) as Checkpoint;
}

/** Page objects already written for the open window at or beyond `page`: none may exist past a commit. */
async function objectsFrom(open: NonNullable<Checkpoint['open']>): Promise<string[]> {
  const names: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else {
        const m = /^telephony_(\d+)_(\d+)_p(\d+)\.json$/.exec(e.name);
        if (m && Number(m[1]) === open.mintimeMs && Number(m[2]) === open.maxtimeMs && Number(m[3]) >= open.page) names.push(e.name);
      }
    }
  };
  await walk(join(dir, 'duo-telephony'));
  return names;
}

/**
 * Start the daemon, let it complete `runs` runs (skipping the ticks that come while one is going),
 * then send `signals` while a Duo request is in flight. Returns what it did.
 */
async function daemonUntilSignal(signals: NodeJS.Signals[], runs: number): Promise<{ result: CliResult; exitMs: number; inFlightAtSignal: ProxiedRequest; stderr: string }> {
  const firstRequest = proxy.requests.length;
  let stderr = '';
  const { child, done } = spawnCli(['daemon', '--schedule', '*/1 * * * * *'], env({ MAX_ITERATIONS: '4' }));
  children.push(child);
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  void done.then(() => (exited = true));
  const finishedRuns = () => events(stderr).filter((e) => e.event === 'run.finished').length;
  const skipped = () => events(stderr).filter((e) => e.event === 'daemon.skipped').length;
  await until(`${runs} runs and a skipped tick`, () => exited || (finishedRuns() >= runs && skipped() >= 1), 30_000, () => stderr);
  // Mid-run: a request of a run is on its way (the simulator holds each answer 300 ms).
  await until('a request in flight', () => exited || (proxy.inFlight === 1 && Date.now() - proxy.requests.at(-1)!.startMs < 100), 10_000, () => stderr);
  expect(exited, stderr).toBe(false);
  const inFlightAtSignal = proxy.requests.at(-1)!;
  const sentAt = Date.now();
  for (const [n, s] of signals.entries()) {
    // Two signals sent at once arrive as one: give the first time to be handled.
    if (n > 0) await new Promise((r) => setTimeout(r, 50));
    child.kill(s);
  }
  const result = await done;
  const exitMs = Date.now() - sentAt;
  expect(proxy.requests.length, 'no request after the signal').toBe(proxy.requests.indexOf(inFlightAtSignal) + 1);
  expect(proxy.requests.slice(firstRequest).length).toBeGreaterThan(runs * 4);
  return { result, exitMs, inFlightAtSignal, stderr: result.stderr };
}

/** The daemon's own runs never overlapped and never stole the window from each other. */
function expectNoOverlap(stderr: string): void {
  expect(proxy.maxInFlight).toBe(1);
  const ev = events(stderr);
  expect(ev.filter((e) => e.event === 'checkpoint.conflict')).toEqual([]);
  expect(ev.filter((e) => e.event === 'daemon.run-failed')).toEqual([]);
  expect(ev.filter((e) => e.event === 'daemon.skipped').length).toBeGreaterThanOrEqual(1);
}

async function expectCleanStop(r: Awaited<ReturnType<typeof daemonUntilSignal>>, signal: NodeJS.Signals): Promise<void> {
  expect(r.result.code, r.stderr).toBe(0);
  expect(r.result.signal).toBeNull();
  expect(r.exitMs).toBeLessThan(3000);
  // The page in flight was answered in full, not cut off.
  expect(r.inFlightAtSignal.aborted).toBe(false);
  expect(r.inFlightAtSignal.endMs).not.toBeNull();
  const ev = events(r.stderr);
  expect(ev.find((e) => e.event === 'daemon.signal')).toMatchObject({ signal, message: expect.stringContaining('finishing the page in flight') });
  expect(ev.filter((e) => e.event === 'run.finished').at(-1)).toMatchObject({ outcome: 'stopped' });
  expect(ev.at(-1)).toMatchObject({ event: 'daemon.stopped' });

  // ...and committed: the checkpoint no longer points at that request, and nothing lies beyond it.
  const cp = await readCheckpoint();
  const q = r.inFlightAtSignal.query;
  const stillThere = cp.open !== null && cp.open.mintimeMs === Number(q.get('mintime')) && cp.open.nextOffset === (q.get('next_offset') ?? null);
  expect(stillThere, JSON.stringify(cp)).toBe(false);
  if (cp.open) expect(await objectsFrom(cp.open)).toEqual([]);
}

describe('duo-secops daemon', () => {
  it('runs on schedule, never overlaps itself, and on SIGTERM finishes the page in flight, commits and exits 0', async () => {
    const r = await daemonUntilSignal(['SIGTERM'], 3);
    expectNoOverlap(r.stderr);
    await expectCleanStop(r, 'SIGTERM');
  }, 45_000);

  it('does the same on SIGINT, carrying on from where the last one stopped', async () => {
    const before = (await localObjects(join(dir, 'duo-telephony'))).length;
    const r = await daemonUntilSignal(['SIGINT'], 1);
    expectNoOverlap(r.stderr);
    await expectCleanStop(r, 'SIGINT');
    expect((await localObjects(join(dir, 'duo-telephony'))).length).toBeGreaterThan(before);
  }, 30_000);

  it('a second signal exits at once without finishing the page', async () => {
    const r = await daemonUntilSignal(['SIGTERM', 'SIGTERM'], 1);
    expect(r.result.code).toBe(143);
    expect(r.exitMs).toBeLessThan(1000);
    expect(events(r.stderr).map((e) => e.event)).toContain('daemon.forced');
  }, 30_000);

  it('a following collect completes the set: nothing lost, nothing doubled', async () => {
    sim.setFaults({});
    const r = await runCli(['collect'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^caught up/m);
    expect(exactlyOnceReport(allIds, idsOf(await localObjects(join(dir, 'duo-telephony'))))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('refuses a schedule that is not a cron expression, with exit status 2', async () => {
    const r = await runCli(['daemon', '--schedule', 'every five minutes'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--schedule: "every five minutes" is not a cron expression/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

