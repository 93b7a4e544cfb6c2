/**
 * Benchmark-ish checks: a million-event data set is generated in seconds, and a 1000-item page from it
 * costs the server no more than a page from a data set fifty times smaller, measured in the same run
 * (a page that scanned the data set would cost fifty times more; absolute milliseconds would only
 * measure how loaded the machine is); the same with every misbehaviour on, at 300,000 against 20,000.
 * The measured numbers are printed.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateDataset, type SimEvent } from '../../src/simulator/dataset.js';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { parseBody, signedGet } from '../unit/simulator/support.js';

const NOW = Date.now();
const DAY = 86_400_000;
let events: SimEvent[] = [];
let sim: Simulator | undefined;
let misbehaving: Simulator | undefined;

afterAll(async () => {
  await sim?.close();
  await misbehaving?.close();
});

describe('simulator performance', () => {
  it('generates 1,000,000 events in a few seconds', () => {
    const heapBefore = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    events = generateDataset({ events: 1_000_000, seed: 1, fromMs: NOW - 30 * DAY, toMs: NOW - 600_000, bursts: [{ atMs: NOW - DAY, count: 5000 }] });
    const ms = performance.now() - t0;
    const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 1e6;
    console.log(`generateDataset(1,000,000): ${ms.toFixed(0)} ms, ~${heapMb.toFixed(0)} MB heap`);
    expect(events).toHaveLength(1_000_000);
    expect(ms).toBeLessThan(15_000);
  });

  it('serves a 1000-item page from it as cheaply as from a data set fifty times smaller', async () => {
    const tStart = performance.now();
    sim = await startSimulator({ events });
    console.log(`startSimulator with 1,000,000 events: ${(performance.now() - tStart).toFixed(0)} ms`);
    const s = sim;
    const durations: number[] = [];
    // Walk 150 pages from random points of the month, each a cursor continuation like a collector's.
    for (let i = 0; i < 150; i++) {
      const anchor = events[Math.floor((i / 150) * (events.length - 2000))]!;
      const params = {
        mintime: String(NOW - 30 * DAY + 1),
        maxtime: String(NOW - 60_000),
        limit: '1000',
        sort: 'ts:asc',
        next_offset: `${Math.floor(anchor.tsMicros / 1000)},${anchor.id}`,
      };
      const t0 = performance.now();
      const r = await signedGet(s, { params });
      durations.push(performance.now() - t0);
      expect(r.status).toBe(200);
      if (i === 0) expect(parseBody(r).response!.items).toHaveLength(1000);
    }
    durations.sort((a, b) => a - b);
    const p50 = durations[Math.floor(durations.length / 2)]!;
    const p95 = durations[Math.floor(durations.length * 0.95)]!;
    const serverMs = s.stats.handlerMs / s.stats.requests;
    const smallMs = await smallDataSetMs(2, {});
    console.log(
      `1000-item pages: server ${serverMs.toFixed(2)} ms per request (${smallMs.toFixed(2)} ms from 20,000 events); round trip with client signing and HTTP p50 ${p50.toFixed(2)} ms, p95 ${p95.toFixed(2)} ms`,
    );
    // The server's own work is what this bounds; the round trip also pays for the client in the same process.
    expect(serverMs / smallMs).toBeLessThan(5);
  });

  it('stays as fast with every event published late, ids missing and every misbehaviour on', async () => {
    await sim?.close();
    sim = undefined;
    events = [];
    const t0 = performance.now();
    const late = generateDataset({
      events: 300_000,
      seed: 2,
      fromMs: NOW - 30 * DAY,
      toMs: NOW + 600_000,
      lateness: { maxDelayMs: 600_000 },
      missingIdRate: 0.01,
    });
    const ms = performance.now() - t0;
    console.log(`generateDataset(300,000) with lateness and missing ids: ${ms.toFixed(0)} ms`);
    expect(late).toHaveLength(300_000);
    expect(ms).toBeLessThan(15_000);

    misbehaving = await startSimulator({
      events: late,
      misbehaviour: MISBEHAVING,
    });
    const s = misbehaving;
    // One window of a month up to the minutes whose events have not all arrived yet: counting those
    // must not cost a scan of the month.
    for (let i = 0; i < 100; i++) {
      const anchor = late[Math.floor((0.05 + (i / 100) * 0.9) * late.length)]!;
      const params = {
        mintime: String(NOW - 29 * DAY),
        maxtime: String(NOW),
        limit: '1000',
        sort: 'ts:asc',
        next_offset: `${Math.floor(anchor.tsMicros / 1000)},${anchor.id}`,
      };
      const r = await signedGet(s, { params });
      expect(r.status).toBe(200);
    }
    const serverMs = s.stats.handlerMs / s.stats.requests;
    const smallMs = await smallDataSetMs(3, { lateness: { maxDelayMs: 600_000 }, missingIdRate: 0.01 }, MISBEHAVING);
    console.log(`1000-item pages, misbehaving: server ${serverMs.toFixed(2)} ms per request (${smallMs.toFixed(2)} ms from 20,000 events); misbehaviour ${JSON.stringify(s.stats.misbehaviour)}`);
    for (const kind of ['rewind', 'cycle', 'repeat', 'outOfOrder', 'beyondMaxtime', 'missingId'] as const) expect(s.stats.misbehaviour[kind]).toBeGreaterThan(0);
    expect(serverMs / smallMs).toBeLessThan(5);
  });
});

const MISBEHAVING = { seed: 1, rewindRate: 0.2, cycleRate: 0.1, repeatRate: 0.1, outOfOrderRate: 0.3, beyondMaxtimeRate: 0.3 };

/** The server's time per 1000-item page from a data set of 20,000 events over the same month, the same way. */
async function smallDataSetMs(seed: number, extra: Partial<Parameters<typeof generateDataset>[0]>, misbehaviour?: typeof MISBEHAVING): Promise<number> {
  const small = generateDataset({ events: 20_000, seed, fromMs: NOW - 30 * DAY, toMs: NOW - 600_000, ...extra });
  const s = await startSimulator({ events: small, ...(misbehaviour ? { misbehaviour } : {}) });
  try {
    for (let i = 0; i < 100; i++) {
      const anchor = small[Math.floor((0.05 + (i / 100) * 0.85) * small.length)]!;
      const params = { mintime: String(NOW - 30 * DAY + 1), maxtime: String(NOW), limit: '1000', sort: 'ts:asc', next_offset: `${Math.floor(anchor.tsMicros / 1000)},${anchor.id}` };
      expect((await signedGet(s, { params })).status).toBe(200);
    }
    return s.stats.handlerMs / s.stats.requests;
  } finally {
    await s.close();
  }
}
