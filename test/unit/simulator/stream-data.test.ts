import { describe, expect, it } from 'vitest';
import { STREAMS, STREAM_NAMES, msCursor, type StreamName } from '../../../src/duo/streams.js';
import { compareEvents, generateDataset, type DatasetOptions } from '../../../src/simulator/dataset.js';
import { defaultLogs, DEFAULT_LOG_SIZES } from '../../../src/simulator/default-logs.js';
import { cursorJson, decodeOpaqueOffset, encodeOpaqueOffset, ENDPOINTS, streamAt } from '../../../src/simulator/endpoints.js';
import { parseAdministratorQuery, parsePageQuery, parseQuery } from '../../../src/simulator/request.js';
import { EventStore } from '../../../src/simulator/store.js';

const FROM = Date.UTC(2025, 0, 13, 0, 0, 0);
const TO = FROM + 6 * 3_600_000;
const BURST_MS = FROM + 2 * 3_600_000 + 123;

function options(stream: StreamName, extra: Partial<DatasetOptions> = {}): DatasetOptions {
  return { stream, events: 1200, seed: 9, fromMs: FROM, toMs: TO, bursts: [{ atMs: BURST_MS, count: 300 }], ...extra };
}

/** Each stream: its id field, and the item's time in µs as the stream's documentation gives it. */
const SHAPES: Record<StreamName, { idField: string | null; timeUs: (item: Record<string, unknown>) => number; keys: string[] }> = {
  telephony: { idField: 'telephony_id', timeUs: (i) => Date.parse(String(i['ts'])) * 1000, keys: ['context', 'credits', 'phone', 'telephony_id', 'ts', 'txid', 'type'] },
  authentication: {
    idField: 'txid',
    timeUs: (i) => Number(i['timestamp']) * 1e6,
    keys: ['access_device', 'alias', 'application', 'auth_device', 'email', 'event_type', 'factor', 'isotimestamp', 'ood_software', 'reason', 'result', 'timestamp', 'trusted_endpoint_status', 'txid', 'user'],
  },
  activity: { idField: 'activity_id', timeUs: (i) => Date.parse(String(i['ts'])) * 1000, keys: ['access_device', 'action', 'activity_id', 'actor', 'akey', 'application', 'target', 'ts'] },
  trust_monitor: {
    idField: 'sekey',
    timeUs: (i) => Number(i['surfaced_timestamp']) * 1000,
    keys: [
      'explanations',
      'from_common_netblock',
      'from_new_user',
      'low_risk_ip',
      'priority_event',
      'priority_reasons',
      'sekey',
      'state',
      'state_updated_timestamp',
      'surfaced_auth',
      'surfaced_timestamp',
      'triage_reason',
      'triaged_as_interesting',
      'triaged_timestamp',
      'type',
    ],
  },
  administrator: { idField: null, timeUs: (i) => Number(i['timestamp']) * 1e6, keys: ['action', 'description', 'isotimestamp', 'object', 'timestamp', 'username'] },
};

describe('generateDataset for every stream', () => {
  for (const stream of STREAM_NAMES) {
    describe(stream, () => {
      const events = generateDataset(options(stream));
      const items = events.map((e) => JSON.parse(e.json) as Record<string, unknown>);
      const shape = SHAPES[stream];

      it('is deterministic by seed, sorted by (time, id), ids unique', () => {
        expect(generateDataset(options(stream)).map((e) => e.json)).toEqual(events.map((e) => e.json));
        expect(generateDataset(options(stream, { seed: 10 }))[0]?.json).not.toBe(events[0]?.json);
        expect(events).toHaveLength(1200);
        expect(events.every((e, i) => i === 0 || compareEvents(events[i - 1]!, e) < 0)).toBe(true);
        expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
      });

      it("writes Duo's fields in Duo's key order, the id and the time the event carries", () => {
        for (const [i, item] of items.entries()) {
          expect(Object.keys(item)).toEqual(shape.keys);
          const e = events[i]!;
          if (shape.idField === null) expect(e.missingId).toBe(true);
          else expect(item[shape.idField]).toBe(e.id);
          // Whole seconds for timestamp fields, ms for the trust monitor, µs for ISO ts (Date.parse keeps ms).
          const unit = stream === 'authentication' || stream === 'administrator' ? 1e6 : 1000;
          expect(shape.timeUs(item)).toBe(Math.floor(e.tsMicros / unit) * unit);
        }
      });

      it('the collector reads each item back at its millisecond', () => {
        for (const [i, item] of items.entries()) expect(STREAMS[stream].itemMs(item)).toBe(Math.floor(events[i]!.tsMicros / 1000));
      });

      it(`puts the burst in one ${stream === 'administrator' ? 'second' : 'millisecond'}`, () => {
        const unitUs = stream === 'administrator' ? 1e6 : 1000;
        const at = Math.floor((BURST_MS * 1000) / unitUs);
        expect(events.filter((e) => Math.floor(e.tsMicros / unitUs) === at).length).toBeGreaterThanOrEqual(300);
      });
    });
  }

  it('authentication: timestamp in seconds and isotimestamp in µs agree; results and factors vary', () => {
    const items = generateDataset(options('authentication')).map((e) => JSON.parse(e.json) as Record<string, unknown>);
    for (const item of items) {
      expect(item['isotimestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);
      expect(Math.floor(Date.parse(String(item['isotimestamp'])) / 1000)).toBe(item['timestamp']);
      expect(item['event_type']).toBe('authentication');
    }
    expect(new Set(items.map((i) => i['result']))).toEqual(new Set(['success', 'denied', 'fraud']));
    expect(new Set(items.map((i) => i['factor']))).toContain('duo_push');
  });

  it('activity: action is an object with a name; trust monitor: surfaced ms and a type', () => {
    const activity = generateDataset(options('activity')).map((e) => JSON.parse(e.json) as Record<string, { name?: unknown }>);
    expect(activity.every((i) => typeof i['action']?.name === 'string')).toBe(true);
    const tm = generateDataset(options('trust_monitor')).map((e) => JSON.parse(e.json) as Record<string, unknown>);
    expect(tm.every((i) => Number.isSafeInteger(i['surfaced_timestamp']))).toBe(true);
    expect(new Set(tm.map((i) => i['type']))).toEqual(new Set(['auth', 'bypass_status_enabled']));
    expect(new Set(tm.map((i) => i['state']))).toEqual(new Set(['new', 'triaged']));
  });

  it('administrator: whole-second isotimestamp, description a JSON string, identicalRate copies events of the same second', () => {
    const plain = generateDataset(options('administrator'));
    const copies = generateDataset(options('administrator', { identicalRate: 0.5 }));
    const repeated = (events: typeof plain) => {
      const seen = new Set<string>();
      let n = 0;
      for (const e of events) {
        const key = `${e.tsMicros} ${e.json}`;
        if (seen.has(key)) n++;
        seen.add(key);
      }
      return n;
    };
    // Half of the burst's later events at least (copies of copies count once).
    expect(repeated(copies)).toBeGreaterThan(120);
    expect(repeated(copies)).toBeGreaterThan(repeated(plain));
    for (const e of copies) {
      const item = JSON.parse(e.json) as Record<string, unknown>;
      expect(item['isotimestamp']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
      expect(typeof JSON.parse(String(item['description']))).toBe('object');
    }
  });

  it('refuses identicalRate outside the administrator log, and leaves ids out with missingIdRate', () => {
    expect(() => generateDataset(options('activity', { identicalRate: 0.1 }))).toThrow(/administrator log only/);
    const events = generateDataset(options('authentication', { missingIdRate: 0.2 }));
    const missing = events.filter((e) => e.missingId === true);
    expect(missing.length).toBeGreaterThan(150);
    expect(missing.every((e) => !('txid' in (JSON.parse(e.json) as object)))).toBe(true);
  });

  it('defaultLogs: one day ending 10 minutes before now for every stream, with a burst each', () => {
    const now = Date.UTC(2025, 0, 15, 12);
    const logs = defaultLogs(now, 3);
    expect(Object.keys(logs)).toEqual([...STREAM_NAMES]);
    for (const name of STREAM_NAMES) {
      expect(logs[name]).toMatchObject({ stream: name, seed: 3, toMs: now - 600_000, fromMs: now - 600_000 - 86_400_000, events: DEFAULT_LOG_SIZES[name].events });
      expect(logs[name].bursts?.[0]?.count).toBe(DEFAULT_LOG_SIZES[name].burst);
    }
    expect(DEFAULT_LOG_SIZES.authentication.events).toBeGreaterThan(DEFAULT_LOG_SIZES.telephony.events);
    expect(DEFAULT_LOG_SIZES.trust_monitor.burst).toBeGreaterThan(ENDPOINTS.trust_monitor.maxLimit);
    expect(DEFAULT_LOG_SIZES.administrator.burst).toBeLessThan(1000);
  });
});

describe('endpoint rules', () => {
  const NOW = Date.UTC(2025, 0, 15, 12);
  const window = { mintime: String(NOW - 3_600_000), maxtime: String(NOW - 60_000) };
  const q = (params: Record<string, string>) => parseQuery(new URLSearchParams(params).toString());

  it('routes every stream by its path from the stream table', () => {
    for (const name of STREAM_NAMES) expect(streamAt(STREAMS[name].path)).toBe(name);
    expect(streamAt('/admin/v1/users')).toBeUndefined();
  });

  // [stream, params, the query parsed or the detail of the 400]
  const cases: Array<[StreamName, Record<string, string>, { limit: number; sort: string } | string]> = [
    ['telephony', {}, { limit: 100, sort: 'ts:desc' }],
    ['authentication', { limit: '1000', sort: 'ts:asc' }, { limit: 1000, sort: 'ts:asc' }],
    ['authentication', { limit: '1001' }, 'limit'],
    ['activity', { sort: 'ts' }, 'sort'],
    ['trust_monitor', {}, { limit: 50, sort: 'ts:asc' }],
    ['trust_monitor', { limit: '200' }, { limit: 200, sort: 'ts:asc' }],
    ['trust_monitor', { limit: '201' }, 'limit'],
    // Not a trust monitor parameter: ignored, pages stay ascending.
    ['trust_monitor', { sort: 'ts:desc' }, { limit: 50, sort: 'ts:asc' }],
    ['trust_monitor', { offset: '1736940000000,abc' }, 'offset'],
    ['authentication', { next_offset: '1736940000000,abc' }, { limit: 100, sort: 'ts:desc' }],
    ['trust_monitor', { mintime: String(NOW - 181 * 86_400_000) }, 'mintime must be within the past 180 days'],
    ['activity', { maxtime: window.mintime }, 'maxtime must be greater than mintime'],
  ];
  for (const [stream, params, want] of cases) {
    it(`${stream} ${JSON.stringify(params)} → ${JSON.stringify(want)}`, () => {
      const got = parsePageQuery(q({ ...window, ...params }), NOW, ENDPOINTS[stream]);
      if (typeof want === 'string') expect(got).toEqual({ ok: false, failure: { status: 400, code: 40002, message: 'Invalid request parameters', detail: want } });
      else expect(got).toMatchObject({ ok: true, query: want });
    });
  }

  it('the trust monitor takes back its own opaque offset, which does not read as "<ms>,<id>"', () => {
    const token = encodeOpaqueOffset('1736940000000,SEABC');
    expect(token).not.toContain(',');
    expect(msCursor(token)).toBeUndefined();
    expect(decodeOpaqueOffset(token)).toBe('1736940000000,SEABC');
    expect(decodeOpaqueOffset('not base64 !')).toBeUndefined();
    expect(parsePageQuery(q({ ...window, offset: token }), NOW, ENDPOINTS.trust_monitor)).toMatchObject({ ok: true, query: { cursor: { tsMs: 1736940000000, id: 'SEABC' } } });
  });

  it('writes next_offset as each stream does', () => {
    expect(cursorJson(ENDPOINTS.telephony, '1736940000000,a-b')).toBe('"1736940000000,a-b"');
    expect(cursorJson(ENDPOINTS.activity, '1736940000000,a-b')).toBe('"1736940000000,a-b"');
    expect(cursorJson(ENDPOINTS.authentication, '1736940000000,a-b')).toBe('["1736940000000","a-b"]');
    expect(JSON.parse(cursorJson(ENDPOINTS.trust_monitor, '1736940000000,a-b'))).toBe(encodeOpaqueOffset('1736940000000,a-b'));
    expect(cursorJson(ENDPOINTS.authentication, null)).toBe('null');
  });

  it('administrator: mintime in seconds, optional, no 180-day rule, maxtime ignored', () => {
    expect(parseAdministratorQuery(q({ mintime: '1736940000' }))).toEqual({ ok: true, query: { mintimeSeconds: 1736940000 } });
    expect(parseAdministratorQuery(q({ mintime: '1000', maxtime: '5' }))).toEqual({ ok: true, query: { mintimeSeconds: 1000 } });
    expect(parseAdministratorQuery(q({}))).toEqual({ ok: true, query: { mintimeSeconds: 0 } });
    for (const bad of ['1736940000000', '-1', 'abc', '']) {
      expect(parseAdministratorQuery(q({ mintime: bad }))).toMatchObject({ ok: false, failure: { status: 400, code: 40002, detail: 'mintime' } });
    }
  });

  it('administrator page: the 1000 earliest visible events at or after a second, ascending', () => {
    const second = 1_736_940_000;
    const events = generateDataset({ stream: 'administrator', events: 1500, seed: 2, fromMs: second * 1000 - 5000, toMs: second * 1000 + 60_000, bursts: [{ atMs: second * 1000 + 7, count: 600 }], identicalRate: 0.3 });
    const store = new EventStore(events);
    const page = store.selectFrom(second * 1e6, 1000, second * 1000 + 3_600_000);
    expect(page).toHaveLength(1000);
    expect(page).toEqual(events.filter((e) => e.tsMicros >= second * 1e6).slice(0, 1000));
    // Nothing after now.
    expect(store.selectFrom(second * 1e6, 1000, second * 1000 + 500).every((e) => e.tsMicros <= (second * 1000 + 500) * 1000)).toBe(true);
  });
});
