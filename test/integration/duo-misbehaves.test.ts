/**
 * Exactly once when Duo misbehaves, through the CLI as users run it, against the simulator: Duo's
 * clock off from ours, events published late, a clock that jumps, cursors that go back, an event
 * published inside a page already written, odd items, and carrying on from Google's guide. Time passes
 * on the simulator's clock (frozen and moved forward), never by waiting.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSimClock, createSimEvent, generateDataset, startSimulator, type SimClock, type SimEvent, type Simulator } from '../../src/testing/index.js';
import { compareEvents } from '../../src/simulator/index.js';
import type { MisbehaviourOptions } from '../../src/simulator/server.js';
import type { TelephonyItem } from '../../src/duo/types.js';
import { STREAMS } from '../../src/duo/streams.js';
const itemKey = STREAMS.telephony.contentKey;
import { CLI, runCli, type CliResult } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { exactlyOnceReport } from '../support/store-source.js';
import { duoEnvOf } from '../support/duo-env.js';

const MIN = 60_000;
const H = 3_600_000;
const cleanup: Array<() => Promise<unknown>> = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) await c().catch(() => {});
});

interface World {
  sim: Simulator;
  clock: SimClock;
  dir: string;
  env: Record<string, string>;
}

/** A simulator on its own clock (frozen at `duoNowMs`) and an empty folder to collect into. */
async function world(opts: { duoNowMs: number; events: SimEvent[]; misbehaviour?: MisbehaviourOptions; env?: Record<string, string> }): Promise<World> {
  const clock = createSimClock({ frozenAtMs: opts.duoNowMs });
  // Duo's clock moves on with the test; requests are signed with the real one: a wide skew tolerance.
  const sim = await startSimulator({ events: opts.events, clock, maxSkewSeconds: 4 * 3600, ...(opts.misbehaviour ? { misbehaviour: opts.misbehaviour } : {}) });
  const dir = await mkdtemp(join(tmpdir(), 'duo-misbehaves-'));
  cleanup.push(() => sim.close(), () => rm(dir, { recursive: true, force: true }));
  const env = {
    ...duoEnvOf(sim),
    OUTPUT_DIR: dir,
    LOOKBACK_HOURS: '4',
    REQUESTS_PER_MINUTE: '100000',
    PAGE_LIMIT: '200',
    ...opts.env,
  };
  return { sim, clock, dir, env };
}

/** The key of every item written (telephony_id, or content for one without), repeats included. */
async function deliveredKeys(dir: string): Promise<string[]> {
  const keys: string[] = [];
  for (const body of await localObjects(join(dir, 'duo-telephony'))) {
    for (const line of body.toString('utf8').split('\n')) if (line) keys.push(itemKey(JSON.parse(line) as TelephonyItem));
  }
  return keys;
}

async function exactlyOnce(dir: string, want: readonly SimEvent[]): Promise<{ missing: number; doubled: number; unexpected: number; total: number }> {
  return exactlyOnceReport(
    want.map((e) => itemKey(JSON.parse(e.json) as TelephonyItem)),
    await deliveredKeys(dir),
  );
}

/** `collect`, with this machine's clock moved by `clockShiftMs` for that process only. */
function collect(w: World, clockShiftMs = 0): Promise<CliResult> {
  if (clockShiftMs === 0) return runCli(['collect', '--json'], w.env);
  const shift = `const real = Date.now; Date.now = () => real() + ${clockShiftMs};`;
  const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(shift)}`, CLI, 'collect', '--json'], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...w.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

const summaryOf = (r: CliResult): { outcome: string; windowHeld: boolean; clockOffsetMs: number | null; supplements: number } => (JSON.parse(r.stdout.trim()) as { streams: [never] }).streams[0];

/**
 * Collect every `stepMs` of Duo's time for `steps` steps, then once more well after the data's end.
 * Returns the runs' summaries.
 */
async function collectAsTimePasses(w: World, steps: number, stepMs: number): Promise<Array<ReturnType<typeof summaryOf>>> {
  const runs: Array<ReturnType<typeof summaryOf>> = [];
  for (let i = 0; i < steps; i++) {
    const r = await collect(w);
    expect(r.code, r.stderr).toBe(0);
    runs.push(summaryOf(r));
    w.clock.advance(stepMs);
  }
  w.clock.advance(15 * MIN);
  const last = await collect(w);
  expect(last.code, last.stderr).toBe(0);
  runs.push(summaryOf(last));
  return runs;
}

describe("Duo's clock is the clock", () => {
  // Events over the last hours and the next minutes of Duo's time, each published up to 90 s late:
  // at the default 120 s delay nothing may be lost, whichever way the clocks differ (within Duo's 300 s).
  it.each([
    ['ahead of', -290_000],
    ['behind', 290_000],
  ])("loses and doubles nothing with this machine's clock 290 s %s Duo's, events up to 90 s late", async (_, duoMinusOurs) => {
    const duoNow = Date.now() + duoMinusOurs;
    const events = generateDataset({ events: 1500, seed: 31, fromMs: duoNow - 2 * H, toMs: duoNow + 8 * MIN, lateness: { maxDelayMs: 90_000, rate: 1 } });
    const w = await world({ duoNowMs: duoNow, events });
    const runs = await collectAsTimePasses(w, 4, 2 * MIN);
    expect(await exactlyOnce(w.dir, events)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: events.length });
    // Every run learned Duo's clock from its answers (the simulator's is frozen and moved, so the
    // offset grows as the test moves it); the first within a second or two of the set offset.
    expect(runs[0]!.clockOffsetMs).not.toBeNull();
    expect(Math.abs(runs[0]!.clockOffsetMs! - duoMinusOurs)).toBeLessThan(30_000);
  }, 120_000);

  it("after a run with this machine's clock 6 h ahead (Duo refuses it: 40105) and back, loses nothing", async () => {
    const duoNow = Date.now();
    const events = generateDataset({ events: 1200, seed: 32, fromMs: duoNow - 2 * H, toMs: duoNow + 6 * MIN, lateness: { maxDelayMs: 60_000, rate: 0.5 } });
    const w = await world({ duoNowMs: duoNow, events });
    // A skew tolerance of Duo's own size for this part: the jumped clock is refused.
    expect((await collect(w)).code).toBe(0);
    const before = await readdir(join(w.dir, '_state', 'duo-telephony.json.d'));
    const jumped = await collect(w, 6 * H);
    expect(jumped.code, jumped.stderr).toBe(3);
    expect(jumped.stderr).toContain('40105');
    // Nothing was committed by the run that never got an answer: no window reaching 6 h ahead.
    expect(await readdir(join(w.dir, '_state', 'duo-telephony.json.d'))).toEqual(before);
    await collectAsTimePasses(w, 3, 3 * MIN);
    expect(await exactlyOnce(w.dir, events)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: events.length });
  }, 120_000);
});

describe('cursors only move forward', () => {
  it('doubles nothing when Duo sends 5 % of its cursors back, and delivers everything once it behaves again', async () => {
    const duoNow = Date.now();
    const events = generateDataset({ events: 6000, seed: 33, fromMs: duoNow - 3 * H, toMs: duoNow - 10 * MIN, bursts: [{ atMs: duoNow - 2 * H, count: 700 }] });
    const w = await world({ duoNowMs: duoNow, events, misbehaviour: { seed: 5, rewindRate: 0.05, cycleRate: 0.03, repeatRate: 0.02 }, env: { PAGE_LIMIT: '100' } });
    // A cursor sent back within what this window already wrote is harmless (what it serves again is
    // carried and dropped); one sent back further, or one already followed, stops the run (exit 4)
    // before anything of that page is written, and the next run asks again.
    for (let i = 0; i < 60; i++) {
      const r = await collect(w);
      if (r.code === 0) break;
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/Duo's (cursor|answer) (went|came) back: window .* page \d+ was asked (with|after the cursor) /);
      expect((await exactlyOnce(w.dir, events)).doubled).toBe(0);
    }
    expect(w.sim.stats.misbehaviour.rewind + w.sim.stats.misbehaviour.cycle + w.sim.stats.misbehaviour.repeat).toBeGreaterThan(2);
    // Nothing doubled even while it misbehaved.
    expect((await exactlyOnce(w.dir, events)).doubled).toBe(0);
    w.sim.setMisbehaviour(null);
    w.clock.advance(5 * MIN);
    const r = await collect(w);
    expect(r.code, r.stderr).toBe(0);
    expect(await exactlyOnce(w.dir, events)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: events.length });
  }, 180_000);
});

describe('an event published inside a page already written', () => {
  it('goes to a supplement of that page: the run neither stops nor doubles', async () => {
    const duoNow = Date.now();
    const events = generateDataset({ events: 1200, seed: 34, fromMs: duoNow - 3 * H, toMs: duoNow - 10 * MIN });
    const w = await world({ duoNowMs: duoNow, events });
    // The first run dies right after writing page 1, before committing it.
    const killed = await runCli(['collect'], { ...w.env, DUO_SECOPS_FAILPOINT: 'object.written:1' });
    expect(killed.signal).toBe('SIGKILL');
    const [first] = await localObjects(join(w.dir, 'duo-telephony'));
    const lines = first!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { ts: string });
    // Then Duo publishes an event in the middle of that page.
    const mid = (Date.parse(lines[100]!.ts) + Date.parse(lines[101]!.ts)) / 2;
    const late = createSimEvent({ id: 'late-inside-page-1', tsMicros: Math.floor(mid) * 1000 + 1 });
    w.sim.addEvents([late]);
    const r = await collect(w);
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(r).supplements).toBe(1);
    const names = await readdir(join(w.dir, 'duo-telephony'), { recursive: true });
    expect(names.some((n) => /_p00001_s1\.json$/.test(n))).toBe(true);
    expect(await exactlyOnce(w.dir, [...events, late])).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: events.length + 1 });
  }, 60_000);
});

describe('odd items', () => {
  it('writes items out of ts order once, leaves items outside the window to theirs, and keeps items without an id', async () => {
    const duoNow = Date.now();
    const events = generateDataset({ events: 3000, seed: 35, fromMs: duoNow - 3 * H, toMs: duoNow - 10 * MIN, missingIdRate: 0.05 });
    const w = await world({ duoNowMs: duoNow, events, misbehaviour: { seed: 9, outOfOrderRate: 0.3, beyondMaxtimeRate: 0.3 }, env: { WINDOW_MAX_HOURS: '0.5' } });
    const r = await collect(w);
    expect(r.code, r.stderr).toBe(0);
    expect(w.sim.stats.misbehaviour.outOfOrder).toBeGreaterThan(0);
    expect(w.sim.stats.misbehaviour.beyondMaxtime).toBeGreaterThan(0);
    expect(w.sim.stats.misbehaviour.missingId).toBeGreaterThan(0);
    expect(await exactlyOnce(w.dir, events)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: events.length });
  }, 60_000);
});

describe("carrying on from Google's guide", () => {
  it("skips the items of its cursor's millisecond up to its cursor's item, and nothing else; its STATE_KEY is only read", async () => {
    const duoNow = Date.now();
    const burstAt = duoNow - 2 * H;
    const events = generateDataset({ events: 1500, seed: 36, fromMs: duoNow - 3 * H, toMs: duoNow - 10 * MIN, bursts: [{ atMs: burstAt, count: 60 }] });
    const w = await world({ duoNowMs: duoNow, events });
    const sorted = [...events].sort(compareEvents);
    const inBurst = sorted.filter((e) => Math.floor(e.tsMicros / 1000) === burstAt);
    const cursorItem = inBurst[25]!;
    // The guide stopped mid-way with this cursor, having written everything up to and including its item.
    await mkdir(join(w.dir, 'duo-telephony'), { recursive: true });
    await writeFile(join(w.dir, 'duo-telephony', 'state.json'), JSON.stringify({ last_offset: `${burstAt},${cursorItem.id}`, last_timestamp_ms: burstAt - H }));
    // With the guide's own STATE_KEY, inside the feed's prefix: read as its state, never written.
    const r = await collect({ ...w, env: { ...w.env, STATE_KEY: 'duo-telephony/state.json' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("is read as the guide's state and carried on from, never written; the checkpoint goes to _state/duo-telephony.json");
    expect(await readdir(join(w.dir, '_state'))).toContain('duo-telephony.json.d');
    const after = sorted.filter((e) => compareEvents(e, cursorItem) > 0);
    expect(await exactlyOnce(w.dir, after)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: after.length });
    expect(JSON.parse(await readFile(join(w.dir, 'duo-telephony', 'state.json'), 'utf8'))).toMatchObject({ last_offset: `${burstAt},${cursorItem.id}` });
  }, 60_000);
});
