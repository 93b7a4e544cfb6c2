import { describe, expect, it } from 'vitest';
import { createPacer, type Outcome, type Pacer } from '../../../src/duo/pacer.js';
import { MARGIN } from '../../../src/duo/rate-learner.js';

/** A pacer on a fake clock: sleeping moves the clock, nothing else does. */
function fakePacer(ceilingRpm: number, endpoints = 5): { pacer: Pacer; clock: { t: number }; starts: Array<{ path: string; at: number }> } {
  const clock = { t: 1_000_000 };
  const starts: Array<{ path: string; at: number }> = [];
  const pacer = createPacer({
    ceilingRpm,
    endpoints,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.t += ms;
    },
  });
  const acquire = pacer.acquire.bind(pacer);
  pacer.acquire = async (path, signal) => {
    const ticket = await acquire(path, signal);
    starts.push({ path, at: clock.t });
    return ticket;
  };
  return { pacer, clock, starts };
}

const good = (backlog = true, roundTripMs = 50): Outcome => ({ kind: 'good', backlog, roundTripMs });
const limited: Outcome = { kind: 'rate-limited', roundTripMs: 50 };

/** `n` requests to `path`, each answered by `answer(i)` 50 ms after it starts. */
async function send(p: ReturnType<typeof fakePacer>, path: string, n: number, answer: (i: number) => Outcome = () => good()): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ticket = await p.pacer.acquire(path);
    p.clock.t += 50;
    p.pacer.settle(ticket, answer(i));
  }
}

const gaps = (starts: Array<{ at: number }>): number[] => starts.slice(1).map((s, i) => s.at - starts[i]!.at);

describe('the pacer', () => {
  it('never sends faster than the ceiling: starts one interval (and the margin) apart', async () => {
    const p = fakePacer(30);
    await send(p, '/a', 10);
    // The second waits the first round trip (50 ms) more: the first also opened the connection.
    expect(gaps(p.starts)[0]).toBeCloseTo(2000 * (1 + MARGIN) + 50);
    // Then every round trip took 50 ms: no spread, no more margin.
    for (const gap of gaps(p.starts).slice(1)) expect(gap).toBeCloseTo(2000 * (1 + MARGIN));
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 30, hi: null });
  });

  it('adds the spread of recent round trips, so that requests also arrive one interval apart', async () => {
    const p = fakePacer(30);
    // Round trips of 40, 60 and 80 ms: a spread of 40 ms.
    await send(p, '/a', 6, (i) => good(true, [40, 60, 80][i % 3]));
    expect(gaps(p.starts).at(-1)).toBeCloseTo(2000 * (1 + MARGIN) + 40);
    // Never more than 5 % of the interval.
    await send(p, '/a', 3, (i) => good(true, [40, 1000, 40][i]));
    expect(gaps(p.starts).at(-1)).toBeCloseTo(2000 * (1 + MARGIN) + 100);
  });

  it('slows down on a 429 and waits at least one interval of the new rate from the answer', async () => {
    const p = fakePacer(60);
    // Refused before any pace was accepted (two good answers in a row): half the pace.
    await send(p, '/a', 2, (i) => (i === 1 ? limited : good()));
    const answeredAt = p.clock.t;
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 30, hi: 60 });
    await p.pacer.acquire('/a');
    expect(p.clock.t - answeredAt).toBeGreaterThanOrEqual(2000 * (1 + MARGIN));
  });

  it('recovers while answers are good and pages are waiting', async () => {
    const p = fakePacer(60);
    await send(p, '/a', 1, () => limited);
    expect(p.pacer.learned('/a')!.rpm).toBe(30);
    await send(p, '/a', 2);
    // Two good answers at 30 accept it; the pace moves halfway to the refused 60.
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 45, lo: 30, hi: 60 });
  });

  it('does not try a faster pace without a backlog', async () => {
    const p = fakePacer(60);
    await send(p, '/a', 1, () => limited);
    await send(p, '/a', 30, () => good(false));
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 30, lo: 30 });
  });

  it('learns nothing from a request that started late: the collector was busy, not paced', async () => {
    const p = fakePacer(60);
    await send(p, '/a', 1, () => limited);
    for (let i = 0; i < 4; i++) {
      p.clock.t += 10_000;
      const ticket = await p.pacer.acquire('/a');
      p.pacer.settle(ticket, good());
    }
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 30, lo: 0 });
  });

  it('paces each endpoint on its own', async () => {
    const p = fakePacer(30);
    for (let i = 0; i < 4; i++) {
      await send(p, '/a', 1);
      await send(p, '/b', 1);
    }
    const a = p.starts.filter((s) => s.path === '/a');
    for (const gap of gaps(a).slice(1)) expect(gap).toBeCloseTo(2000 * (1 + MARGIN));
    // /b does not wait for /a's interval, only for the integration's (its ceiling is 5 endpoints'
    // ceilings), plus the first round trip, up to 5 % of that interval.
    expect(p.starts[1]!.at - p.starts[0]!.at).toBeCloseTo((60_000 / 150) * (1 + MARGIN) + 20);
  });

  it('charges a 429 at a proven pace to the integration while other endpoints send', async () => {
    const p = fakePacer(60, 2);
    // Both endpoints accepted at 60 per minute…
    for (let i = 0; i < 3; i++) {
      await send(p, '/a', 1);
      await send(p, '/b', 1);
    }
    expect(p.pacer.learned('/a')).toMatchObject({ rpm: 60, lo: 60 });
    // …then /a is refused at it: their shared budget, most likely.
    await send(p, '/a', 1, () => limited);
    expect(p.pacer.integration()!.rpm).toBeLessThan(120);
    expect(p.pacer.integration()!.hi).not.toBeNull();
  });

  it('leaves the integration alone when one endpoint sends alone', async () => {
    const p = fakePacer(60, 2);
    await send(p, '/a', 3);
    await send(p, '/a', 1, () => limited);
    expect(p.pacer.integration()).toEqual({ rpm: 120, lo: 0, hi: null });
  });

  it('starts from what an earlier run learned, within the ceiling, and only before its first request', async () => {
    const p = fakePacer(20);
    p.pacer.seed('/a', { rpm: 12, lo: 12, hi: 13 }, { rpm: 50, lo: 0, hi: null });
    expect(p.pacer.learned('/a')).toEqual({ rpm: 12, lo: 12, hi: 13 });
    expect(p.pacer.integration()).toEqual({ rpm: 50, lo: 0, hi: null });
    p.pacer.seed('/b', { rpm: 45, lo: 45, hi: null }, undefined);
    expect(p.pacer.learned('/b')!.rpm).toBe(20);
    await send(p, '/a', 1);
    p.pacer.seed('/a', { rpm: 2, lo: 2, hi: 3 }, undefined);
    expect(p.pacer.learned('/a')!.rpm).toBe(12);
  });

  it('with an infinite ceiling, neither waits nor learns', async () => {
    const p = fakePacer(Number.POSITIVE_INFINITY);
    await send(p, '/a', 5, () => limited);
    expect(new Set(gaps(p.starts))).toEqual(new Set([50]));
    expect(p.pacer.learned('/a')).toBeUndefined();
  });
});
