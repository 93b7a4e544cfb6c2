import { describe, expect, it } from 'vitest';
import { STREAMS } from '../../../src/duo/streams.js';
import { carryAfter, cursorsAfter, judgePage, skipIdsAtEnd, type PageContext } from '../../../src/collect/page.js';
import { duoNowFloor, duoTimeOf, mayClose, offsetFrom } from '../../../src/collect/clock.js';
import type { TelephonyItem } from '../../../src/duo/types.js';

const itemKey = STREAMS.telephony.contentKey;
const T = Date.UTC(2026, 10, 25, 10, 0, 0); // window start
const MAX = T + 60_000;
const ts = (ms: number, micros = 0): string => `${new Date(ms).toISOString().slice(0, 23)}${String(micros).padStart(3, '0')}+00:00`;
const item = (id: string | undefined, ms: number, micros = 0): TelephonyItem => ({ ...(id ? { telephony_id: id } : {}), ts: ts(ms, micros), context: 'authentication' });
const cursor = (ms: number, id: string): string => `${ms},${id}`;

const ctx = (over: Partial<PageContext['open']> = {}, rest: Partial<Omit<PageContext, 'open'>> = {}): PageContext => ({
  open: { mintimeMs: T, maxtimeMs: MAX, nextOffset: null, page: 1, carry: {}, cursors: [], ...over },
  skipIds: [],
  ...rest,
});

const ids = (items: readonly TelephonyItem[]): Array<string | undefined> => items.map((i) => i.telephony_id);

describe('judgePage', () => {
  it('writes every item of a plain first page and moves to its cursor', () => {
    const v = judgePage(ctx(), { items: [item('a', T), item('b', T + 5)], nextOffset: cursor(T + 5, 'b') });
    expect(v).toMatchObject({ ok: true, endOfWindow: false, nextCursor: cursor(T + 5, 'b') });
    if (!v.ok) return;
    expect(ids(v.write)).toEqual(['a', 'b']);
    expect(v.written).toEqual([
      { key: 'a', ms: T },
      { key: 'b', ms: T + 5 },
    ]);
  });

  it.each([
    ['no items', [], cursor(T, 'x')],
    ['no cursor', [item('a', T)], null],
  ])('ends the window on a page with %s', (_, items, next) => {
    const v = judgePage(ctx({ nextOffset: cursor(T, 'z'), cursors: [cursor(T, 'z')] }), { items, nextOffset: next });
    expect(v).toMatchObject({ ok: true, endOfWindow: true, nextCursor: null });
  });

  it("skips the ids the previous window wrote, in the window's first millisecond only", () => {
    const v = judgePage(ctx({}, { skipIds: ['a', 'c'] }), { items: [item('a', T), item('b', T), item('c', T + 1)], nextOffset: cursor(T + 1, 'c') });
    expect(v.ok && ids(v.write)).toEqual(['b', 'c']);
    expect(v.ok && v.counts.skippedAtStart).toBe(1);
  });

  it('drops what this window already wrote (the cursor names the last item) and keeps what is new (it names the next)', () => {
    const open = { nextOffset: cursor(T + 5, 'b'), cursors: [cursor(T + 5, 'b')], carry: { [T + 5]: ['b'] } };
    // Reading 1: the next page repeats b. Reading 2: it starts after b.
    for (const items of [[item('b', T + 5), item('c', T + 5), item('d', T + 9)], [item('c', T + 5), item('d', T + 9)]]) {
      const v = judgePage(ctx(open), { items, nextOffset: cursor(T + 9, 'd') });
      expect(v.ok && ids(v.write)).toEqual(['c', 'd']);
    }
  });

  it('leaves items outside the window to the window they belong to', () => {
    const v = judgePage(ctx(), { items: [item('early', T - 1), item('a', T), item('late', MAX + 1)], nextOffset: null });
    expect(v.ok && ids(v.write)).toEqual(['a']);
    expect(v.ok && v.counts.outsideWindow).toBe(2);
  });

  it('writes items out of ts order once, and an item twice in one page once', () => {
    const v = judgePage(ctx(), { items: [item('b', T + 9), item('a', T + 2), item('b', T + 9), item('c', T + 5)], nextOffset: cursor(T + 5, 'c') });
    expect(v.ok && ids(v.write)).toEqual(['b', 'a', 'c']);
    expect(v.ok && v.counts.alreadyWritten).toBe(1);
  });

  it('writes an item without a telephony_id, recognised by its content (enrichment aside)', () => {
    const lone = item(undefined, T + 3);
    const v = judgePage(ctx(), { items: [lone], nextOffset: cursor(T + 3, 'x') });
    expect(v.ok && v.counts.withoutId).toBe(1);
    expect(itemKey(lone)).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(itemKey({ ...lone, eventtype: 'telephony', host: 'api-x.duosecurity.com' })).toBe(itemKey(lone));
    const again = judgePage(ctx({ nextOffset: cursor(T + 3, 'x'), cursors: [cursor(T + 3, 'x')], carry: { [T + 3]: [itemKey(lone)] } }), { items: [lone], nextOffset: cursor(T + 3, 'y') });
    expect(again.ok && again.write).toEqual([]);
  });

  it.each([
    ['a cursor of an earlier millisecond', cursor(T + 20, 'x'), [item('y', T + 21)], cursor(T + 10, 'q'), /cursor went back/],
    ['the cursor it was sent', cursor(T + 20, 'x'), [item('y', T + 21)], cursor(T + 20, 'x'), /cursor came back/],
    ['a cursor already followed in this millisecond (A, B, A)', cursor(T + 20, 'b'), [item('y', T + 20)], cursor(T + 20, 'a'), /cursor came back/],
    ['items before the cursor it was sent', cursor(T + 20, 'x'), [item('old', T + 3), item('y', T + 21)], cursor(T + 21, 'y'), /answer went back/],
  ])('refuses a page whose answer goes back: %s', (_, sent, items, next, problem) => {
    const v = judgePage(ctx({ nextOffset: sent, cursors: [cursor(T + 20, 'a'), cursor(T + 20, 'b'), sent].filter((c, i, a) => a.indexOf(c) === i) }), { items, nextOffset: next });
    expect(v.ok).toBe(false);
    if (!v.ok) {
      expect(v.problem).toMatch(problem);
      expect(v.problem).toContain(sent);
    }
  });

  it("skips Google's guide's items of its last millisecond up to and including its cursor's item", () => {
    const through = { ms: T, id: 'b' };
    const v = judgePage(ctx({}, { skipThrough: through }), { items: [item('a', T, 1), item('b', T, 2), item('c', T, 3), item('d', T + 1)], nextOffset: cursor(T + 1, 'd') });
    expect(v.ok && ids(v.write)).toEqual(['c', 'd']);
    expect(v.ok && v.skipThroughDone).toBe(true);
    // What it skipped is carried like what it wrote: a page that serves it again drops it.
    expect(v.ok && v.writtenBefore).toEqual([
      { key: 'a', ms: T },
      { key: 'b', ms: T },
    ]);
    // Not met yet on this page: keep skipping on the next.
    const part = judgePage(ctx({}, { skipThrough: through }), { items: [item('a', T, 1)], nextOffset: cursor(T, 'a') });
    expect(part.ok && part.write).toEqual([]);
    expect(part.ok && part.skipThroughDone).toBe(false);
    // Done with once its window ends without meeting it, or when the window starts elsewhere.
    const empty = judgePage(ctx({}, { skipThrough: through }), { items: [], nextOffset: null });
    expect(empty.ok && empty.skipThroughDone).toBe(true);
    const elsewhere = judgePage(ctx({ mintimeMs: T + 1 }, { skipThrough: through }), { items: [item('x', T + 2)], nextOffset: cursor(T + 2, 'x') });
    expect(elsewhere.ok && elsewhere.skipThroughDone).toBe(true);
  });
});

describe('what a window remembers between pages', () => {
  it('carries what it wrote from the new cursor’s millisecond on', () => {
    const carry = carryAfter({ [T + 5]: ['b'] }, [{ key: 'c', ms: T + 5 }, { key: 'd', ms: T + 9 }, { key: 'e', ms: T + 9 }], cursor(T + 9, 'e'), MAX);
    expect(carry).toEqual({ [T + 9]: ['d', 'e'] });
    // Out of order: an item beyond the cursor's millisecond stays carried.
    expect(carryAfter({}, [{ key: 'late', ms: T + 30 }, { key: 'x', ms: T + 9 }], cursor(T + 9, 'x'), MAX)).toEqual({ [T + 30]: ['late'], [T + 9]: ['x'] });
    // Never past the window's end: its last millisecond's ids become the next window's skipIds.
    expect(carryAfter({}, [{ key: 'z', ms: MAX }], cursor(MAX + 100, 'q'), MAX)).toEqual({ [MAX]: ['z'] });
  });

  it('follows cursors within a millisecond, and starts over in the next', () => {
    expect(cursorsAfter([], null, cursor(T, 'a'))).toEqual([cursor(T, 'a')]);
    expect(cursorsAfter([cursor(T, 'a')], cursor(T, 'a'), cursor(T, 'b'))).toEqual([cursor(T, 'a'), cursor(T, 'b')]);
    expect(cursorsAfter([cursor(T, 'a'), cursor(T, 'b')], cursor(T, 'b'), cursor(T + 1, 'c'))).toEqual([cursor(T + 1, 'c')]);
  });

  it("hands the ids of the window's last millisecond to the next window", () => {
    expect(skipIdsAtEnd({ [MAX]: ['a'] }, [{ key: 'b', ms: MAX }, { key: 'c', ms: MAX - 1 }, { key: 'a', ms: MAX }], MAX)).toEqual(['a', 'b']);
  });
});

describe("Duo's clock", () => {
  const page = (serverDateMs: number | undefined, receivedAtMs: number | undefined) => ({ serverDateMs, receivedAtMs });

  it('takes the offset from the Date header, as a lower bound', () => {
    expect(offsetFrom(page(T + 200_000, T + 900))).toBe(199_100);
    expect(offsetFrom(page(undefined, T))).toBeUndefined();
  });

  it("places now on Duo's clock, rounded down to its second", () => {
    expect(duoNowFloor(T + 1_999, 0)).toBe(T + 1_000);
    expect(duoNowFloor(T, -60_500)).toBe(T - 61_000);
    expect(duoNowFloor(T + 10, undefined)).toBe(T);
  });

  it("closes a window only once Duo's clock, when it answered, passed its end plus the delay", () => {
    expect(mayClose(MAX, MAX + 120_000, 120_000)).toBe(true);
    expect(mayClose(MAX, MAX + 119_999, 120_000)).toBe(false);
    // Duo's header wins over our estimate.
    expect(duoTimeOf(page(MAX, T), T + 999_999, 0)).toBe(MAX);
    expect(duoTimeOf(page(undefined, T + 1500), T + 9_999, 1000)).toBe(T + 2000);
  });
});
