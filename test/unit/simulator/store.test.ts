import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventStore, type PageQuery } from '../../../src/simulator/store.js';
import { compareEvents, createSimEvent, generateDataset, type SimEvent } from '../../../src/simulator/dataset.js';

const T0 = Date.UTC(2024, 0, 10, 12, 0, 0);

function ev(tsMicros: number, id: string, visibleAtMs?: number): SimEvent {
  return createSimEvent({ tsMicros, id, ...(visibleAtMs !== undefined && { visibleAtMs }) });
}

/** Page through a window the way a client does, returning the ids in order. */
function pageAll(store: EventStore, q: Omit<PageQuery, 'cursor'>, nowMs: number): string[] {
  const ids: string[] = [];
  let cursor: PageQuery['cursor'];
  for (let guard = 0; guard < 100_000; guard++) {
    const page = store.selectPage({ ...q, cursor }, nowMs);
    if (!page.found) throw new Error('cursor not found');
    ids.push(...page.items.map((e) => e.id));
    const last = page.items[page.items.length - 1];
    if (!last) return ids;
    cursor = { tsMs: Math.floor(last.tsMicros / 1000), id: last.id };
  }
  throw new Error('paging does not end');
}

function expected(events: readonly SimEvent[], q: { mintimeMs: number; maxtimeMs: number }, nowMs: number): SimEvent[] {
  return events
    .filter((e) => e.tsMicros >= q.mintimeMs * 1000 && e.tsMicros <= q.maxtimeMs * 1000 && e.tsMicros <= nowMs * 1000 && e.visibleAtMs <= nowMs)
    .sort(compareEvents);
}

describe('EventStore.selectPage', () => {
  const edge = [
    ev(T0 * 1000 - 1, 'before-min'),
    ev(T0 * 1000, 'at-min'),
    ev((T0 + 500) * 1000 + 1, 'middle'),
    ev((T0 + 1000) * 1000, 'at-max'),
    ev((T0 + 1000) * 1000 + 500, 'half-ms-after-max'),
    ev((T0 + 1001) * 1000, 'after-max'),
  ];

  it('bounds the window at microsecond precision', () => {
    const store = new EventStore(edge);
    const page = store.selectPage({ mintimeMs: T0, maxtimeMs: T0 + 1000, limit: 100, sort: 'ts:asc' }, T0 + 10_000);
    expect(page.found && page.items.map((e) => e.id)).toEqual(['at-min', 'middle', 'at-max']);
    expect(page.found && page.total).toBe(3);
  });

  it('sorts descending and pages backwards', () => {
    const store = new EventStore(edge);
    const q = { mintimeMs: T0, maxtimeMs: T0 + 1000, limit: 1, sort: 'ts:desc' as const };
    expect(pageAll(store, q, T0 + 10_000)).toEqual(['at-max', 'middle', 'at-min']);
  });

  it('hides events in the future and events that have not arrived yet', () => {
    const store = new EventStore([ev(T0 * 1000, 'now'), ev((T0 + 1) * 1000 + 1, 'future'), ev((T0 - 10) * 1000, 'late', T0 + 60_000)]);
    const q = { mintimeMs: T0 - 100, maxtimeMs: T0 + 100, limit: 10, sort: 'ts:asc' as const };
    const early = store.selectPage(q, T0 + 1);
    expect(early.found && early.items.map((e) => e.id)).toEqual(['now']);
    expect(early.found && early.total).toBe(1);
    const later = store.selectPage(q, T0 + 60_000);
    expect(later.found && later.items.map((e) => e.id)).toEqual(['late', 'now', 'future']);
  });

  it('says when a page exhausts the window', () => {
    const store = new EventStore(edge);
    const q = { mintimeMs: T0, maxtimeMs: T0 + 1000, limit: 3, sort: 'ts:asc' as const };
    const full = store.selectPage(q, T0 + 10_000);
    expect(full.found && full.hasMore).toBe(false);
    const partial = store.selectPage({ ...q, limit: 2 }, T0 + 10_000);
    expect(partial.found && partial.hasMore).toBe(true);
  });

  it('reports an unknown cursor', () => {
    const store = new EventStore(edge);
    const page = store.selectPage({ mintimeMs: T0, maxtimeMs: T0 + 1000, limit: 3, sort: 'ts:asc', cursor: { tsMs: T0, id: 'nope' } }, T0 + 10_000);
    expect(page.found).toBe(false);
  });

  it('keeps the window when the cursor lies outside it', () => {
    const store = new EventStore(edge);
    const page = store.selectPage(
      { mintimeMs: T0, maxtimeMs: T0 + 1000, limit: 10, sort: 'ts:asc', cursor: { tsMs: T0 - 1, id: 'before-min' } },
      T0 + 10_000,
    );
    expect(page.found && page.items.map((e) => e.id)).toEqual(['at-min', 'middle', 'at-max']);
  });

  it('pages through 5000 events in one millisecond, each once', () => {
    const burst = generateDataset({ events: 5000, seed: 9, fromMs: 0, toMs: 0, bursts: [{ atMs: T0 + 7, count: 5000 }] });
    const store = new EventStore(burst);
    const ids = pageAll(store, { mintimeMs: T0, maxtimeMs: T0 + 8, limit: 100, sort: 'ts:asc' }, T0 + 10_000);
    expect(ids).toEqual(burst.map((e) => e.id));
  });

  it('counts the window right when every event arrives late by a random amount, as time passes', () => {
    const events = generateDataset({ events: 3000, seed: 4, fromMs: T0, toMs: T0 + 3_600_000, lateness: { maxDelayMs: 600_000 } });
    const store = new EventStore(events);
    const q = { mintimeMs: T0 + 600_000, maxtimeMs: T0 + 3_000_000, limit: 1000, sort: 'ts:asc' as const };
    for (const nowMs of [T0 + 900_000, T0 + 2_000_000, T0 + 3_000_000, T0 + 3_300_000, T0 + 3_600_001, T0 + 5_000_000]) {
      const want = expected(events, q, nowMs);
      const first = store.selectPage(q, nowMs);
      expect(first.found && first.total).toBe(want.length);
      expect(pageAll(store, q, nowMs)).toEqual(want.map((e) => e.id));
    }
  });

  it('walks back toward the start of a window over visible events only (visibleBefore)', () => {
    // a b [c hidden] d e, all inside the window; z before it.
    const at = (ms: number) => (T0 + ms) * 1000;
    const store = new EventStore([ev(at(-5), 'z'), ev(at(1), 'a'), ev(at(2), 'b'), ev(at(3), 'c', T0 + 99_000), ev(at(4), 'd'), ev(at(5), 'e')]);
    const asc = { mintimeMs: T0, maxtimeMs: T0 + 10, sort: 'ts:asc' as const };
    const idx = (id: string) => store.events.findIndex((e) => e.id === id);
    const idAt = (i: number) => (i < 0 ? null : store.events[i]!.id);
    const nowMs = T0 + 1000;
    expect(idAt(store.visibleBefore(idx('e'), 1, asc, nowMs))).toBe('d');
    expect(idAt(store.visibleBefore(idx('e'), 2, asc, nowMs))).toBe('b');
    // Never past the window's first visible event, whatever the number of steps.
    expect(idAt(store.visibleBefore(idx('e'), 50, asc, nowMs))).toBe('a');
    expect(idAt(store.visibleBefore(idx('a'), 1, asc, nowMs))).toBeNull();
    // ts:desc: toward the start of the window is toward later events.
    const desc = { ...asc, sort: 'ts:desc' as const };
    expect(idAt(store.visibleBefore(idx('b'), 1, desc, nowMs))).toBe('d');
    expect(idAt(store.visibleBefore(idx('b'), 9, desc, nowMs))).toBe('e');
    expect(idAt(store.visibleBefore(idx('e'), 1, desc, nowMs))).toBeNull();
    // Once c has arrived it counts.
    expect(idAt(store.visibleBefore(idx('e'), 2, asc, T0 + 99_000))).toBe('c');
  });

  it('finds the visible event nearest outside a window, on either side (visibleOutside)', () => {
    const store = new EventStore([
      ev((T0 - 2) * 1000, 'before-2'),
      ev((T0 - 1) * 1000, 'before-1', T0 + 50_000),
      ev(T0 * 1000, 'at-min'),
      ev((T0 + 10) * 1000, 'at-max'),
      ev((T0 + 10) * 1000 + 500, 'half-ms-after'),
      ev((T0 + 20) * 1000, 'after'),
    ]);
    const q = { mintimeMs: T0, maxtimeMs: T0 + 10 };
    expect(store.visibleOutside(q, T0 + 1000, 'after')?.id).toBe('half-ms-after');
    // before-1 has not arrived yet.
    expect(store.visibleOutside(q, T0 + 1000, 'before')?.id).toBe('before-2');
    expect(store.visibleOutside(q, T0 + 50_000, 'before')?.id).toBe('before-1');
    // Nothing after maxtime whose time has come yet.
    expect(store.visibleOutside(q, T0 + 10, 'after')).toBeUndefined();
    expect(store.visibleOutside({ mintimeMs: T0 - 2, maxtimeMs: T0 + 30 }, T0 + 1000, 'before')).toBeUndefined();
  });

  it('merges added events in order', () => {
    const store = new EventStore([ev(T0 * 1000 + 5, 'b')]);
    store.add([ev(T0 * 1000 + 9, 'c'), ev(T0 * 1000 + 1, 'a'), ev(T0 * 1000 + 5, 'a2')]);
    expect(store.events.map((e) => e.id)).toEqual(['a', 'a2', 'b', 'c']);
  });

  it('property: asc and desc paging both return exactly the window, whatever the limit', () => {
    const arbEvent = fc.record({
      offsetUs: fc.integer({ min: -3000, max: 6000 }),
      id: fc.uuid(),
      lateMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5 })),
    });
    fc.assert(
      fc.property(
        fc.uniqueArray(arbEvent, { selector: (e) => e.id, maxLength: 120 }),
        fc.integer({ min: 1, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: -1, max: 6 }),
        (raw, limit, minOff, span, nowOff) => {
          const events = raw.map((r) => {
            const ts = T0 * 1000 + r.offsetUs;
            return ev(ts, r.id, Math.floor(ts / 1000) + r.lateMs);
          });
          const store = new EventStore(events);
          const q = { mintimeMs: T0 + minOff, maxtimeMs: T0 + minOff + span, limit };
          const nowMs = T0 + nowOff;
          const want = expected(events, q, nowMs).map((e) => e.id);
          expect(pageAll(store, { ...q, sort: 'ts:asc' }, nowMs)).toEqual(want);
          expect(pageAll(store, { ...q, sort: 'ts:desc' }, nowMs)).toEqual([...want].reverse());
          const first = store.selectPage({ ...q, sort: 'ts:asc' }, nowMs);
          expect(first.found && first.total).toBe(want.length);
        },
      ),
      { numRuns: 300 },
    );
  });
});
