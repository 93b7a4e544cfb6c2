/**
 * Oracle: Duo's official Node client (`@duosecurity/duo_api`) must be accepted by the simulator with
 * signature version 2 and 5, and rejected with 40103 when its secret key is wrong. The client signs
 * independently of src/duo/sign.ts (its own canonicalisation, `toUTCString()` dates, a query string
 * from `querystring.stringify` that differs from the canonical one), so passing here shows the
 * simulator checks signatures the way Duo does, not merely the way our signer writes them.
 *
 * The client only speaks HTTPS to `host` on port 443 with a pinned CA; its `https.request` is
 * redirected to the simulator's plain HTTP port, keeping its headers (Host included) untouched.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRequire } from 'node:module';
import http from 'node:http';
import type https from 'node:https';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';

const require = createRequire(import.meta.url);

interface DuoResponse {
  stat: string;
  code?: number;
  message?: string;
  message_detail?: string;
  response?: { items: Array<Record<string, unknown>>; metadata: { next_offset?: string | null } };
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

beforeAll(async () => {
  sim = await startSimulator({
    events: { events: 2500, seed: 4, fromMs: NOW - 5 * HOUR, toMs: NOW - 10 * 60_000, bursts: [{ atMs: NOW - 2 * HOUR, count: 600 }] },
    lastPageCursor: 'absent',
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
