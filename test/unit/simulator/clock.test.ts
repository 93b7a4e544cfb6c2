/**
 * The simulator clock: frozen or offset from real time, and what the simulator decides by it (which
 * events are visible yet, the Date header and its skew check, the 180-day rule). No test waits: time
 * moves only when a test moves it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimClock } from '../../../src/simulator/clock.js';
import { createSimEvent } from '../../../src/simulator/dataset.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/server.js';
import { pageAll, parseBody, signedGet } from './support.js';

const T = Date.UTC(2026, 2, 1, 12, 0, 0);
const MIN = 60_000;
const DAY = 86_400_000;

/** A fake real time the test moves by hand. */
function fakeRealTime(startMs: number): { source: () => number; pass(ms: number): void } {
  let t = startMs;
  return { source: () => t, pass: (ms) => void (t += ms) };
}

describe('createSimClock', () => {
  it('runs with real time by default', () => {
    const real = fakeRealTime(T);
    const clock = createSimClock({ source: real.source });
    expect(clock.frozen).toBe(false);
    expect(clock.now()).toBe(T);
    real.pass(1234);
    expect(clock.now()).toBe(T + 1234);
    const fromDateNow = createSimClock();
    const before = Date.now();
    const read = fromDateNow.now();
    expect(read).toBeGreaterThanOrEqual(before);
    expect(read).toBeLessThanOrEqual(Date.now());
  });

  it('freezes at the current time or at a given one, whatever real time does', () => {
    const real = fakeRealTime(T);
    const clock = createSimClock({ source: real.source });
    real.pass(500);
    clock.freeze();
    expect(clock.frozen).toBe(true);
    real.pass(10 * MIN);
    expect(clock.now()).toBe(T + 500);
    clock.freeze(T - DAY);
    expect(clock.now()).toBe(T - DAY);
    expect(createSimClock({ source: real.source, frozenAtMs: 42 }).now()).toBe(42);
  });

  it('advances a frozen clock by exactly the amount, and a running one by an offset that stays', () => {
    const real = fakeRealTime(T);
    const frozen = createSimClock({ source: real.source, frozenAtMs: T });
    frozen.advance(5 * MIN);
    expect(frozen.now()).toBe(T + 5 * MIN);
    frozen.advance(0);
    expect(frozen.now()).toBe(T + 5 * MIN);

    const running = createSimClock({ source: real.source });
    running.advance(DAY);
    expect(running.now()).toBe(T + DAY);
    real.pass(1000);
    expect(running.now()).toBe(T + DAY + 1000);
  });

  it('sets the time, backwards too, staying frozen or running', () => {
    const real = fakeRealTime(T);
    const frozen = createSimClock({ source: real.source, frozenAtMs: T });
    frozen.set(T - 200 * DAY);
    expect(frozen.now()).toBe(T - 200 * DAY);
    expect(frozen.frozen).toBe(true);

    const running = createSimClock({ source: real.source });
    running.set(T - 3 * DAY);
    expect(running.now()).toBe(T - 3 * DAY);
    real.pass(700);
    expect(running.now()).toBe(T - 3 * DAY + 700);
    expect(running.frozen).toBe(false);
  });

  it('resumes at real speed from where it stood', () => {
    const real = fakeRealTime(T);
    const clock = createSimClock({ source: real.source });
    clock.freeze();
    real.pass(10 * MIN);
    clock.advance(MIN);
    clock.resume();
    expect(clock.frozen).toBe(false);
    expect(clock.now()).toBe(T + MIN);
    real.pass(250);
    expect(clock.now()).toBe(T + MIN + 250);
    clock.resume();
    expect(clock.now()).toBe(T + MIN + 250);
  });

  it('refuses to go back with advance, and times that are not numbers', () => {
    const clock = createSimClock({ frozenAtMs: T });
    expect(() => clock.advance(-1)).toThrow(/only moves forward.*set\(\)/);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => clock.freeze(Number.NaN)).toThrow(RangeError);
    expect(() => createSimClock({ frozenAtMs: Number.NaN })).toThrow(RangeError);
    expect(clock.now()).toBe(T);
  });
});

describe('the simulator on its clock', () => {
  const running: Simulator[] = [];
  async function start(opts: SimulatorOptions): Promise<Simulator> {
    const sim = await startSimulator(opts);
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  /** One signed page, dated by the simulator's own clock (a client whose clock agrees with Duo's). */
  async function page(sim: Simulator, params: Record<string, string>) {
    return signedGet(sim, { params, dateMs: sim.clock.now() });
  }

  it('serves a late event only once the clock has been advanced to its arrival', async () => {
    const clock = createSimClock({ frozenAtMs: T });
    const sim = await start({
      clock,
      events: [
        createSimEvent({ tsMicros: (T - 10 * MIN) * 1000, id: 'on-time' }),
        // Happened 9 minutes ago; Duo ingests it 5 minutes from now.
        createSimEvent({ tsMicros: (T - 9 * MIN) * 1000, id: 'late', visibleAtMs: T + 5 * MIN }),
      ],
    });
    expect(sim.clock).toBe(clock);
    const window = { mintime: String(T - 30 * MIN), maxtime: String(T - MIN), sort: 'ts:asc', limit: '10' };
    const ids = async () => {
      const body = parseBody(await page(sim, window));
      const total = body.response!.metadata.total_objects;
      return { ids: body.response!.items.map((i) => i['telephony_id']), total: typeof total === 'number' ? total : total?.value };
    };

    expect(await ids()).toEqual({ ids: ['on-time'], total: 1 });
    sim.clock.advance(5 * MIN - 1);
    expect(await ids()).toEqual({ ids: ['on-time'], total: 1 });
    sim.clock.advance(1);
    expect(await ids()).toEqual({ ids: ['on-time', 'late'], total: 2 });
  });

  it('hides events whose time has not come and serves them as the clock reaches it', async () => {
    const sim = await start({ clock: createSimClock({ frozenAtMs: T }), events: [createSimEvent({ tsMicros: (T + 2 * MIN) * 1000, id: 'future' })] });
    const window = { mintimeMs: T - MIN, maxtimeMs: T + 10 * MIN, sort: 'ts:asc' as const };
    const signed = { dateMs: () => sim.clock.now() };
    expect((await pageAll(sim, window, signed)).ids).toEqual([]);
    sim.clock.set(T + 2 * MIN);
    expect((await pageAll(sim, window, signed)).ids).toEqual(['future']);
  });

  it('dates its answers and checks the request date by its clock', async () => {
    const sim = await start({ clock: createSimClock({ frozenAtMs: T }), maxSkewSeconds: 300 });
    const params = { mintime: String(T - 30 * MIN), maxtime: String(T - MIN) };
    const ok = await signedGet(sim, { params, dateMs: T });
    expect(ok.status).toBe(200);
    expect(Date.parse(String(ok.headers['date']))).toBe(T);

    // The same request date, ten minutes later by the simulator: outside the 300 s tolerance.
    sim.clock.advance(10 * MIN);
    const stale = await signedGet(sim, { params, dateMs: T });
    expect(stale.status).toBe(401);
    expect(parseBody(stale).code).toBe(40105);
    expect(Date.parse(String(stale.headers['date']))).toBe(T + 10 * MIN);
  });

  it('applies the 180-day rule from its own today', async () => {
    const sim = await start({ clock: createSimClock({ frozenAtMs: T }) });
    const params = { mintime: String(T - 179 * DAY), maxtime: String(T - 178 * DAY) };
    expect((await page(sim, params)).status).toBe(200);
    sim.clock.advance(2 * DAY);
    const r = await page(sim, params);
    expect(r.status).toBe(400);
    expect(parseBody(r).message_detail).toBe('mintime must be within the past 180 days');
  });

  it('keeps `now` as the source of its default clock', async () => {
    const real = fakeRealTime(T);
    const sim = await start({ now: real.source });
    expect(sim.clock.frozen).toBe(false);
    expect(sim.clock.now()).toBe(T);
    real.pass(MIN);
    sim.clock.advance(MIN);
    expect(sim.clock.now()).toBe(T + 2 * MIN);
    const r = await signedGet(sim, { params: { mintime: String(T - 30 * MIN), maxtime: String(T - MIN) }, dateMs: T + 2 * MIN });
    expect(Date.parse(String(r.headers['date']))).toBe(T + 2 * MIN);
  });

  it('refuses both a clock and now', async () => {
    await expect(startSimulator({ clock: createSimClock(), now: Date.now })).rejects.toThrow(/either clock or now/);
  });
});
