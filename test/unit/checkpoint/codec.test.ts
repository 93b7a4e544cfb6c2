import { describe, expect, it } from 'vitest';
import { parseCheckpoint, serializeCheckpoint, initialCheckpoint } from '../../../src/checkpoint/codec.js';
import { CheckpointError } from '../../../src/errors.js';

const now = '2026-11-23T02:00:00.000Z';

describe('checkpoint codec', () => {
  it('round-trips a v1 checkpoint with an open window', () => {
    const cp = {
      ...initialCheckpoint(1_700_000_000_000, now),
      boundaryIds: ['a'],
      open: { mintimeMs: 1_700_000_000_000, maxtimeMs: 1_700_086_400_000, nextOffset: '1700000100000,abc', page: 3, limit: 1000, boundaryIds: [] },
    };
    expect(parseCheckpoint(serializeCheckpoint(cp), 'mem')).toEqual(cp);
  });

  it('migrates the guide format, preferring the saved cursor', () => {
    const cp = parseCheckpoint(JSON.stringify({ last_offset: '1700000100000,abc', last_timestamp_ms: 1_700_000_000_001 }), 'gs://b/p/state.json', now);
    expect(cp).toMatchObject({ version: 1, nextMintimeMs: 1_700_000_100_000, boundaryIds: ['abc'], open: null, migratedFrom: 'google-guide-state-json' });
    const cp2 = parseCheckpoint(JSON.stringify({ last_offset: null, last_timestamp_ms: 1_700_000_000_001 }), 'x', now);
    expect(cp2.nextMintimeMs).toBe(1_700_000_000_001);
    expect(cp2.boundaryIds).toEqual([]);
  });

  it('refuses a 10-digit (seconds) time with a clear error', () => {
    const v1 = { ...initialCheckpoint(1_700_000_000, now) };
    expect(() => parseCheckpoint(JSON.stringify(v1), 'cp')).toThrow(/looks like epoch seconds/);
    expect(() => parseCheckpoint(JSON.stringify({ last_timestamp_ms: 1_700_000_000 }), 'cp')).toThrow(/seconds, not milliseconds/);
  });

  it('names the location and the fix for corrupt documents', () => {
    for (const bad of ['{not json', '[]', '{"version":2}', '{"foo":1}', '']) {
      let err: unknown;
      try {
        parseCheckpoint(bad, '/data/_state/duo-telephony.json');
      } catch (e) {
        err = e;
      }
      expect(err, bad).toBeInstanceOf(CheckpointError);
      expect((err as Error).message).toContain('/data/_state/duo-telephony.json');
    }
  });
});
