import { describe, expect, it } from 'vitest';
import { compareCounts, inDeletedObject, nextSliceMs, repairPage, type KeyCounts, type StoredWindow } from '../../../src/verify/compare.js';

const counts = (...keys: string[]): KeyCounts => {
  const m: KeyCounts = new Map();
  for (const k of keys) m.set(k, (m.get(k) ?? 0) + 1);
  return m;
};

describe('compareCounts', () => {
  it.each<[string, string[], string[], { missing: string[]; doubled: string[]; unknown: string[] }]>([
    ['the same', ['a', 'b'], ['b', 'a'], { missing: [], doubled: [], unknown: [] }],
    ['one missing', ['a', 'b'], ['a'], { missing: ['b'], doubled: [], unknown: [] }],
    ['one doubled', ['a', 'b'], ['a', 'b', 'b'], { missing: [], doubled: ['b'], unknown: [] }],
    ['one unknown', ['a'], ['a', 'z'], { missing: [], doubled: [], unknown: ['z'] }],
    // The administrator log: identical events are distinct, so counts matter.
    ['a multiset: one of three copies missing', ['h', 'h', 'h'], ['h', 'h'], { missing: ['h'], doubled: [], unknown: [] }],
    ['a multiset: a copy too many', ['h', 'h'], ['h', 'h', 'h'], { missing: [], doubled: ['h'], unknown: [] }],
  ])('%s', (_, duo, stored, want) => {
    const c = compareCounts(counts(...duo), counts(...stored));
    expect({ missing: c.missing, doubled: c.doubled, unknown: c.unknown }).toEqual(want);
    expect(c.duo).toBe(duo.length);
    expect(c.stored).toBe(stored.length);
  });
});

describe('inDeletedObject', () => {
  // A window 0..1000 with pages 1 (100-200), 3 (500-600) and 4 (700-800): page 2 is gone.
  const w: StoredWindow = {
    mintimeMs: 0,
    maxtimeMs: 1000,
    pages: [
      { page: 1, base: true, minMs: 100, maxMs: 200 },
      { page: 3, base: true, minMs: 500, maxMs: 600 },
      { page: 3, base: false, minMs: 650, maxMs: 650 },
      { page: 4, base: true, minMs: 700, maxMs: 800 },
    ],
  };
  it.each<[string, number, StoredWindow[], boolean]>([
    ['inside a page still there: a line removed, or never written', 150, [w], false],
    ['in the hole page 2 left', 300, [w], true],
    ['at the edge of that hole', 200, [w], true],
    ['after the last page: not recognised', 900, [w], false],
    ['in no window at all: every object of its window is gone', 2000, [w], true],
    ['in a window with no object left', 50, [{ mintimeMs: 0, maxtimeMs: 99, pages: [] }], true],
    ['page 1 gone: before page 2', 10, [{ mintimeMs: 0, maxtimeMs: 1000, pages: [{ page: 2, base: true, minMs: 400, maxMs: 500 }] }], true],
  ])('%s', (_, ms, windows, want) => {
    expect(inDeletedObject(ms, windows)).toBe(want);
  });
});

describe('repairPage', () => {
  const w: StoredWindow = { mintimeMs: 0, maxtimeMs: 1000, pages: [{ page: 1, base: true, minMs: 100, maxMs: 200 }, { page: 2, base: true, minMs: 300, maxMs: 400 }] };
  it.each([
    [50, 1],
    [150, 1],
    [250, 1],
    [350, 2],
    [999, 2],
  ])('an event at %i ms belongs to page %i', (ms, page) => {
    expect(repairPage(ms, w)).toBe(page);
  });
});

describe('nextSliceMs', () => {
  const bounds = { minMs: 1000, maxMs: 8000 };
  it.each([
    ['many events: half', 4000, 150, 2000],
    ['few events: twice', 4000, 10, 8000],
    ['about right: the same', 4000, 60, 4000],
    ['never shorter than the least', 1000, 1e9, 1000],
    ['never longer than the most', 8000, 0, 8000],
  ])('%s', (_, length, events, want) => {
    expect(nextSliceMs(length, events, 100, bounds)).toBe(want);
  });
});
