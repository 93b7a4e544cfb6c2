import { describe, expect, it } from 'vitest';
import { ADMIN_PAGE_SIZE, contentHash, msCursor, normalizeNextOffset, parseStreamList, STREAM_NAMES, STREAMS, type DuoItem, type StreamRequest } from '../../../src/duo/streams.js';

const T = Date.UTC(2026, 10, 25, 10, 0, 0);
const req = (over: Partial<StreamRequest> = {}): StreamRequest => ({ mintimeMs: T, maxtimeMs: T + 3_600_000, limit: 1000, ...over });
const ok = (response: unknown): unknown => ({ stat: 'OK', response });

describe('the stream table', () => {
  it('names every stream once, with its SecOps log type', () => {
    expect(STREAM_NAMES.map((n) => [n, STREAMS[n].logType, STREAMS[n].secopsParser])).toEqual([
      ['telephony', 'DUO_TELEPHONY', true],
      ['authentication', 'DUO_AUTH', true],
      ['activity', 'DUO_ACTIVITY', true],
      ['trust_monitor', 'DUO_TRUST_MONITOR', false],
      ['administrator', 'DUO_ADMIN', true],
    ]);
  });

  it.each([
    ['telephony', req({ nextOffset: `${T + 5},abc` }), { mintime: String(T), maxtime: String(T + 3_600_000), limit: '1000', sort: 'ts:asc', next_offset: `${T + 5},abc` }],
    ['authentication', req({ nextOffset: `${T + 5},tx` }), { mintime: String(T), maxtime: String(T + 3_600_000), limit: '1000', sort: 'ts:asc', next_offset: `${T + 5},tx` }],
    ['activity', req({ sort: 'ts:desc', limit: 1 }), { mintime: String(T), maxtime: String(T + 3_600_000), limit: '1', sort: 'ts:desc' }],
    ['trust_monitor', req({ nextOffset: 'opaque==' }), { mintime: String(T), maxtime: String(T + 3_600_000), limit: '200', offset: 'opaque==' }],
    ['administrator', req({ mintimeMs: T + 1500 }), { mintime: String((T + 1000) / 1000) }],
    ['administrator', req({ nextOffset: String(T + 7000) }), { mintime: String((T + 7000) / 1000) }],
  ] as const)('asks %s with its own parameters', (name, r, params) => {
    expect(STREAMS[name].params(r)).toEqual(params);
  });

  it.each([
    ['telephony', ok({ items: [{ telephony_id: 'a' }], metadata: { next_offset: `${T},a` } }), [{ telephony_id: 'a' }], `${T},a`],
    ['authentication', ok({ authlogs: [{ txid: 'a' }], metadata: { next_offset: [String(T), 'a'], total_objects: 9 } }), [{ txid: 'a' }], `${T},a`],
    ['activity', ok({ items: [], metadata: {} }), [], null],
    ['trust_monitor', ok({ events: [{ sekey: 's' }], metadata: { next_offset: 'xyz' } }), [{ sekey: 's' }], 'xyz'],
    ['administrator', ok([{ timestamp: 1 }]), [{ timestamp: 1 }], null],
  ] as const)('reads the items and cursor of a %s answer', (name, body, items, cursor) => {
    expect(STREAMS[name].parse(body, req())).toEqual({ page: { items, nextOffset: cursor } });
  });

  it.each([
    ['telephony', ok({ authlogs: [] }), '"response.items" missing or not an array'],
    ['authentication', ok({ items: [] }), '"response.authlogs" missing or not an array'],
    ['trust_monitor', ok({ events: [1] }), '"response.events[0]" is not an object'],
    ['administrator', ok({ items: [] }), '"response" is not an array of administrator events'],
    ['activity', { stat: 'FAIL', code: 40002, message: 'Invalid request parameters' }, 'stat "FAIL" (Duo error 40002 Invalid request parameters)'],
  ] as const)('refuses a %s answer of another shape', (name, body, problem) => {
    expect(STREAMS[name].parse(body, req())).toEqual({ problem });
  });

  it('places items in time from each stream’s own field', () => {
    expect(STREAMS.telephony.itemMs({ ts: '2026-11-25T10:00:00.123456+00:00' })).toBe(T + 123);
    expect(STREAMS.authentication.itemMs({ isotimestamp: '2026-11-25T10:00:00.999+00:00', timestamp: T / 1000 })).toBe(T + 999);
    expect(STREAMS.authentication.itemMs({ timestamp: T / 1000 + 0.7 })).toBe(T);
    expect(STREAMS.activity.itemMs({ ts: '2026-11-25T10:00:01+00:00' })).toBe(T + 1000);
    expect(STREAMS.trust_monitor.itemMs({ surfaced_timestamp: T + 42 })).toBe(T + 42);
    expect(STREAMS.trust_monitor.itemMs({ surfaced_timestamp: '42' })).toBeNull();
    expect(STREAMS.administrator.itemMs({ timestamp: T / 1000 })).toBe(T);
    expect(STREAMS.administrator.itemMs({ isotimestamp: '2026-11-25T10:00:02+00:00' })).toBe(T + 2000);
  });

  it('keys items by their id, or by content when they have none; the collector’s own fields left out', () => {
    expect(STREAMS.authentication.itemKeys([{ txid: 't1' }, { txid: '' }])).toEqual(['t1', contentHash({ txid: '' })]);
    expect(STREAMS.trust_monitor.contentKey({ sekey: 'k' })).toBe('k');
    expect(contentHash({ a: 1, eventtype: 'x', host: 'h' })).toBe(contentHash({ a: 1 }));
    expect(contentHash({ a: 1, eventtype: 'x', host: 'h', account_id: 'DA1', account_name: 'One' })).toBe(contentHash({ a: 1 }));
  });

  it('keys identical administrator events of one second as the 1st, 2nd, … copy (a multiset)', () => {
    const a: DuoItem = { action: 'user_update', timestamp: T / 1000, username: 'x' };
    const b: DuoItem = { action: 'admin_login', timestamp: T / 1000, username: 'x' };
    const later: DuoItem = { ...a, timestamp: T / 1000 + 1 };
    const h = contentHash(a);
    expect(STREAMS.administrator.itemKeys([a, b, a, later, a])).toEqual([`${h}#0`, `${contentHash(b)}#0`, `${h}#1`, `${contentHash(later)}#0`, `${h}#2`]);
    // The same second read again from its start gives the same keys: what was written is recognised.
    expect(STREAMS.administrator.itemKeys([a, a])).toEqual([`${h}#0`, `${h}#1`]);
    expect(STREAMS.administrator.contentKey(a)).toBe(h);
  });

  it('pages the administrator log by moving mintime to the last second of a full page', () => {
    const second = (s: number, n: number): DuoItem[] => Array.from({ length: n }, (_, i) => ({ timestamp: T / 1000 + s, n: i }));
    const full = [...second(0, 600), ...second(3, 400)];
    expect(full).toHaveLength(ADMIN_PAGE_SIZE);
    expect(STREAMS.administrator.parse(ok(full), req())).toEqual({ page: { items: full, nextOffset: String(T + 3000) } });
    // Fewer than 1000: Duo ran out. A full page past the window's end: the window is done.
    expect(STREAMS.administrator.parse(ok(second(0, 999)), req())).toMatchObject({ page: { nextOffset: null } });
    expect(STREAMS.administrator.parse(ok(full), req({ maxtimeMs: T + 2000 }))).toMatchObject({ page: { nextOffset: null } });
  });

  it('stops, naming the second, when 1000 administrator events share one second', () => {
    const crowd = Array.from({ length: ADMIN_PAGE_SIZE }, (_, i) => ({ timestamp: T / 1000 + 3, n: i }));
    const r = STREAMS.administrator.parse(ok(crowd), req({ nextOffset: String(T + 3000) }));
    expect(r).toMatchObject({ fatal: true });
    expect('problem' in r && r.problem).toContain('2026-11-25T10:00:03.000Z');
    expect('problem' in r && r.problem).toContain('state reset --logs administrator');
  });

  it('reads time from a "<ms>,<id>" cursor only; the trust monitor’s offset is opaque', () => {
    expect(msCursor(`${T},abc`)).toBe(T);
    expect(msCursor('abc,1')).toBeUndefined();
    expect(STREAMS.trust_monitor.cursorMs(`${T},abc`)).toBeUndefined();
    expect(STREAMS.administrator.cursorMs(String(T))).toBe(T);
  });

  it('joins an array cursor and refuses one of another type', () => {
    expect(normalizeNextOffset(['1', 'a'])).toEqual({ nextOffset: '1,a' });
    expect(normalizeNextOffset([{}])).toHaveProperty('problem');
  });

  it.each([
    ['telephony', ['telephony']],
    [' Authentication , trust-monitor,telephony ', ['telephony', 'authentication', 'trust_monitor']],
    ['activity,activity', ['activity']],
  ])('reads the stream list %j', (text, streams) => {
    expect(parseStreamList(text)).toEqual({ streams });
  });
});
