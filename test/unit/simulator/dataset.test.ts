import { describe, expect, it } from 'vitest';
import { compareEvents, createSimEvent, formatTs, generateDataset, type DatasetOptions, type SimEvent } from '../../../src/simulator/dataset.js';
import { createRng } from '../../../src/simulator/rng.js';
import { parseTsMicros } from '../../../src/duo/ts.js';

const FROM = Date.UTC(2024, 4, 6, 0, 0, 0); // a Monday
const TO = FROM + 7 * 86_400_000;
const base: DatasetOptions = { events: 20_000, seed: 42, fromMs: FROM, toMs: TO };

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{6})?\+00:00$/;

describe('createRng', () => {
  it('repeats the same sequence for the same seed and differs for another', () => {
    const a = createRng(7);
    const b = createRng(7);
    const c = createRng(8);
    const seqA = Array.from({ length: 20 }, () => a.u32());
    expect(Array.from({ length: 20 }, () => b.u32())).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c.u32())).not.toEqual(seqA);
  });

  it('stays in range', () => {
    const r = createRng(1);
    for (let i = 0; i < 10_000; i++) {
      const x = r.next();
      const y = r.next53();
      const n = r.int(7);
      expect(x >= 0 && x < 1 && y >= 0 && y < 1 && n >= 0 && n < 7 && Number.isInteger(n)).toBe(true);
    }
  });
});

describe('generateDataset', () => {
  const events = generateDataset({ ...base, bursts: [{ atMs: FROM + 3 * 86_400_000 + 5, count: 2500 }] });

  it('is deterministic by seed', () => {
    const again = generateDataset({ ...base, bursts: [{ atMs: FROM + 3 * 86_400_000 + 5, count: 2500 }] });
    expect(again.map((e) => e.json)).toEqual(events.map((e) => e.json));
    const other = generateDataset({ ...base, seed: 43 });
    expect(other[0]?.json).not.toEqual(events[0]?.json);
  });

  it('has exactly `events` events, sorted by (tsMicros, id), unique ids', () => {
    expect(events).toHaveLength(base.events);
    let unordered = 0;
    for (let i = 1; i < events.length; i++) if (compareEvents(events[i - 1]!, events[i]!) >= 0) unordered++;
    expect(unordered).toBe(0);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('keeps background events inside [fromMs, toMs)', () => {
    const outside = events.filter((e) => e.tsMicros < FROM * 1000 || e.tsMicros >= TO * 1000);
    expect(outside).toHaveLength(0);
  });

  it('puts a burst inside one millisecond, distinct microseconds first', () => {
    const atMs = FROM + 3 * 86_400_000 + 5;
    const inMs = events.filter((e) => Math.floor(e.tsMicros / 1000) === atMs);
    expect(inMs.length).toBeGreaterThanOrEqual(2500);
    expect(new Set(inMs.map((e) => e.tsMicros)).size).toBe(1000);
    expect(new Set(inMs.map((e) => e.id)).size).toBe(inMs.length);
  });

  it('uses distinct microseconds for a burst below 1000', () => {
    const small = generateDataset({ events: 300, seed: 3, fromMs: FROM, toMs: TO, bursts: [{ atMs: FROM + 1000, count: 300 }] });
    expect(new Set(small.map((e) => e.tsMicros)).size).toBe(300);
    expect(small.every((e) => Math.floor(e.tsMicros / 1000) === FROM + 1000)).toBe(true);
  });

  it('serialises realistic items in Duo key order, ts matching tsMicros', () => {
    const contexts = new Map<string, number>();
    const countries = new Set<string>();
    const txids = new Map<string, number>();
    let calls = 0;
    const KEYS = 'context,credits,phone,telephony_id,ts,txid,type';
    const bad: string[] = [];
    for (const e of events) {
      const item = JSON.parse(e.json) as Record<string, unknown>;
      // Plain checks in the loop, one assertion after it: 20,000 expect() calls would dominate the test.
      const ok =
        Object.keys(item).join(',') === KEYS &&
        item['telephony_id'] === e.id &&
        UUID_V4.test(e.id) &&
        UUID_V4.test(String(item['txid'])) &&
        TS.test(String(item['ts'])) &&
        parseTsMicros(item['ts']) === e.tsMicros &&
        /^\+[1-9]\d{9,13}$/.test(String(item['phone'])) &&
        [0, 1, 2, 3].includes(item['credits'] as number) &&
        ['sms', 'phone'].includes(String(item['type']));
      if (!ok) bad.push(e.json);
      contexts.set(String(item['context']), (contexts.get(String(item['context'])) ?? 0) + 1);
      countries.add(String(item['phone']).slice(0, 3));
      txids.set(String(item['txid']), (txids.get(String(item['txid'])) ?? 0) + 1);
      if (item['type'] === 'phone') calls++;
    }
    expect(bad.slice(0, 3)).toEqual([]);
    expect([...contexts.keys()].sort()).toEqual(['administrator login', 'authentication', 'enrollment', 'verify']);
    expect(contexts.get('authentication')! / events.length).toBeGreaterThan(0.7);
    expect(countries.size).toBeGreaterThanOrEqual(4);
    expect(calls).toBeGreaterThan(0);
    expect([...txids.values()].some((n) => n > 1)).toBe(true);
    expect(txids.size).toBeGreaterThan(events.length / 2);
  });

  it('omits the fraction of an event on a whole second', () => {
    const ds = generateDataset({ events: 1000, seed: 5, fromMs: 0, toMs: 0, bursts: [{ atMs: FROM, count: 1000 }] });
    const whole = ds.filter((e) => !(JSON.parse(e.json) as { ts: string }).ts.includes('.'));
    expect(whole.map((e) => e.tsMicros)).toEqual([FROM * 1000]);
  });

  it('charges calls more than texts on average', () => {
    let sms = 0;
    let smsN = 0;
    let phone = 0;
    let phoneN = 0;
    for (const e of events) {
      const item = JSON.parse(e.json) as { credits: number; type: string };
      if (item.type === 'sms') {
        sms += item.credits;
        smsN++;
      } else {
        phone += item.credits;
        phoneN++;
      }
    }
    expect(phone / phoneN).toBeGreaterThan(sms / smsN);
  });

  it('is busier in office hours than at night, on weekdays than at weekends', () => {
    const byHour = new Array<number>(24).fill(0);
    let weekend = 0;
    for (const e of events) {
      const d = new Date(e.tsMicros / 1000);
      byHour[d.getUTCHours()]!++;
      if (d.getUTCDay() === 0 || d.getUTCDay() === 6) weekend++;
    }
    expect(byHour[15]!).toBeGreaterThan(2 * byHour[8]!);
    expect(weekend / events.length).toBeLessThan(2 / 7);
  });

  it('makes late events visible only delayMs after their ts', () => {
    const ds = generateDataset({ ...base, events: 2000, late: { count: 50, delayMs: 90_000 } });
    const late = ds.filter((e) => e.visibleAtMs !== Math.floor(e.tsMicros / 1000));
    expect(late).toHaveLength(50);
    for (const e of late) expect(e.visibleAtMs).toBe(Math.floor(e.tsMicros / 1000) + 90_000);
    const allLate = generateDataset({ ...base, events: 100, late: { count: 100, delayMs: 1 } });
    expect(allLate.every((e) => e.visibleAtMs === Math.floor(e.tsMicros / 1000) + 1)).toBe(true);
  });

  describe('lateness: events published late by a random amount', () => {
    const plain = generateDataset({ ...base, events: 20_000 });
    const delayOf = (e: SimEvent) => e.visibleAtMs - Math.floor(e.tsMicros / 1000);

    it('delays every event uniformly from 0 to maxDelayMs, deterministically by seed, leaving the items as they were', () => {
      const opts: DatasetOptions = { ...base, events: 20_000, lateness: { maxDelayMs: 600_000 } };
      const ds = generateDataset(opts);
      expect(ds.map((e) => e.json)).toEqual(plain.map((e) => e.json));
      expect(generateDataset(opts).map((e) => e.visibleAtMs)).toEqual(ds.map((e) => e.visibleAtMs));
      expect(generateDataset({ ...opts, seed: 43 }).map(delayOf).slice(0, 10)).not.toEqual(ds.map(delayOf).slice(0, 10));
      const delays = ds.map(delayOf);
      expect(delays.every((d) => Number.isInteger(d) && d >= 0 && d <= 600_000)).toBe(true);
      // Uniform: each tenth of the range holds about a tenth of the events, the mean is about half the range.
      const tenths = new Array<number>(10).fill(0);
      for (const d of delays) tenths[Math.min(9, Math.floor(d / 60_000))]!++;
      for (const n of tenths) expect(n / delays.length).toBeGreaterThan(0.08);
      for (const n of tenths) expect(n / delays.length).toBeLessThan(0.12);
      expect(delays.reduce((a, b) => a + b, 0) / delays.length).toBeCloseTo(300_000, -4);
    });

    it('delays only a fraction of events with rate, and keeps the fixed `late` option: the later of the two wins', () => {
      const some = generateDataset({ ...base, events: 20_000, lateness: { maxDelayMs: 60_000, rate: 0.25 } });
      const delayed = some.filter((e) => delayOf(e) > 0).length / some.length;
      expect(delayed).toBeGreaterThan(0.22);
      expect(delayed).toBeLessThan(0.28);
      expect(generateDataset({ ...base, events: 1000, lateness: { maxDelayMs: 60_000, rate: 0 } }).every((e) => delayOf(e) === 0)).toBe(true);

      const fixedOnly = generateDataset({ ...base, events: 2000, late: { count: 300, delayMs: 30_000 } });
      const both = generateDataset({ ...base, events: 2000, late: { count: 300, delayMs: 30_000 }, lateness: { maxDelayMs: 60_000 } });
      const randomOnly = generateDataset({ ...base, events: 2000, lateness: { maxDelayMs: 60_000 } });
      // Turning lateness on does not change which events `late` picks, and the other way round.
      expect(both.map(delayOf)).toEqual(fixedOnly.map((e, i) => Math.max(delayOf(e), delayOf(randomOnly[i]!))));
      expect(fixedOnly.filter((e) => delayOf(e) === 30_000)).toHaveLength(300);
    });
  });

  describe('missingIdRate: events without telephony_id', () => {
    it('leaves the field out of about that fraction of items, and changes nothing else', () => {
      const plain = generateDataset({ ...base, events: 10_000 });
      const ds = generateDataset({ ...base, events: 10_000, missingIdRate: 0.1 });
      const without = ds.filter((e) => e.missingId === true);
      expect(without.length / ds.length).toBeGreaterThan(0.08);
      expect(without.length / ds.length).toBeLessThan(0.12);
      expect(ds.filter((e) => e.missingId !== true).every((e) => !('missingId' in e))).toBe(true);
      for (const [i, e] of ds.entries()) {
        const item = JSON.parse(e.json) as Record<string, unknown>;
        const before = JSON.parse(plain[i]!.json) as Record<string, unknown>;
        // The internal id is the one the item would have carried: order and cursors do not move.
        expect(e.id).toBe(plain[i]!.id);
        if (e.missingId) {
          expect('telephony_id' in item).toBe(false);
          delete before['telephony_id'];
        }
        expect(item).toEqual(before);
        if (i > 200) break;
      }
      expect(without.every((e) => !e.json.includes('telephony_id'))).toBe(true);
      expect(ds.filter((e) => !e.missingId).every((e) => e.json.includes(`"telephony_id":"${e.id}"`))).toBe(true);
      expect(generateDataset({ ...base, events: 10_000, missingIdRate: 0.1 }).map((e) => e.missingId === true)).toEqual(ds.map((e) => e.missingId === true));
    });

    it('by hand: createSimEvent({ missingId: true })', () => {
      const e = createSimEvent({ tsMicros: 1_700_000_000_000_500, id: 'internal-1', missingId: true });
      expect(e.missingId).toBe(true);
      expect(e.id).toBe('internal-1');
      expect(Object.keys(JSON.parse(e.json) as object)).toEqual(['context', 'credits', 'phone', 'ts', 'txid', 'type']);
      expect(createSimEvent({ tsMicros: 1, id: 'x', missingId: false }).missingId).toBeUndefined();
    });
  });

  it('rejects impossible options', () => {
    expect(() => generateDataset({ ...base, events: -1 })).toThrow(RangeError);
    expect(() => generateDataset({ ...base, events: 1.5 })).toThrow(RangeError);
    expect(() => generateDataset({ ...base, toMs: FROM })).toThrow(/toMs/);
    expect(() => generateDataset({ ...base, events: 10, bursts: [{ atMs: FROM, count: 11 }] })).toThrow(/bursts/);
    expect(() => generateDataset({ ...base, events: 10, late: { count: 11, delayMs: 1 } })).toThrow(/late/);
    expect(() => generateDataset({ ...base, events: 10, lateness: { maxDelayMs: -1 } })).toThrow(/lateness\.maxDelayMs/);
    expect(() => generateDataset({ ...base, events: 10, lateness: { maxDelayMs: 1.5 } })).toThrow(/lateness\.maxDelayMs/);
    expect(() => generateDataset({ ...base, events: 10, lateness: { maxDelayMs: 1000, rate: 1.1 } })).toThrow(/lateness\.rate/);
    expect(() => generateDataset({ ...base, events: 10, missingIdRate: Number.NaN })).toThrow(/missingIdRate/);
    // Only a burst: no background range needed.
    expect(generateDataset({ events: 5, seed: 1, fromMs: 0, toMs: 0, bursts: [{ atMs: FROM, count: 5 }] })).toHaveLength(5);
    expect(generateDataset({ ...base, events: 0 })).toEqual([]);
  });
});

describe('formatTs and createSimEvent', () => {
  it('writes microseconds, and no fraction when they are zero', () => {
    expect(formatTs(Date.UTC(2023, 2, 21, 22, 34, 49) * 1000 + 466_370)).toBe('2023-03-21T22:34:49.466370+00:00');
    expect(formatTs(Date.UTC(2023, 2, 21, 22, 34, 49) * 1000)).toBe('2023-03-21T22:34:49+00:00');
    expect(formatTs(Date.UTC(2023, 2, 21, 22, 34, 49) * 1000 + 7)).toBe('2023-03-21T22:34:49.000007+00:00');
  });

  it('builds an event with extra fields after the known ones', () => {
    const e = createSimEvent({ tsMicros: 1_700_000_000_000_500, id: 'abc', extra: { new_field: 1 } });
    expect(JSON.parse(e.json)).toEqual({
      context: 'authentication',
      credits: 1,
      phone: '+12125550100',
      telephony_id: 'abc',
      ts: '2023-11-14T22:13:20.000500+00:00',
      txid: 'abc',
      type: 'sms',
      new_field: 1,
    });
    expect(e.visibleAtMs).toBe(1_700_000_000_000);
  });
});
