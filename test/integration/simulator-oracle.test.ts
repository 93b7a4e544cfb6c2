/**
 * Oracle: Duo's official Node client (`@duosecurity/duo_api`) must be accepted by the simulator with
 * signature version 2 and 5, and rejected with 40103 when its secret key is wrong. The client signs
 * independently of src/duo/sign.ts (its own canonicalisation, `toUTCString()` dates, a query string
 * from `querystring.stringify` that differs from the canonical one), so passing here shows the
 * simulator checks signatures the way Duo does, not merely the way our signer writes them.
 *
 * Then the same client pages every other log endpoint with the parameters Duo documents for it
 * (authentication's array cursor sent back joined, the trust monitor's `offset`, the administrator
 * log's `mintime` in seconds) and must get each endpoint's documented shape and every event once.
 *
 * The client only speaks HTTPS to `host` on port 443 with a pinned CA; its `https.request` is
 * redirected to the simulator's plain HTTP port, keeping its headers (Host included) untouched.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRequire } from 'node:module';
import http from 'node:http';
import type https from 'node:https';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { generateDataset, type SimEvent } from '../../src/simulator/dataset.js';
import { STREAMS, type StreamName } from '../../src/duo/streams.js';

const require = createRequire(import.meta.url);

interface DuoResponse {
  stat: string;
  code?: number;
  message?: string;
  message_detail?: string;
  response?: { items: Array<Record<string, unknown>>; metadata: { next_offset?: string | null } };
}

type Item = Record<string, unknown>;

/** What the other endpoints answer: each its own `response`. */
interface AnyResponse {
  stat: string;
  code?: number;
  response?: unknown;
}

interface DuoClient {
  jsonApiCall(method: string, path: string, params: Record<string, string>, callback: (res: DuoResponse) => void): void;
  apiCall(method: string, path: string, params: Record<string, string>, callback: (body: string) => void): void;
}

interface DuoApiModule {
  Client: new (ikey: string, skey: string, host: string, sigVersion?: number) => DuoClient;
  SIGNATURE_VERSION_2: number;
  SIGNATURE_VERSION_5: number;
}

const duoApi = require('@duosecurity/duo_api') as DuoApiModule;
// The same module object the CommonJS client gets from require('https').
const httpsModule = require('node:https') as typeof https;

const NOW = Date.now();
const HOUR = 3_600_000;
let sim: Simulator;

function call(client: DuoClient, params: Record<string, string>): Promise<DuoResponse> {
  return new Promise((resolve) => client.jsonApiCall('GET', '/admin/v2/logs/telephony', params, resolve));
}

function callPath(client: DuoClient, path: string, params: Record<string, string>): Promise<AnyResponse> {
  return new Promise((resolve) => client.jsonApiCall('GET', path, params, resolve as (res: DuoResponse) => void));
}

const BURST_MS = NOW - 3 * HOUR + 456;
/** Every stream but telephony, each with a burst beyond its largest page in one ms (administrator: one second, with copies). */
const LOGS = {
  authentication: generateDataset({ stream: 'authentication', events: 3000, seed: 21, fromMs: NOW - 5 * HOUR, toMs: NOW - 10 * 60_000, bursts: [{ atMs: BURST_MS, count: 1200 }] }),
  activity: generateDataset({ stream: 'activity', events: 1500, seed: 22, fromMs: NOW - 5 * HOUR, toMs: NOW - 10 * 60_000, bursts: [{ atMs: BURST_MS, count: 1100 }] }),
  trust_monitor: generateDataset({ stream: 'trust_monitor', events: 700, seed: 23, fromMs: NOW - 5 * HOUR, toMs: NOW - 10 * 60_000, bursts: [{ atMs: BURST_MS, count: 450 }] }),
  administrator: generateDataset({
    stream: 'administrator',
    events: 2600,
    seed: 24,
    fromMs: NOW - 5 * HOUR,
    toMs: NOW - 10 * 60_000,
    bursts: [{ atMs: BURST_MS, count: 800 }],
    identicalRate: 0.3,
  }),
} satisfies Partial<Record<StreamName, SimEvent[]>>;

beforeAll(async () => {
  sim = await startSimulator({
    events: { events: 2500, seed: 4, fromMs: NOW - 5 * HOUR, toMs: NOW - 10 * 60_000, bursts: [{ atMs: NOW - 2 * HOUR, count: 600 }] },
    lastPageCursor: 'absent',
    logs: LOGS,
  });
  const port = sim.port;
  vi.spyOn(httpsModule, 'request').mockImplementation(((options: https.RequestOptions, callback?: (res: http.IncomingMessage) => void) => {
    const { host: _host, ca: _ca, ...rest } = options;
    return http.request({ ...rest, host: '127.0.0.1', port }, callback);
  }) as unknown as typeof https.request);
});

afterAll(async () => {
  vi.restoreAllMocks();
  await sim.close();
});

describe("Duo's official Node client against the simulator", () => {
  const window = { mintime: String(NOW - 4 * HOUR), maxtime: String(NOW - 60_000) };

  for (const [label, version] of [
    ['v2', 2],
    ['v5', 5],
  ] as const) {
    it(`is accepted with signature ${label} and pages to the end`, async () => {
      const { ikey, skey } = sim.integrations[0]!;
      const client = new duoApi.Client(ikey, skey, sim.apiHost, version === 2 ? duoApi.SIGNATURE_VERSION_2 : duoApi.SIGNATURE_VERSION_5);
      const ids: string[] = [];
      let nextOffset: string | null | undefined;
      let requests = 0;
      do {
        // next_offset carries a comma; sort a colon: both must survive the client's own URL encoding.
        const res = await call(client, { ...window, limit: '1000', sort: 'ts:asc', ...(nextOffset && { next_offset: nextOffset }) });
        requests++;
        expect(res.stat, JSON.stringify(res)).toBe('OK');
        for (const item of res.response!.items) ids.push(String(item['telephony_id']));
        nextOffset = res.response!.metadata.next_offset;
      } while (nextOffset);
      const want = sim.events.filter((e) => e.tsMicros >= Number(window.mintime) * 1000 && e.tsMicros <= Number(window.maxtime) * 1000).map((e) => e.id);
      expect(want.length).toBeGreaterThan(1000);
      expect(ids).toEqual(want);
      expect(requests).toBe(Math.ceil(want.length / 1000));
    });
  }

  it('is rejected with 40103 when its secret key is wrong, for v2 and v5', async () => {
    const { ikey } = sim.integrations[0]!;
    for (const version of [duoApi.SIGNATURE_VERSION_2, duoApi.SIGNATURE_VERSION_5]) {
      const client = new duoApi.Client(ikey, 'not-the-secret-key-0000000000000000000000', sim.apiHost, version);
      const res = await call(client, window);
      expect(res).toEqual({ stat: 'FAIL', code: 40103, message: 'Invalid signature in request credentials' });
    }
  });

  it('gets 40102 for an unknown integration key and 400 for a bad window', async () => {
    const { skey } = sim.integrations[0]!;
    const stranger = new duoApi.Client('DIUNKNOWNUNKNOWNUNKN', skey, sim.apiHost);
    expect((await call(stranger, window)).code).toBe(40102);
    const { ikey } = sim.integrations[0]!;
    const client = new duoApi.Client(ikey, skey, sim.apiHost);
    expect(await call(client, { mintime: window.maxtime, maxtime: window.mintime })).toEqual({
      stat: 'FAIL',
      code: 40002,
      message: 'Invalid request parameters',
      message_detail: 'maxtime must be greater than mintime',
    });
  });
});

describe("Duo's official Node client pages every other log endpoint", () => {
  const mintimeMs = NOW - 4 * HOUR;
  const maxtimeMs = NOW - 60_000;
  const client = (version: number) => {
    const { ikey, skey } = sim.integrations[0]!;
    return new duoApi.Client(ikey, skey, sim.apiHost, version);
  };
  const want = (events: readonly SimEvent[]) => events.filter((e) => e.tsMicros >= mintimeMs * 1000 && e.tsMicros <= maxtimeMs * 1000).map((e) => e.id);

  // [stream, its items field, its id, its largest page, the parameter the cursor goes back in]
  const cases = [
    ['authentication', 'authlogs', 'txid', 1000, 'next_offset'],
    ['activity', 'items', 'activity_id', 1000, 'next_offset'],
    ['trust_monitor', 'events', 'sekey', 200, 'offset'],
  ] as const;
  for (const [stream, field, idField, limit, cursorParam] of cases) {
    for (const version of [duoApi.SIGNATURE_VERSION_2, duoApi.SIGNATURE_VERSION_5]) {
      it(`${stream}, signature v${version}: every event once, in order, with the documented cursor`, async () => {
        const ids: string[] = [];
        let cursor: string | undefined;
        let requests = 0;
        for (;;) {
          const params: Record<string, string> = {
            mintime: String(mintimeMs),
            maxtime: String(maxtimeMs),
            limit: String(limit),
            ...(stream !== 'trust_monitor' && { sort: 'ts:asc' }),
            ...(cursor !== undefined && { [cursorParam]: cursor }),
          };
          const res = await callPath(client(version), STREAMS[stream].path, params);
          requests++;
          expect(res.stat, JSON.stringify(res).slice(0, 300)).toBe('OK');
          const response = res.response as Record<string, unknown>;
          const items = response[field] as Item[];
          expect(Array.isArray(items)).toBe(true);
          for (const item of items) ids.push(String(item[idField]));
          const metadata = response['metadata'] as { next_offset?: unknown; total_objects?: unknown };
          const next = metadata.next_offset;
          if (stream === 'authentication') {
            expect(Number.isInteger(metadata.total_objects)).toBe(true);
            // A 2-element array, sent back as one comma-joined string.
            if (next !== null && next !== undefined) expect(next).toEqual([expect.stringMatching(/^\d{13}$/), expect.any(String)]);
            cursor = Array.isArray(next) ? next.join(',') : undefined;
          } else if (stream === 'trust_monitor') {
            // Opaque: nothing in it for a client to read.
            if (typeof next === 'string') expect(next).not.toMatch(/^\d+,/);
            cursor = typeof next === 'string' && next !== '' ? next : undefined;
          } else {
            cursor = typeof next === 'string' && next !== '' ? next : undefined;
          }
          if (items.length === 0 || cursor === undefined) break;
          expect(requests).toBeLessThan(1000);
        }
        const expected = want(LOGS[stream]);
        expect(expected.length).toBeGreaterThan(limit);
        expect(ids).toEqual(expected);
      });
    }
  }

  for (const version of [duoApi.SIGNATURE_VERSION_2, duoApi.SIGNATURE_VERSION_5]) {
    it(`administrator, signature v${version}: mintime in seconds, 1000 earliest a request, every event once as a multiset`, async () => {
      const fromSeconds = Math.floor(mintimeMs / 1000);
      const got: string[] = [];
      let from = fromSeconds;
      /** Copies of the events of the second \`from\` already taken: dropped when that second is read again. */
      let taken = new Map<string, number>();
      let requests = 0;
      let capped = 0;
      for (;;) {
        const res = await callPath(client(version), STREAMS.administrator.path, { mintime: String(from) });
        requests++;
        expect(res.stat).toBe('OK');
        const items = res.response as Item[];
        expect(Array.isArray(items)).toBe(true);
        const skip = new Map(taken);
        for (const item of items) {
          expect(Object.keys(item)).toEqual(['action', 'description', 'isotimestamp', 'object', 'timestamp', 'username']);
          const key = JSON.stringify(item);
          const left = skip.get(key) ?? 0;
          if (item['timestamp'] === from && left > 0) skip.set(key, left - 1);
          else got.push(key);
        }
        if (items.length < 1000) break;
        capped++;
        // Full: read again from the second of the last event; its events already taken are the first ones of that second.
        const last = Number(items[items.length - 1]!['timestamp']);
        expect(last).toBeGreaterThan(from);
        from = last;
        taken = new Map();
        for (const item of items.filter((i) => i['timestamp'] === from)) taken.set(JSON.stringify(item), (taken.get(JSON.stringify(item)) ?? 0) + 1);
        expect(requests).toBeLessThan(100);
      }
      const expected = LOGS.administrator.filter((e) => e.tsMicros >= fromSeconds * 1e6).map((e) => JSON.stringify(JSON.parse(e.json)));
      const multiset = (keys: string[]) => {
        const m = new Map<string, number>();
        for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
        return m;
      };
      expect(capped).toBeGreaterThanOrEqual(2);
      expect(new Set(expected).size).toBeLessThan(expected.length);
      expect(got.length).toBe(expected.length);
      expect(multiset(got)).toEqual(multiset(expected));
    });
  }

  it('the client is refused where Duo refuses: 404 40401, 400 on a trust monitor limit above 200', async () => {
    const c = client(duoApi.SIGNATURE_VERSION_2);
    expect(await callPath(c, '/admin/v1/logs/nothing', {})).toMatchObject({ stat: 'FAIL', code: 40401 });
    expect(await callPath(c, STREAMS.trust_monitor.path, { mintime: String(mintimeMs), maxtime: String(maxtimeMs), limit: '201' })).toMatchObject({
      stat: 'FAIL',
      code: 40002,
      message_detail: 'limit',
    });
  });
});
