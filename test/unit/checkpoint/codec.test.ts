import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FIELDS,
  CHECKPOINT_VERSION,
  checkpointSchemaFields,
  initialCheckpoint,
  parseCheckpoint,
  parseStoredCheckpoint,
  serializeCheckpoint,
  type Checkpoint,
} from '../../../src/checkpoint/codec.js';
import type { StoredCheckpoint } from '../../../src/checkpoint/types.js';
import { CheckpointError } from '../../../src/errors.js';

const now = '2026-11-23T02:00:00.000Z';
const openWindow = { mintimeMs: 1_700_000_000_000, maxtimeMs: 1_700_086_400_000, nextOffset: '1700000100000,abc', page: 3, limit: 1000, carry: { '1700000100000': ['abc'] }, cursors: ['1700000100000,abc'] };

function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a throw');
}

describe('checkpoint codec', () => {
  it('round-trips a checkpoint with an open window', () => {
    const cp = { ...initialCheckpoint(1_700_000_000_000, now), skipIds: ['a'], open: openWindow, clockOffsetMs: -1500 };
    expect(parseCheckpoint(serializeCheckpoint(cp), 'mem')).toEqual(cp);
  });

  it('keeps a learned pace, and drops one it cannot read instead of refusing the checkpoint (it is advice)', () => {
    const learnedRate = { endpoint: { rpm: 29.9, lo: 29.9, hi: 31.4 }, integration: { rpm: 300, lo: 0, hi: null } };
    const cp = { ...initialCheckpoint(1_700_000_000_000, now), learnedRate };
    expect(parseCheckpoint(serializeCheckpoint(cp), 'mem')).toEqual(cp);
    for (const bad of [{ endpoint: { rpm: -1, lo: 0, hi: null }, integration: learnedRate.integration }, { endpoint: learnedRate.endpoint }, 'fast', 42]) {
      const text = JSON.stringify({ ...initialCheckpoint(1_700_000_000_000, now), learnedRate: bad });
      expect(parseCheckpoint(text, 'mem').learnedRate).toBeUndefined();
    }
  });

  it('reads version 1: its boundary ids become the ids to skip and to carry', () => {
    const v1 = {
      version: 1,
      source: 'telephony',
      nextMintimeMs: 1_700_000_000_000,
      boundaryIds: ['a'],
      open: { mintimeMs: 1_700_000_000_000, maxtimeMs: 1_700_086_400_000, nextOffset: '1700000100000,abc', page: 3, limit: 1000, boundaryIds: ['z'], learnedPageMs: 7 },
      updatedAt: now,
      somethingNewer: true,
    };
    const cp = parseCheckpoint(JSON.stringify(v1), 'mem');
    expect(cp).toEqual({
      version: 2,
      source: 'telephony',
      nextMintimeMs: 1_700_000_000_000,
      skipIds: ['a'],
      open: { mintimeMs: 1_700_000_000_000, maxtimeMs: 1_700_086_400_000, nextOffset: '1700000100000,abc', page: 3, limit: 1000, carry: { '1700086400000': ['z'] }, cursors: ['1700000100000,abc'], learnedPageMs: 7 },
      updatedAt: now,
      somethingNewer: true,
    });
    expect(JSON.parse(serializeCheckpoint(cp).toString())).not.toHaveProperty('boundaryIds');
  });

  it('migrates the guide format, preferring the saved cursor: the items of its millisecond up to its item are skipped', () => {
    const cp = parseCheckpoint(JSON.stringify({ last_offset: '1700000100000,abc', last_timestamp_ms: 1_700_000_000_001 }), 'gs://b/p/state.json', now);
    expect(cp).toMatchObject({ version: 2, nextMintimeMs: 1_700_000_100_000, skipIds: [], skipThrough: { ms: 1_700_000_100_000, id: 'abc' }, open: null, migratedFrom: 'google-guide-state-json' });
    const cp2 = parseCheckpoint(JSON.stringify({ last_offset: null, last_timestamp_ms: 1_700_000_000_001 }), 'x', now);
    expect(cp2.nextMintimeMs).toBe(1_700_000_000_001);
    expect(cp2.skipIds).toEqual([]);
    expect(cp2.skipThrough).toBeUndefined();
    // A migrated checkpoint is saved as the current version.
    expect(JSON.parse(serializeCheckpoint(cp).toString())).toMatchObject({ version: CHECKPOINT_VERSION, migratedFrom: 'google-guide-state-json' });
  });

  it('refuses a 10-digit (seconds) time with a clear error', () => {
    const v1 = { ...initialCheckpoint(1_700_000_000, now) };
    expect(() => parseCheckpoint(JSON.stringify(v1), 'cp')).toThrow(/looks like epoch seconds/);
    expect(() => parseCheckpoint(JSON.stringify({ last_timestamp_ms: 1_700_000_000 }), 'cp')).toThrow(/seconds, not milliseconds/);
  });

  it('names the location and the fix for corrupt documents', () => {
    for (const bad of ['{not json', '[]', '{"version":2}', '{"version":1}', '{"foo":1}', '', '{"version":0}', '{"version":"2"}']) {
      const err = thrown(() => parseCheckpoint(bad, '/data/_state/duo-telephony.json'));
      expect(err, bad).toBeInstanceOf(CheckpointError);
      expect(err.message).toContain('/data/_state/duo-telephony.json');
      expect(err.message).toContain('Nothing was changed');
    }
  });
});

describe('the version rule', () => {
  it('has one row in CHECKPOINT_FIELDS per field of the schema, each with a meaning', () => {
    expect(CHECKPOINT_FIELDS.map((f) => f.name).sort()).toEqual(checkpointSchemaFields().sort());
    expect(new Set(CHECKPOINT_FIELDS.map((f) => f.name)).size).toBe(CHECKPOINT_FIELDS.length);
    for (const f of CHECKPOINT_FIELDS) expect(f.meaning.length, f.name).toBeGreaterThan(10);
  });

  it('bumps the version with the newest field that changes what gets delivered, and only with such a field', () => {
    const delivery = CHECKPOINT_FIELDS.filter((f) => f.changesDelivery).map((f) => f.sinceVersion);
    expect(CHECKPOINT_VERSION).toBe(Math.max(...delivery));
    for (const f of CHECKPOINT_FIELDS) {
      expect(f.sinceVersion, f.name).toBeGreaterThanOrEqual(1);
      expect(f.sinceVersion, f.name).toBeLessThanOrEqual(CHECKPOINT_VERSION);
    }
    expect(initialCheckpoint(1_700_000_000_000, now).version).toBe(CHECKPOINT_VERSION);
  });

  it('refuses a checkpoint written by a newer duo-secops, whatever else it holds', () => {
    const newer = CHECKPOINT_VERSION + 1;
    for (const doc of [{ ...initialCheckpoint(1_700_000_000_000, now), version: newer }, { version: newer, somethingNew: [1, 2] }]) {
      const err = thrown(() => parseCheckpoint(JSON.stringify(doc), 'gs://b/_state/duo-telephony.json'));
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err).toMatchObject({ code: 'CHECKPOINT_INVALID' });
      expect(err.message).toContain(
        `checkpoint gs://b/_state/duo-telephony.json was written by a newer duo-secops (version ${newer}); this one understands up to ${CHECKPOINT_VERSION}: upgrade`,
      );
      // Going back or resetting is not the answer to a newer collector: no such advice.
      expect(err.message).not.toContain('state reset');
    }
  });

  it('keeps fields it does not know (top level and in `open`) through parse, a spread of a known field, and serialize', () => {
    const stored = {
      ...initialCheckpoint(1_700_000_000_000, now),
      open: { ...openWindow, learnedPageMs: 812 },
      clockOffsetMs: -42,
      learnedSomething: 'x',
      requestRate: { perMinute: 50, learnedAt: '2026-11-22T00:00:00.000Z' },
    };
    const cp = parseCheckpoint(serializeCheckpoint(stored as Checkpoint), 'mem', now);
    // What the run loop does when a page is committed.
    const open = cp.open as NonNullable<Checkpoint['open']>;
    const advanced: Checkpoint = { ...cp, updatedAt: '2026-11-23T03:00:00.000Z', open: { ...open, nextOffset: '1700000200000,def', page: open.page + 1 } };
    const back = JSON.parse(serializeCheckpoint(advanced).toString()) as Record<string, unknown>;
    expect(back).toEqual({
      ...stored,
      updatedAt: '2026-11-23T03:00:00.000Z',
      open: { ...stored.open, nextOffset: '1700000200000,def', page: 4 },
    });
    // And parsed again, they are still there.
    expect(parseCheckpoint(serializeCheckpoint(advanced), 'mem')).toMatchObject({ clockOffsetMs: -42, learnedSomething: 'x', open: { learnedPageMs: 812, page: 4 } });
  });
});

describe('parseStoredCheckpoint', () => {
  const good = (n: number): Buffer => serializeCheckpoint(initialCheckpoint(1_700_000_000_000 + n, now));
  const gen = (n: number): string => `/data/_state/duo-telephony.json.d/${String(n).padStart(16, '0')}.json`;
  const restoreCommand = `mv ${gen(7)} /data/_state/duo-telephony.json.corrupt-0000000000000007 && rm -f /data/_state/duo-telephony.json`;
  const stored = (data: Buffer | string, extra: Partial<StoredCheckpoint> = {}): StoredCheckpoint => ({
    data: Buffer.from(data),
    version: '7',
    location: gen(7),
    ...extra,
  });

  it('parses a usable checkpoint and ignores a previous one', () => {
    expect(parseStoredCheckpoint(stored(good(7), { previous: { data: Buffer.from('junk'), location: gen(6), restoreCommand } }), now).nextMintimeMs).toBe(1_700_000_000_007);
  });

  it('names the corrupt generation, and the intact previous one with the command that goes back to it', () => {
    for (const bad of ['{"version":1,', JSON.stringify(initialCheckpoint(1_700_000_000, now))]) {
      const err = thrown(() => parseStoredCheckpoint(stored(bad, { previous: { data: good(6), location: gen(6), restoreCommand } }), now));
      expect(err).toBeInstanceOf(CheckpointError);
      expect(err.message).toMatch(new RegExp(`^checkpoint ${gen(7)} (is not valid JSON|is invalid)`));
      expect(err.message).toContain('Nothing was changed');
      expect(err.message).toContain(`The checkpoint before it, ${gen(6)}, is intact`);
      expect(err.message).toContain(`run \`${restoreCommand}\``);
      expect(err.message).toContain('repeats at most one page');
    }
  });

  it('says so when the previous generation cannot be used either, and offers no command', () => {
    const err = thrown(() => parseStoredCheckpoint(stored('{', { previous: { data: Buffer.from('[]'), location: gen(6), restoreCommand } }), now));
    expect(err.message).toContain(`The checkpoint before it, ${gen(6)}, cannot be used either (it is not a JSON object)`);
    expect(err.message).not.toContain(restoreCommand);
    expect(err.message).toContain('state reset --to');
  });

  it('without a previous generation, gives the usual advice', () => {
    const err = thrown(() => parseStoredCheckpoint(stored('{'), now));
    expect(err.message).toContain(gen(7));
    expect(err.message).toContain('Fix or restore it, or set a new start with `duo-secops state reset --to <ISO time> --yes`');
  });

  it('does not offer going back past a checkpoint written by a newer duo-secops', () => {
    const doc = JSON.stringify({ ...initialCheckpoint(1_700_000_000_000, now), version: CHECKPOINT_VERSION + 1 });
    const err = thrown(() => parseStoredCheckpoint(stored(doc, { previous: { data: good(6), location: gen(6), restoreCommand } }), now));
    expect(err.message).toContain('was written by a newer duo-secops');
    expect(err.message).not.toContain(gen(6));
  });

  it('refuses a hand-edited copy: names it and the generation, and says both ways on', () => {
    const err = thrown(() => parseStoredCheckpoint(stored(good(7), { editedCopy: { location: '/data/_state/duo-telephony.json' } }), now));
    expect(err).toBeInstanceOf(CheckpointError);
    expect(err.message).toContain('checkpoint copy /data/_state/duo-telephony.json was edited by hand');
    expect(err.message).toContain(`the newest generation, ${gen(7)}`);
    expect(err.message).toContain('delete /data/_state/duo-telephony.json (it is rewritten at the next commit)');
    expect(err.message).toContain('`duo-secops state reset --to <ISO time> --yes`');
  });

  it('reports a corrupt generation before a copy that differs from it', () => {
    const err = thrown(() => parseStoredCheckpoint(stored('{', { editedCopy: { location: '/data/_state/duo-telephony.json' } }), now));
    expect(err.message).toMatch(/is not valid JSON/);
  });
});
