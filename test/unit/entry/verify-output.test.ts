import { describe, expect, it } from 'vitest';
import { formatLine, notesOf, progressText, type VerifyJson } from '../../../src/entry/commands/verify.js';

const result = (over: Partial<VerifyJson> = {}): VerifyJson => ({
  stream: 'telephony',
  from: '2026-11-24T00:00:00.000Z',
  to: '2026-11-25T00:00:00.000Z',
  duo: 10,
  stored: 10,
  missing: 0,
  doubled: 0,
  unknown: 0,
  ids: { missing: [], doubled: [], unknown: [] },
  inDeleted: 0,
  leftOut: null,
  ...over,
});

describe('verify output', () => {
  it('one line per stream', () => {
    expect(formatLine(result())).toBe('verify telephony 2026-11-24T00:00:00.000Z..2026-11-25T00:00:00.000Z: duo=10 stored=10 missing=0 doubled=0 unknown=0');
  });

  it('says nothing more when all is well', () => {
    expect(notesOf(result())).toEqual([]);
  });

  it('names what was left out, what is missing, doubled or unknown, and warns about deleted objects', () => {
    const notes = notesOf(
      result({
        missing: 2,
        doubled: 1,
        unknown: 1,
        inDeleted: 1,
        ids: { missing: ['a', 'b'], doubled: ['c'], unknown: ['x.json:3'] },
        leftOut: { from: '2026-11-24T20:00:00.000Z', to: '2026-11-25T00:00:00.000Z', reason: 'not collected yet' },
      }),
    );
    expect(notes).toEqual([
      'telephony: 2026-11-24T20:00:00.000Z..2026-11-25T00:00:00.000Z left out: not collected yet',
      expect.stringContaining('1 missing event lay where an object was deleted from the store: SecOps most likely ingested it already'),
      'telephony: missing, first 2: a b',
      'telephony: doubled (reported, never deleted), first 1: c',
      'telephony: stored but not in Duo for this range, first 1: x.json:3',
    ]);
  });

  it('draws progress through the range', () => {
    const p = { fromMs: Date.UTC(2026, 10, 24), toMs: Date.UTC(2026, 10, 25), positionMs: Date.UTC(2026, 10, 24, 6), duo: 12345, stored: 12000 };
    expect(progressText('telephony', p, 0, 42_000)).toBe('verify telephony: 25% · 2026-11-24T06:00Z · duo 12,345 · stored 12,000 · 42s');
  });
});
