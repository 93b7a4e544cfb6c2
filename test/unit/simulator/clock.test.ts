/**
 * The simulator clock: frozen or offset from real time, and what the simulator decides by it (which
 * events are visible yet, the Date header and its skew check, the 180-day rule). No test waits: time
 * moves only when a test moves it.
 */
import { describe, expect, it } from 'vitest';
import { createSimClock } from '../../../src/simulator/clock.js';
import { createSimEvent } from '../../../src/simulator/dataset.js';
import { startSimulator, type Simulator } from '../../../src/simulator/server.js';
import { pageAll, parseBody, signedGet } from './support.js';
import { simulatorsClosedAfterEach } from '../../support/simulators.js';

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

  it('runs at a fixed offset from real time, ahead or behind', () => {
    const real = fakeRealTime(T);
    const ahead = createSimClock({ source: real.source, offsetMs: 290_000 });
    const behind = createSimClock({ source: real.source, offsetMs: -45 * MIN });
    expect(ahead.frozen).toBe(false);
    expect([ahead.now(), behind.now()]).toEqual([T + 290_000, T - 45 * MIN]);
    real.pass(1234);
    expect([ahead.now(), behind.now()]).toEqual([T + 291_234, T - 45 * MIN + 1234]);
    // The other controls work from there.
    ahead.advance(MIN);
    expect(ahead.now()).toBe(T + 291_234 + MIN);
    const fromDateNow = createSimClock({ offsetMs: DAY });
    const before = Date.now();
    const read = fromDateNow.now();
    expect(read - DAY).toBeGreaterThanOrEqual(before);
    expect(read - DAY).toBeLessThanOrEqual(Date.now());
  });

  it('changes its offset at run time, running again if it stood still', () => {
    const real = fakeRealTime(T);
    const clock = createSimClock({ source: real.source, frozenAtMs: T - DAY });
    clock.setOffset(-30_000);
    expect(clock.frozen).toBe(false);
    expect(clock.now()).toBe(T - 30_000);
    real.pass(500);
    expect(clock.now()).toBe(T - 29_500);
    clock.setOffset(0);
    expect(clock.now()).toBe(T + 500);
  });

  it('refuses an offset that is not a number, and an offset on a frozen clock', () => {
    expect(() => createSimClock({ offsetMs: Number.NaN })).toThrow(RangeError);
    expect(() => createSimClock({ frozenAtMs: T, offsetMs: 1000 })).toThrow(/either frozenAtMs or offsetMs/);
    expect(() => createSimClock().setOffset(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('the simulator on its clock', () => {
  const start = simulatorsClosedAfterEach();

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

describe('a simulator whose clock is off from the client’s (clockOffsetMs)', () => {
  const start = simulatorsClosedAfterEach();

  const body = (text: string) => parseBody({ status: 200, headers: {}, text });

  it('290 s ahead: accepts a client on the real clock, dates its answers 290 s ahead, and already serves an event 200 s in the real future', async () => {
    const realNow = Date.now();
    const sim = await start({
      clockOffsetMs: 290_000,
      maxSkewSeconds: 300,
      events: [createSimEvent({ tsMicros: (realNow + 200_000) * 1000, id: 'ahead' })],
    });
    expect(sim.clock.frozen).toBe(false);
    const params = { mintime: String(realNow - 10 * MIN), maxtime: String(realNow + 250_000), sort: 'ts:asc' };
    const before = Date.now();
    // signedGet dates the request by the real clock.
    const r = await signedGet(sim, { params });
    const after = Date.now();
    expect(r.status).toBe(200);
    expect(body(r.text).response!.items.map((i) => i['telephony_id'])).toEqual(['ahead']);
    // The header has whole seconds: it lies in [before + 290 s - 1 s, after + 290 s].
    const dateMs = Date.parse(String(r.headers['date']));
    expect(dateMs).toBeGreaterThanOrEqual(before + 290_000 - 1000);
    expect(dateMs).toBeLessThanOrEqual(after + 290_000);
  });

  it('the same on a fake real time: the Date header exactly 290 s ahead, the event visible from 290 s before its ts', async () => {
    const real = fakeRealTime(T);
    const sim = await start({ now: real.source, clockOffsetMs: 290_000, events: [createSimEvent({ tsMicros: (T + 200_000) * 1000, id: 'ahead' })] });
    const params = { mintime: String(T - 10 * MIN), maxtime: String(T + 10 * MIN), sort: 'ts:asc' };
    const r = await signedGet(sim, { params, dateMs: T });
    expect(r.status).toBe(200);
    expect(Date.parse(String(r.headers['date']))).toBe(T + 290_000);
    expect(body(r.text).response!.items).toHaveLength(1);
    // 290 s ahead of a real time 91 s earlier is 1 s before the event: not there yet.
    real.pass(-91_000);
    const early = await signedGet(sim, { params, dateMs: T - 91_000 });
    expect(body(early.text).response!.items).toHaveLength(0);
  });

  it('400 s ahead or behind, beyond the 300 s tolerance: every request gets 401 40105', async () => {
    const real = fakeRealTime(T);
    const params = { mintime: String(T - 10 * MIN), maxtime: String(T - MIN) };
    for (const clockOffsetMs of [400_000, -400_000]) {
      const sim = await start({ now: real.source, clockOffsetMs });
      const r = await signedGet(sim, { params, dateMs: T });
      expect([r.status, body(r.text).code]).toEqual([401, 40105]);
      expect(Date.parse(String(r.headers['date']))).toBe(T + clockOffsetMs);
      // A client that learned Duo's clock is accepted.
      expect((await signedGet(sim, { params, dateMs: T + clockOffsetMs })).status).toBe(200);
    }
    const real400 = await start({ clockOffsetMs: 400_000 });
    const r = await signedGet(real400, { params: { mintime: String(Date.now() - 10 * MIN), maxtime: String(Date.now() - MIN) } });
    expect([r.status, body(r.text).code]).toEqual([401, 40105]);
  });

  it('applies the 180-day rule from its own today', async () => {
    const real = fakeRealTime(T);
    const sim = await start({ now: real.source, clockOffsetMs: 2 * DAY, maxSkewSeconds: 3 * 86_400 });
    const r = await signedGet(sim, { params: { mintime: String(T - 179 * DAY), maxtime: String(T - 178 * DAY) }, dateMs: T });
    expect(body(r.text).message_detail).toBe('mintime must be within the past 180 days');
  });

  it('refuses an offset that is not a number, or one beside a clock of its own', async () => {
    await expect(startSimulator({ clockOffsetMs: Number.NaN })).rejects.toThrow(RangeError);
    await expect(startSimulator({ clock: createSimClock(), clockOffsetMs: 1000 })).rejects.toThrow(/either clock or clockOffsetMs/);
  });
});
