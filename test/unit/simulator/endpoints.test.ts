/**
 * Every log endpoint of the simulator over loopback: answer shapes, paging with each stream's cursor,
 * the administrator log's 1000 earliest, and the 404/403/400/429 rules per endpoint.
 */
import { describe, expect, it } from 'vitest';
import { STREAMS, type StreamName } from '../../../src/duo/streams.js';
import { generateDataset, type SimEvent } from '../../../src/simulator/dataset.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/server.js';
import { pageAdministrator, pageStream, readStreamPage, signedGet } from './support.js';
import { simulatorsClosedAfterEach } from '../../support/simulators.js';

const NOW = Date.now();
const HOUR = 3_600_000;
const FROM = NOW - 5 * HOUR;
const TO = NOW - 10 * 60_000;
const BURST_MS = NOW - 3 * HOUR + 123;

const start = simulatorsClosedAfterEach();

const ID_FIELD: Record<Exclude<StreamName, 'administrator'>, string> = {
  telephony: 'telephony_id',
  authentication: 'txid',
  activity: 'activity_id',
  trust_monitor: 'sekey',
};

function inWindow(events: readonly SimEvent[], minMs: number, maxMs: number): SimEvent[] {
  return events.filter((e) => e.tsMicros >= minMs * 1000 && e.tsMicros <= maxMs * 1000);
}

describe('window endpoints page every event once with their own cursor', () => {
  // [stream, limit, a burst larger than the limit in one millisecond]
  const cases: Array<[Exclude<StreamName, 'administrator'>, number]> = [
    ['telephony', 100],
    ['authentication', 90],
    ['activity', 110],
    ['trust_monitor', 40],
  ];
  for (const [stream, limit] of cases) {
    it(`${stream}, limit ${limit}`, async () => {
      const events = generateDataset({ stream, events: 900, seed: 5, fromMs: FROM, toMs: TO, bursts: [{ atMs: BURST_MS, count: 250 }] });
      const sim = await start({ logs: { [stream]: events } });
      const window = { mintimeMs: FROM, maxtimeMs: NOW - 60_000, limit };
      const got = await pageStream(sim, stream, window);
      expect(got.items.map((i) => i[ID_FIELD[stream]])).toEqual(inWindow(events, window.mintimeMs, window.maxtimeMs).map((e) => e.id));
      const cursors = got.cursors.filter((c) => c !== null && c !== undefined);
      expect(cursors.length).toBeGreaterThan(900 / limit - 1);
      for (const c of cursors) {
        if (stream === 'authentication') expect(c).toEqual([expect.stringMatching(/^\d{13}$/), expect.any(String)]);
        else if (stream === 'trust_monitor') expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
        else expect(c).toMatch(/^\d{13},/);
      }
      expect(sim.stats.byStream[stream]).toEqual({ requests: got.requests, itemsServed: got.items.length });
    });
  }

  it('authentication carries total_objects as an integer; the burst alone pages in one millisecond', async () => {
    const events = generateDataset({ stream: 'authentication', events: 1500, seed: 6, fromMs: FROM, toMs: TO, bursts: [{ atMs: BURST_MS, count: 1200 }] });
    const sim = await start({ logs: { authentication: events } });
    const r = await signedGet(sim, { path: STREAMS.authentication.path, params: { mintime: String(FROM), maxtime: String(TO), limit: '5' } });
    const page = readStreamPage('authentication', r.text);
    expect(page.metadata?.['total_objects']).toBe(1500);
    const got = await pageStream(sim, 'authentication', { mintimeMs: BURST_MS, maxtimeMs: BURST_MS + 1, limit: 1000 });
    expect(got.items.map((i) => i['txid'])).toEqual(inWindow(events, BURST_MS, BURST_MS + 1).map((e) => e.id));
    expect(got.items.length).toBeGreaterThanOrEqual(1200);
  });

  it('trust monitor: limit up to 200, 400 above; sort is no parameter there (ascending)', async () => {
    const events = generateDataset({ stream: 'trust_monitor', events: 300, seed: 7, fromMs: FROM, toMs: TO });
    const sim = await start({ logs: { trust_monitor: events } });
    const path = STREAMS.trust_monitor.path;
    const params = { mintime: String(FROM), maxtime: String(TO) };
    const first = readStreamPage('trust_monitor', (await signedGet(sim, { path, params })).text);
    expect(first.items).toHaveLength(50);
    const desc = readStreamPage('trust_monitor', (await signedGet(sim, { path, params: { ...params, limit: '200', sort: 'ts:desc' } })).text);
    expect(desc.items.map((i) => i['sekey'])).toEqual(events.slice(0, 200).map((e) => e.id));
    const r = await signedGet(sim, { path, params: { ...params, limit: '201' } });
    expect([r.status, JSON.parse(r.text)]).toEqual([400, { stat: 'FAIL', code: 40002, message: 'Invalid request parameters', message_detail: 'limit' }]);
    const bad = await signedGet(sim, { path, params: { ...params, offset: `${FROM},SE0` } });
    expect(JSON.parse(bad.text)).toMatchObject({ code: 40002, message_detail: 'offset' });
  });
});

describe('administrator log', () => {
  const second = Math.floor(BURST_MS / 1000);

  it('answers a bare array of the 1000 earliest events at or after mintime (seconds), ascending, maxtime ignored', async () => {
    const events = generateDataset({ stream: 'administrator', events: 1600, seed: 8, fromMs: FROM, toMs: TO, bursts: [{ atMs: BURST_MS, count: 700 }], identicalRate: 0.3 });
    const sim = await start({ logs: { administrator: events } });
    const from = second - 30;
    const r = await signedGet(sim, { path: STREAMS.administrator.path, params: { mintime: String(from), maxtime: String(from + 1) } });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.text) as { stat: string; response: unknown[] };
    expect(body.stat).toBe('OK');
    const want = events.filter((e) => e.tsMicros >= from * 1e6).slice(0, 1000);
    expect(body.response).toEqual(want.map((e) => JSON.parse(e.json) as unknown));
  });

  it('pages a one-second burst with identical events, as a multiset, by moving mintime', async () => {
    const events = generateDataset({ stream: 'administrator', events: 2500, seed: 9, fromMs: FROM, toMs: TO, bursts: [{ atMs: BURST_MS, count: 900 }], identicalRate: 0.4 });
    const sim = await start({ logs: { administrator: events } });
    const got = await pageAdministrator(sim, Math.floor(FROM / 1000));
    const count = (jsons: string[]) => {
      const m = new Map<string, number>();
      for (const j of jsons) m.set(j, (m.get(j) ?? 0) + 1);
      return m;
    };
    const want = events.map((e) => e.json);
    expect(new Set(want).size).toBeLessThan(want.length - 200);
    expect(count(got.items.map((i) => JSON.stringify(i)))).toEqual(count(want));
    expect(got.requests).toBeGreaterThanOrEqual(3);
  });

  it('has no 180-day rule and no required parameter', async () => {
    const sim = await start({ logs: { administrator: generateDataset({ stream: 'administrator', events: 10, seed: 1, fromMs: FROM, toMs: TO }) } });
    const old = await signedGet(sim, { path: STREAMS.administrator.path, params: { mintime: String(Math.floor(NOW / 1000) - 400 * 86_400) } });
    expect(JSON.parse(old.text)).toMatchObject({ stat: 'OK' });
    expect((JSON.parse(old.text) as { response: unknown[] }).response).toHaveLength(10);
    const none = await signedGet(sim, { path: STREAMS.administrator.path, params: {} });
    expect((JSON.parse(none.text) as { response: unknown[] }).response).toHaveLength(10);
    const ms = await signedGet(sim, { path: STREAMS.administrator.path, params: { mintime: String(NOW) } });
    expect([ms.status, JSON.parse(ms.text)]).toEqual([400, { stat: 'FAIL', code: 40002, message: 'Invalid request parameters', message_detail: 'mintime' }]);
  });
});

describe('rules per endpoint', () => {
  const window = { mintime: String(FROM), maxtime: String(TO) };
  const answer = async (sim: Simulator, stream: StreamName, o: Parameters<typeof signedGet>[1] = {}) => {
    const r = await signedGet(sim, { path: STREAMS[stream].path, params: stream === 'administrator' ? { mintime: String(Math.floor(FROM / 1000)) } : window, ...o });
    const body = JSON.parse(r.text) as { code?: number; message?: string };
    return r.status === 200 ? 200 : `${r.status} ${body.code} ${body.message}`;
  };

  it('a stream without data answers 200 with no items; unknown paths and unsupported endpoints 404 40401', async () => {
    const sim = await start({ unsupported: ['trust_monitor'] });
    for (const stream of ['telephony', 'authentication', 'activity', 'administrator'] as const) {
      const r = await signedGet(sim, { path: STREAMS[stream].path, params: stream === 'administrator' ? {} : window });
      expect(readStreamPage(stream, r.text).items).toEqual([]);
    }
    expect(await answer(sim, 'trust_monitor')).toBe('404 40401 Resource not found');
    const r = await signedGet(sim, { path: '/admin/v1/logs/nothing', params: {} });
    expect([r.status, JSON.parse(r.text)]).toEqual([404, { stat: 'FAIL', code: 40401, message: 'Resource not found' }]);
  });

  it('403 40301 on the denied streams only; readTelephony false denies telephony only', async () => {
    const sim = await start({
      integrations: [
        { ikey: 'DIAAAAAAAAAAAAAAAAAA', skey: 'a', permissions: { denied: ['authentication', 'administrator'] } },
        { ikey: 'DIBBBBBBBBBBBBBBBBBB', skey: 'b', permissions: { readTelephony: false } },
      ],
    });
    const b = { ikey: 'DIBBBBBBBBBBBBBBBBBB', skey: 'b' };
    const forbidden = '403 40301 Access forbidden';
    expect(await answer(sim, 'authentication')).toBe(forbidden);
    expect(await answer(sim, 'administrator')).toBe(forbidden);
    expect(await answer(sim, 'telephony')).toBe(200);
    expect(await answer(sim, 'trust_monitor')).toBe(200);
    expect(await answer(sim, 'telephony', b)).toBe(forbidden);
    expect(await answer(sim, 'authentication', b)).toBe(200);
  });

  it('400 for maxtime not after mintime and the 180-day rule on every window endpoint; signatures checked everywhere', async () => {
    const sim = await start();
    for (const stream of ['telephony', 'authentication', 'activity', 'trust_monitor'] as const) {
      const path = STREAMS[stream].path;
      const r = await signedGet(sim, { path, params: { mintime: window.maxtime, maxtime: window.mintime } });
      expect(JSON.parse(r.text)).toEqual({ stat: 'FAIL', code: 40002, message: 'Invalid request parameters', message_detail: 'maxtime must be greater than mintime' });
      const old = await signedGet(sim, { path, params: { mintime: String(NOW - 181 * 86_400_000), maxtime: window.maxtime } });
      expect(JSON.parse(old.text)).toMatchObject({ code: 40002, message_detail: 'mintime must be within the past 180 days' });
      expect(await answer(sim, stream, { skey: 'wrong' })).toBe('401 40103 Invalid signature in request credentials');
      expect(await answer(sim, stream, { version: 5 })).toBe(200);
    }
    expect(await answer(sim, 'administrator', { skey: 'wrong' })).toBe('401 40103 Invalid signature in request credentials');
    // The administrator log signs what is sent, a maxtime it ignores included.
    const adminParams = { mintime: '1700000000', maxtime: '1700000100' };
    expect(await answer(sim, 'administrator', { params: adminParams, version: 5 })).toBe(200);
    expect(await answer(sim, 'administrator', { params: adminParams, signedParams: { mintime: '1700000000' } })).toBe('401 40103 Invalid signature in request credentials');
  });

  it('one token bucket per integration and endpoint; rpmByStream overrides one endpoint', async () => {
    const sim = await start({ rpm: 60, burst: 2, rpmByStream: { administrator: 0, activity: 6000 } });
    const statuses = async (stream: StreamName, n: number) => {
      const out: Array<number | string> = [];
      for (let i = 0; i < n; i++) out.push(await answer(sim, stream));
      return out;
    };
    expect(await statuses('telephony', 3)).toEqual([200, 200, '429 42901 Too Many Requests']);
    // Another endpoint has a bucket of its own.
    expect(await statuses('authentication', 3)).toEqual([200, 200, '429 42901 Too Many Requests']);
    expect(await statuses('administrator', 5)).toEqual([200, 200, 200, 200, 200]);
    expect((await statuses('activity', 3)).slice(0, 2)).toEqual([200, 200]);
    expect(sim.stats.byStream.telephony.requests).toBe(3);
  });

  it('a bucket holds one request by default, and setRateLimit changes the limit of a running simulator', async () => {
    const sim = await start({ rpm: 60 });
    const statuses: Array<number | string> = [];
    const onResponse: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push(await answer(sim, 'telephony'));
    // One request at a time: the second, right after the first, comes too early.
    expect(statuses).toEqual([200, '429 42901 Too Many Requests']);
    // Unlimited from now on, then limited again with room for three.
    sim.setRateLimit({ rpm: 0 });
    for (let i = 0; i < 4; i++) expect(await answer(sim, 'telephony')).toBe(200);
    sim.setRateLimit({ rpm: 1, burst: 3 });
    expect(await answer(sim, 'authentication')).toBe(200);
    expect(() => sim.setRateLimit({ rpm: -1 })).toThrow(RangeError);
    expect(() => sim.setRateLimit({ rpmByStream: { nope: 1 } as never })).toThrow(RangeError);
    const watched = await start({ rpm: 60, onResponse: (status) => onResponse.push(status) });
    await answer(watched, 'telephony');
    await answer(watched, 'telephony');
    expect(onResponse).toEqual([200, 429]);
  });

  it('faults hit every endpoint; eventsOf and addEvents per stream', async () => {
    const sim = await start({ faults: { rate500: 1 } });
    for (const stream of ['authentication', 'trust_monitor', 'administrator'] as const) expect(await answer(sim, stream)).toBe('500 50001 Internal server error');
    sim.setFaults({});
    const more = generateDataset({ stream: 'activity', events: 20, seed: 3, fromMs: FROM, toMs: TO });
    sim.addEvents(more, 'activity');
    expect(sim.eventsOf('activity')).toHaveLength(20);
    expect(sim.events).toHaveLength(0);
    const got = await pageStream(sim, 'activity', { mintimeMs: FROM, maxtimeMs: TO, limit: 1000 });
    expect(got.items).toHaveLength(20);
  });

  it('refuses options that name no stream, or data generated for another stream', async () => {
    await expect(startSimulator({ logs: { nope: [] } as unknown as SimulatorOptions['logs'] })).rejects.toThrow(RangeError);
    await expect(startSimulator({ unsupported: ['x' as StreamName] })).rejects.toThrow(/not a Duo log stream/);
    await expect(startSimulator({ logs: { activity: { stream: 'authentication', events: 1, seed: 1, fromMs: FROM, toMs: TO } } })).rejects.toThrow(/for the stream authentication/);
  });
});
