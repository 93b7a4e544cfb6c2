/**
 * The page judge's transitions on every stream of the table: the same window, page and carry rules
 * hold whatever the stream's id, time field and cursor (docs/streams.md).
 */
import { describe, expect, it } from 'vitest';
import { STREAM_NAMES, STREAMS, type DuoItem, type StreamName } from '../../../src/duo/streams.js';
import { carryAfter, judgePage, skipIdsAtEnd, type PageContext } from '../../../src/collect/page.js';

const T = Date.UTC(2026, 10, 25, 10, 0, 0);
const MAX = T + 60_000;
const S = 1000; // times are whole seconds, so the administrator log's own unit fits every case
const iso = (ms: number): string => `${new Date(ms).toISOString().slice(0, 23)}000+00:00`;

/** An item of `stream` named `name` at `ms`, in that stream's own shape. */
const ITEM: Record<StreamName, (name: string, ms: number) => DuoItem> = {
  telephony: (name, ms) => ({ telephony_id: name, ts: iso(ms), type: 'sms' }),
  authentication: (name, ms) => ({ txid: name, isotimestamp: iso(ms), timestamp: Math.floor(ms / 1000), result: 'success' }),
  activity: (name, ms) => ({ activity_id: name, ts: iso(ms), action: { name: 'login' } }),
  trust_monitor: (name, ms) => ({ sekey: name, surfaced_timestamp: ms, type: 'auth' }),
  administrator: (name, ms) => ({ action: name, timestamp: Math.floor(ms / 1000), username: 'admin' }),
};
/** The cursor Duo would send after an item at `ms` named `name`. */
const CURSOR: Record<StreamName, (ms: number, name: string) => string> = {
  telephony: (ms, name) => `${ms},${name}`,
  authentication: (ms, name) => `${ms},${name}`,
  activity: (ms, name) => `${ms},${name}`,
  trust_monitor: (ms, name) => Buffer.from(`${ms}:${name}`).toString('base64'),
  administrator: (ms) => String(ms),
};

const ctx = (over: Partial<PageContext['open']> = {}, rest: Partial<Omit<PageContext, 'open'>> = {}): PageContext => ({
  open: { mintimeMs: T, maxtimeMs: MAX, nextOffset: null, page: 1, carry: {}, cursors: [], ...over },
  skipIds: [],
  ...rest,
});

describe.each(STREAM_NAMES)('judgePage on the %s stream', (name) => {
  const stream = STREAMS[name];
  const item = ITEM[name];
  const cursor = CURSOR[name];
  const keyOf = (items: DuoItem[]): string[] => stream.itemKeys(items);
  const names = (items: readonly DuoItem[]): unknown[] => items.map((i) => i[stream.idField ?? 'action']);

  it('writes a first page, leaves items outside the window to theirs, and moves to its cursor', () => {
    const page = [item('early', T - S), item('a', T), item('b', T + 5 * S), item('late', MAX + S)];
    const v = judgePage(ctx(), { items: page, nextOffset: cursor(T + 5 * S, 'b') }, stream);
    expect(v).toMatchObject({ ok: true, endOfWindow: false, nextCursor: cursor(T + 5 * S, 'b') });
    if (!v.ok) return;
    expect(names(v.write)).toEqual(['a', 'b']);
    expect(v.counts.outsideWindow).toBe(2);
    expect(v.written.map((w) => w.ms)).toEqual([T, T + 5 * S]);
  });

  it("skips what the previous window wrote in its last time unit, at this window's start only", () => {
    const first = [item('a', T), item('b', T)];
    const skipIds = keyOf(first).slice(0, 1);
    const v = judgePage(ctx({}, { skipIds }), { items: [...first, item('c', T + S)], nextOffset: null }, stream);
    expect(v.ok && names(v.write)).toEqual(['b', 'c']);
    expect(v.ok && v.counts.skippedAtStart).toBe(1);
  });

  it('drops on the next page what this window already wrote (carried), and writes what is new', () => {
    const page1 = [item('a', T), item('b', T + 5 * S)];
    const v1 = judgePage(ctx(), { items: page1, nextOffset: cursor(T + 5 * S, 'b') }, stream);
    if (!v1.ok) throw new Error('page 1 refused');
    const carry = carryAfter({}, v1.written, v1.nextCursor, MAX, stream);
    const open = { nextOffset: v1.nextCursor, page: 2, carry, cursors: [v1.nextCursor as string] };
    // Duo repeats b on the next page (its cursor names the last item, or it re-reads the second).
    const v2 = judgePage(ctx(open), { items: [item('b', T + 5 * S), item('c', T + 5 * S), item('d', T + 9 * S)], nextOffset: null }, stream);
    expect(v2.ok && names(v2.write)).toEqual(['c', 'd']);
    expect(v2.ok && v2.counts.alreadyWritten).toBe(1);
  });

  it('ends the window on an empty page or a page without a cursor, and hands its last unit to the next window', () => {
    const last = [item('y', MAX - S), item('z', MAX)];
    const v = judgePage(ctx(), { items: last, nextOffset: null }, stream);
    expect(v).toMatchObject({ ok: true, endOfWindow: true });
    if (!v.ok) return;
    expect(skipIdsAtEnd({}, v.written, MAX)).toEqual(keyOf(last).slice(1));
    expect(judgePage(ctx({ nextOffset: cursor(T, 'q'), cursors: [cursor(T, 'q')] }), { items: [], nextOffset: cursor(T, 'x') }, stream)).toMatchObject({ ok: true, endOfWindow: true });
  });

  it('refuses a page whose cursor comes back', () => {
    const sent = cursor(T + 5 * S, 'b');
    const v = judgePage(ctx({ nextOffset: sent, cursors: [sent] }), { items: [item('c', T + 6 * S)], nextOffset: sent }, stream);
    expect(v.ok).toBe(false);
  });

  it(stream.cursorMs(cursor(T, 'x')) === undefined ? 'cannot tell an answer that goes back (opaque cursor): drops the repeats it carries' : 'refuses an answer that goes back before its cursor', () => {
    const sent = cursor(T + 5 * S, 'b');
    const carry = { [String(T + 5 * S)]: keyOf([item('b', T + 5 * S)]) };
    const v = judgePage(ctx({ nextOffset: sent, cursors: [sent], carry }), { items: [item('old', T + S), item('b', T + 5 * S)], nextOffset: null }, stream);
    if (stream.cursorMs(sent) === undefined) expect(v.ok && names(v.write)).toEqual(['old']);
    else expect(v).toMatchObject({ ok: false, problem: expect.stringContaining('went back') as unknown });
  });
});

describe('the administrator log: identical events as a multiset', () => {
  const stream = STREAMS.administrator;
  const same = (): DuoItem => ({ action: 'user_update', timestamp: (T + 5 * S) / 1000, username: 'admin', object: 'jsmith' });

  it('writes each copy once across pages that re-read the same second, and a copy published later too', () => {
    // Page 1 ends in second T+5 s with two copies; page 2 starts at that second again and holds three.
    const v1 = judgePage(ctx(), { items: [ITEM.administrator('a', T), same(), same()], nextOffset: String(T + 5 * S) }, stream);
    if (!v1.ok) throw new Error('page 1 refused');
    expect(v1.write).toHaveLength(3);
    const open = { nextOffset: v1.nextCursor, page: 2, carry: carryAfter({}, v1.written, v1.nextCursor, MAX, stream), cursors: [v1.nextCursor as string] };
    const v2 = judgePage(ctx(open), { items: [same(), same(), same(), ITEM.administrator('b', T + 6 * S)], nextOffset: null }, stream);
    expect(v2.ok && v2.write).toEqual([same(), ITEM.administrator('b', T + 6 * S)]);
    expect(v2.ok && v2.counts.alreadyWritten).toBe(2);
  });

  it('keeps identical copies within one page (they are events, not repeats)', () => {
    const v = judgePage(ctx(), { items: [same(), same(), same()], nextOffset: null }, stream);
    expect(v.ok && v.write).toHaveLength(3);
    expect(v.ok && v.counts.alreadyWritten).toBe(0);
  });
});
