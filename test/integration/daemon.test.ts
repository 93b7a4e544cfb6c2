/**
 * `duo-secops daemon` as users run it (the built CLI in its own process), ticking every second
 * against a simulator slow enough that every run outlasts a tick. A counting proxy between the two sees
 * every Duo request: the daemon never has two in flight, so runs never overlap. SIGTERM and SIGINT
 * mid-run finish and commit the page in flight and exit (0, or 130 for SIGINT as shells expect); a
 * following `collect` completes the set with nothing lost or doubled.
 *
 * Every wait is on an event (a line the daemon prints, a request reaching the proxy, the process
 * exiting), never on a pause: the proxy holds the answer to a chosen request for as long as the test
 * needs, so "mid-run" does not depend on how fast the machine is.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { defaultStateKey } from '../../src/config.js';
import { exactlyOnceReport, idsOf } from '../support/store-source.js';
import { localObjects } from '../support/collected.js';
import { runCli, spawnCli, type CliResult } from '../support/cli.js';
import { duoEnvOf } from '../support/duo-env.js';

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
  /** Settles once the answer is complete or the client has gone away. */
  ended: Promise<void>;
}

/** A request whose answer the proxy keeps back until `release()`. */
interface HeldRequest {
  request: ProxiedRequest;
  release(): void;
}

/** Forwards to the simulator untouched (signatures stay valid) and records what is in flight. */
interface CountingProxy {
  url: string;
  requests: ProxiedRequest[];
  inFlight: number;
  maxInFlight: number;
  /**
   * Keep back the answer to the next request until it is released: the client is then mid-page
   * for as long as the test needs. Resolves as soon as that request arrives.
   */
  holdNext(): Promise<HeldRequest>;
  close(): Promise<void>;
}

async function startCountingProxy(target: string): Promise<CountingProxy> {
  const t = new URL(target);
  let armed: ((held: HeldRequest) => void) | null = null;
  const proxy: CountingProxy = {
    url: '',
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    holdNext: () => {
      if (armed) throw new Error('holdNext: a hold is already waiting for a request');
      return new Promise<HeldRequest>((resolve) => (armed = resolve));
    },
    close: async () => {},
  };
  const server: Server = createServer((req, res) => {
    let ended!: () => void;
    const rec: ProxiedRequest = {
      query: new URL(req.url ?? '/', 'http://x').searchParams,
      startMs: Date.now(),
      endMs: null,
      aborted: false,
      ended: new Promise<void>((resolve) => (ended = resolve)),
    };
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
      ended();
    };
    res.on('finish', () => finish(false));
    res.on('close', () => finish(!res.writableFinished));

    let released: Promise<void> = Promise.resolve();
    if (armed) {
      const hold = armed;
      armed = null;
      released = new Promise<void>((release) => hold({ request: rec, release }));
    }
    const answer = (up: IncomingMessage): void => {
      if (res.destroyed) {
        // The client gave up while its answer was held.
        up.destroy();
        return;
      }
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    };
    const upstream = request({ host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      void released.then(() => answer(up));
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
const children: ChildProcess[] = [];

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
  return {
    ...duoEnvOf(sim),
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

/** A CLI process whose output the test waits on, line by line. */
interface WatchedProcess {
  child: ChildProcess;
  done: Promise<CliResult>;
  /** Complete lines printed so far, stderr and stdout, each in the order printed. */
  readonly lines: string[];
  readonly exited: boolean;
  /** Call `listener` after every new line and when the process exits; returns the unsubscribe. */
  onChange(listener: () => void): () => void;
}

function spawnWatched(args: string[], environment: NodeJS.ProcessEnv): WatchedProcess {
  const { child, done } = spawnCli(args, environment);
  children.push(child);
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  for (const stream of [child.stderr!, child.stdout!]) {
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const parts = (partial + d.toString()).split('\n');
      partial = parts.pop()!;
      if (parts.length === 0) return;
      lines.push(...parts);
      notify();
    });
  }
  let exited = false;
  void done.then(() => {
    exited = true;
    notify();
  });
  return {
    child,
    done,
    lines,
    get exited() {
      return exited;
    },
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The last lines a process printed, for failure messages. */
function tail(proc: WatchedProcess): string {
  return proc.lines.join('\n').slice(-3000);
}

/**
 * Resolve with `check()`'s first value other than `undefined`, re-checked after every line the process
 * prints. Fails if the process exits first; `timeoutMs` only bounds a failing test.
 */
function waitFor<T>(proc: WatchedProcess, what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const settle = (fn: () => void) => {
      unsubscribe();
      clearTimeout(timer);
      fn();
    };
    const attempt = () => {
      const value = check();
      if (value !== undefined) settle(() => resolve(value));
      else if (proc.exited) settle(() => reject(new Error(`the process exited before ${what}; its output:\n${tail(proc)}`)));
    };
    const timer = setTimeout(() => settle(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${tail(proc)}`))), timeoutMs);
    const unsubscribe = proc.onChange(attempt);
    attempt();
  });
}

/** The first line matching `re`, whether already printed or still to come. */
function waitForLine(proc: WatchedProcess, re: RegExp, timeoutMs?: number): Promise<string> {
  return waitFor(proc, `a line matching ${re}`, () => proc.lines.find((l) => re.test(l)), timeoutMs);
}

/** The `count`-th log event named `event` (pino JSON lines). */
function waitForEvent(proc: WatchedProcess, event: string, count = 1, timeoutMs?: number): Promise<Record<string, unknown>> {
  return waitFor(proc, `${count} "${event}" event(s)`, () => events(proc.lines.join('\n')).filter((e) => e.event === event)[count - 1], timeoutMs);
}

/** Wait for something outside the process (a request reaching the proxy) while it keeps running. */
function waitWhileRunning<T>(proc: WatchedProcess, what: string, outside: Promise<T>, timeoutMs = 30_000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; output so far:\n${tail(proc)}`)), timeoutMs);
    const settle = (fn: () => void) => {
      clearTimeout(timer);
      fn();
    };
    outside.then(
      (v) => settle(() => resolve(v)),
      (err: unknown) => settle(() => reject(err as Error)),
    );
    void proc.done.then(() => settle(() => reject(new Error(`the process exited before ${what}; its output:\n${tail(proc)}`))));
  });
}

/** The process's result once it has exited. */
function waitForExit(proc: WatchedProcess, timeoutMs = 30_000): Promise<CliResult> {
  return new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for the process to exit; output so far:\n${tail(proc)}`)), timeoutMs);
    void proc.done.then((r) => {
      clearTimeout(timer);
      resolve(r);
    });
  });
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
 * then send `signals` while the answer to one of its Duo requests is held back. With one signal the
 * answer is then let through, so the daemon can finish that page; with two it never is. Each signal
 * after the first is sent only once the daemon has logged the first: two sent at once can arrive as one.
 * Returns what it did; `exitMs` counts from the last thing the test did (the release or the last signal).
 */
async function daemonUntilSignal(signals: NodeJS.Signals[], runs: number): Promise<{ result: CliResult; exitMs: number; inFlightAtSignal: ProxiedRequest; stderr: string }> {
  const firstRequest = proxy.requests.length;
  const daemon = spawnWatched(['daemon', '--schedule', '*/1 * * * * *'], env({ MAX_ITERATIONS: '4' }));
  await waitForEvent(daemon, 'run.finished', runs);
  await waitForEvent(daemon, 'daemon.skipped');
  // Mid-run: the daemon's next request stays unanswered until released.
  const held = await waitWhileRunning(daemon, 'a request in flight', proxy.holdNext());
  const [first, ...more] = signals;
  daemon.child.kill(first!);
  await waitForLine(daemon, /"event":"daemon.signal"/);
  for (const s of more) daemon.child.kill(s);
  if (more.length === 0) held.release();
  const sentAt = Date.now();
  const result = await waitForExit(daemon);
  const exitMs = Date.now() - sentAt;
  // The proxy may learn that the connection closed after the process is gone.
  await held.request.ended;
  expect(proxy.requests.length, 'no request after the signal').toBe(proxy.requests.indexOf(held.request) + 1);
  expect(proxy.requests.slice(firstRequest).length).toBeGreaterThan(runs * 4);
  return { result, exitMs, inFlightAtSignal: held.request, stderr: result.stderr };
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
  expect(r.result.code, r.stderr).toBe(signal === 'SIGINT' ? 130 : 0);
  expect(r.result.signal).toBeNull();
  expect(r.exitMs).toBeLessThan(3000);
  // The request to Duo in flight was abandoned at once (a read: nothing is lost), not waited for.
  expect(r.inFlightAtSignal.aborted).toBe(true);
  const ev = events(r.stderr);
  expect(ev.find((e) => e.event === 'daemon.signal')).toMatchObject({ signal, message: expect.stringContaining('abandoning the request to Duo in flight') });
  expect(ev.filter((e) => e.event === 'run.finished').at(-1)).toMatchObject({ outcome: 'stopped' });
  expect(ev.at(-1)).toMatchObject({ event: 'daemon.stopped' });

  // Nothing of it was committed: the checkpoint still asks for that very page, and nothing lies beyond it.
  const cp = await readCheckpoint();
  const q = r.inFlightAtSignal.query;
  const stillThere = cp.open !== null && cp.open.mintimeMs === Number(q.get('mintime')) && cp.open.nextOffset === (q.get('next_offset') ?? null);
  expect(stillThere, JSON.stringify(cp)).toBe(true);
  expect(await objectsFrom(cp.open!)).toEqual([]);
}

describe('duo-secops daemon', () => {
  it('runs on schedule, never overlaps itself, and on SIGTERM abandons the request in flight, commits nothing of it and exits 0', async () => {
    const r = await daemonUntilSignal(['SIGTERM'], 3);
    expectNoOverlap(r.stderr);
    await expectCleanStop(r, 'SIGTERM');
  }, 45_000);

  it('does the same on SIGINT, exiting 130, carrying on from where the last one stopped', async () => {
    const before = (await localObjects(join(dir, 'duo-telephony'))).length;
    const r = await daemonUntilSignal(['SIGINT'], 1);
    expectNoOverlap(r.stderr);
    await expectCleanStop(r, 'SIGINT');
    expect((await localObjects(join(dir, 'duo-telephony'))).length).toBeGreaterThan(before);
  }, 30_000);

  it('a following collect completes the set: nothing lost, nothing doubled', async () => {
    sim.setFaults({});
    const r = await runCli(['collect'], env());
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^caught up/m);
    expect(exactlyOnceReport(allIds, idsOf(await localObjects(join(dir, 'duo-telephony'))))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('VERIFY_SCHEDULE verifies yesterday on its own schedule, one verify.finished line per stream, and stops on SIGTERM', async () => {
    const proc = spawnWatched(['daemon', '--schedule', '0 0 1 1 *', '--no-run-at-start', '--verify-schedule', '* * * * * *'], env());
    const line = await waitFor(proc, 'a verify.finished line', () => events(proc.lines.join('\n')).find((e) => e.event === 'verify.finished'));
    expect(line).toMatchObject({ stream: 'telephony', clean: true, missing: 0, doubled: 0, unknown: 0 });
    proc.child.kill('SIGTERM');
    const r = await proc.done;
    expect(r.code, tail(proc)).toBe(0);
  }, 30_000);

  it('refuses a verify schedule that is not a cron expression, with exit status 2', async () => {
    const r = await runCli(['daemon', '--verify-schedule', 'nightly'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--verify-schedule: "nightly" is not a cron expression/);
  });

  it('refuses a schedule that is not a cron expression, with exit status 2', async () => {
    const r = await runCli(['daemon', '--schedule', 'every five minutes'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--schedule: "every five minutes" is not a cron expression/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

