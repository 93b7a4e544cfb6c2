import { describe, expect, it } from 'vitest';
import { afterGood, afterRateLimited, FLOOR_RPM, intervalMs, MARGIN, PROBE_EVERY, startState, type RateState } from '../../../src/duo/rate-learner.js';
import { createRng } from '../../../src/simulator/rng.js';

const auto = { ceilingRpm: 60 };

describe('the rate learner, rule by rule', () => {
  it('starts at the ceiling, or where it left off (within the ceiling)', () => {
    expect(startState(auto)).toEqual({ rpm: 60, lo: 0, hi: null, good: 0, probes: 0 });
    expect(startState(auto, { rpm: 7.5, lo: 7.5, hi: 8 })).toEqual({ rpm: 7.5, lo: 7.5, hi: 8, good: 0, probes: 0 });
    expect(startState({ ceilingRpm: 5 }, { rpm: 7.5, lo: 7.5, hi: 8 })).toMatchObject({ rpm: 5, lo: 5 });
    expect(startState(auto, { rpm: Number.NaN })).toMatchObject({ rpm: 60 });
  });

  it.each<[string, RateState, RateState]>([
    ['nothing accepted yet: halves', { rpm: 60, lo: 0, hi: null, good: 0, probes: 0 }, { rpm: 30, lo: 0, hi: 60, good: 0, probes: 0 }],
    ['above what was accepted: back to it', { rpm: 45, lo: 30, hi: 60, good: 3, probes: 0 }, { rpm: 30, lo: 30, hi: 45, good: 0, probes: 0 }],
    ['at what was accepted: the limit fell, a step down, and forgets', { rpm: 40, lo: 40, hi: 44, good: 5, probes: 0 }, { rpm: 36, lo: 0, hi: 40, good: 0, probes: 0 }],
    ['again before anything was accepted: halves', { rpm: 36, lo: 0, hi: 40, good: 0, probes: 0 }, { rpm: 18, lo: 0, hi: 36, good: 0, probes: 0 }],
    ['a probe refused: back, and the run of probes ends', { rpm: 44, lo: 40, hi: 48.4, good: 3, probes: 2 }, { rpm: 40, lo: 40, hi: 44, good: 0, probes: 0 }],
    ['never below the floor', { rpm: 1.5, lo: 0, hi: 3, good: 0, probes: 0 }, { rpm: FLOOR_RPM, lo: 0, hi: 1.5, good: 0, probes: 0 }],
  ])('after a 429 %s', (_, before, after) => {
    expect(afterRateLimited(before, auto)).toEqual(after);
  });

  it.each<[string, RateState, boolean, RateState]>([
    ['the first at a new rate: not yet accepted', { rpm: 30, lo: 0, hi: 60, good: 0, probes: 0 }, true, { rpm: 30, lo: 0, hi: 60, good: 1, probes: 0 }],
    ['no backlog: accepted, nothing moves up', { rpm: 30, lo: 0, hi: 60, good: 1, probes: 0 }, false, { rpm: 30, lo: 30, hi: 60, good: 2, probes: 0 }],
    ['a wide bracket: halfway up', { rpm: 30, lo: 0, hi: 60, good: 1, probes: 0 }, true, { rpm: 45, lo: 30, hi: 60, good: 0, probes: 0 }],
    ['nothing refused yet: doubles, up to the ceiling', { rpm: 20, lo: 0, hi: null, good: 1, probes: 0 }, true, { rpm: 40, lo: 20, hi: null, good: 0, probes: 0 }],
    ['at the ceiling: stays', { rpm: 60, lo: 60, hi: null, good: 1, probes: 0 }, true, { rpm: 60, lo: 60, hi: null, good: 2, probes: 0 }],
    ['settled: counts good answers', { rpm: 40, lo: 40, hi: 42, good: 3, probes: 0 }, true, { rpm: 40, lo: 40, hi: 42, good: 4, probes: 0 }],
    ['settled, the 20th good answer: one step up', { rpm: 40, lo: 40, hi: 44, good: PROBE_EVERY - 1, probes: 0 }, true, { rpm: 42, lo: 40, hi: 44, good: 0, probes: 1 }],
    ['settled after an accepted probe: a step twice as far', { rpm: 40, lo: 40, hi: 44, good: PROBE_EVERY - 1, probes: 1 }, true, { rpm: 44, lo: 40, hi: 44 * 1.1, good: 0, probes: 2 }],
  ])('after a good answer, %s', (_, before, backlog, after) => {
    expect(afterGood(before, auto, backlog)).toEqual(after);
  });

  it('spaces requests by the interval plus the jitter margin', () => {
    expect(intervalMs({ rpm: 60 })).toBeCloseTo(1000 * (1 + MARGIN));
    expect(intervalMs({ rpm: 2 })).toBeCloseTo(30_000 * (1 + MARGIN));
  });
});

/**
 * A Duo endpoint whose token bucket holds one request and refills at `limit` per minute, on a fake
 * clock; requests arrive with up to `jitterMs` of network jitter.
 */
function drive(opts: { ceilingRpm: number; limits: Array<{ from: number; rpm: number }>; requests: number; jitterMs: number; start?: RateState }) {
  const rng = createRng(7);
  let state = opts.start ?? startState({ ceilingRpm: opts.ceilingRpm });
  let sendAt = 0;
  let tokens = 1;
  let lastArrival = 0;
  const log: Array<{ n: number; rpm: number; limit: number; refused: boolean }> = [];
  for (let n = 0; n < opts.requests; n++) {
    const limit = [...opts.limits].reverse().find((l) => n >= l.from)!.rpm;
    const arrival = sendAt + rng.next() * opts.jitterMs;
    tokens = Math.min(1, tokens + ((arrival - lastArrival) * limit) / 60_000);
    lastArrival = arrival;
    const refused = tokens < 1;
    if (!refused) tokens -= 1;
    log.push({ n, rpm: state.rpm, limit, refused });
    state = refused ? afterRateLimited(state, { ceilingRpm: opts.ceilingRpm }) : afterGood(state, { ceilingRpm: opts.ceilingRpm }, true);
    sendAt += intervalMs(state, opts.jitterMs);
  }
  return { log, state };
}

const refusedIn = (log: ReturnType<typeof drive>['log'], from: number, to: number): number => log.slice(from, to).filter((r) => r.refused).length;

describe('the rate learner against a bucket that holds one request', () => {
  it.each([2, 30, 120])('told the true rate (%i per minute): no 429 at all', (limit) => {
    const { log } = drive({ ceilingRpm: limit, limits: [{ from: 0, rpm: limit }], requests: 60, jitterMs: (60_000 / limit) * 0.01 });
    expect(refusedIn(log, 0, 60)).toBe(0);
  });

  it.each([2, 7, 30, 45, 59])('with auto, a limit of %i per minute: at 0.9 of it after 30 requests, then at most one 429 per 20', (limit) => {
    const { log } = drive({ ceilingRpm: 60, limits: [{ from: 0, rpm: limit }], requests: 230, jitterMs: 20 });
    for (const r of log.slice(30)) expect(r.rpm, `request ${r.n}`).toBeGreaterThanOrEqual(0.9 * limit);
    expect(refusedIn(log, 30, 230)).toBeLessThanOrEqual(10);
  });

  it('when the limit halves mid-run, is back under it within 5 429s', () => {
    const { log } = drive({ ceilingRpm: 60, limits: [{ from: 0, rpm: 40 }, { from: 100, rpm: 20 }], requests: 220, jitterMs: 20 });
    // Settled again: the first run of PROBE_EVERY good answers after the change.
    const settledAt = log.findIndex((r, i) => i >= 100 && log.slice(i, i + PROBE_EVERY).every((x) => !x.refused));
    expect(settledAt).toBeGreaterThan(100);
    expect(refusedIn(log, 100, settledAt)).toBeLessThanOrEqual(5);
    // Under it as requests arrive: spaced by the interval plus the margin.
    for (const r of log.slice(settledAt, settledAt + PROBE_EVERY)) expect(r.rpm / (1 + MARGIN)).toBeLessThanOrEqual(20);
    expect(log[settledAt]!.rpm).toBeGreaterThanOrEqual(0.9 * 20);
    expect(refusedIn(log, settledAt, 220)).toBeLessThanOrEqual(5);
  });

  it('carries on from what it learned: a second run starts at the learned rate, without relearning', () => {
    const first = drive({ ceilingRpm: 60, limits: [{ from: 0, rpm: 12 }], requests: 60, jitterMs: 20 });
    const second = drive({ ceilingRpm: 60, limits: [{ from: 0, rpm: 12 }], requests: 20, jitterMs: 20, start: startState(auto, first.state) });
    expect(second.log[0]!.rpm).toBeGreaterThanOrEqual(0.9 * 12);
    expect(refusedIn(second.log, 0, 20)).toBeLessThanOrEqual(1);
  });

  it('pushed far down by a storm of 429s (another client of the integration), finds the limit again in a few probes', () => {
    // The storm left it at 2 per minute with 2.2 refused; Duo's limit is 40.
    const start: RateState = { rpm: 2, lo: 2, hi: 2.2, good: 0, probes: 0 };
    const { log } = drive({ ceilingRpm: 60, limits: [{ from: 0, rpm: 40 }], requests: 260, jitterMs: 20, start });
    const back = log.findIndex((r) => r.rpm >= 0.9 * 40);
    expect(back).toBeGreaterThan(0);
    expect(back).toBeLessThanOrEqual(8 * PROBE_EVERY);
    // The last probe overshoots: a few 429s while the bracket closes in again, then one per PROBE_EVERY.
    expect(refusedIn(log, back, back + PROBE_EVERY)).toBeLessThanOrEqual(5);
    expect(refusedIn(log, back + PROBE_EVERY, 260)).toBeLessThanOrEqual(Math.ceil((260 - back - PROBE_EVERY) / PROBE_EVERY));
  });

  it('without a backlog, never tries a faster rate', () => {
    let s = startState(auto, { rpm: 10, lo: 10, hi: 11 });
    for (let i = 0; i < 100; i++) s = afterGood(s, auto, false);
    expect(s.rpm).toBe(10);
  });
});
