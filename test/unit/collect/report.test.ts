import { describe, expect, it } from 'vitest';
import { formatCollection, formatProgress, formatSummary, plural } from '../../../src/collect/report.js';
import type { CollectionSummary } from '../../../src/collect/run-streams.js';
import { CollectorError, DuoApiError } from '../../../src/errors.js';
import type { RunProgress, RunSummary } from '../../../src/collect/run.js';
import { initialCheckpoint } from '../../../src/checkpoint/codec.js';
import { collectionJson, SUMMARY_FIELDS } from '../../../src/collect/summary.js';

const DAY = 86_400_000;
const to = Date.UTC(2026, 10, 25, 12, 0, 0);
const progress = (over: Partial<RunProgress> = {}): RunProgress => ({
  fromMs: to - 30 * DAY,
  toMs: to,
  positionMs: to - 15 * DAY,
  nowMs: to + 60_000,
  pages: 1234,
  events: 1_234_000,
  ...over,
});

const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  stream: 'telephony',
  outcome: 'caught-up',
  events: 1,
  objectsCreated: 1,
  objectsExisting: 0,
  supplements: 0,
  duplicatesDropped: 0,
  outsideWindow: 0,
  withoutId: 0,
  withoutTs: 0,
  windowHeld: false,
  clockOffsetMs: null,
  pages: 1,
  windowsClosed: 1,
  requests: 1,
  retries: 1,
  rateLimited: 0,
  learnedRate: { endpoint: { rpm: 7.5, lo: 7.5, hi: 8 }, integration: { rpm: 300, lo: 0, hi: null } },
  lagMs: 120_000,
  durationMs: 3_000,
  checkpoint: initialCheckpoint(to, new Date(to).toISOString()),
  sink: '/data/duo-telephony/',
  checkpointLocation: '/data/_state/duo-telephony.json',
  ...over,
});

describe('formatProgress', () => {
  it('measures the whole backlog: half of a 30-day backfill is 50 %', () => {
    const line = formatProgress(progress(), to - 100_000, 200);
    expect(line).toMatch(/^\[#{10}-{10}\] 50% · 2026-11-10 12:00Z · 15d 0h to go · 1,234,000 events · 1,234 pages · 7,713\/s$/);
  });

  it.each([200, 120, 80, 60, 40, 24, 10, 2])('never needs more than %i - 1 columns', (width) => {
    for (const positionMs of [to - 30 * DAY, to - 15 * DAY, to - 1, to]) {
      const line = formatProgress(progress({ positionMs }), to - 100_000, width);
      expect(line.length).toBeLessThanOrEqual(width - 1);
      expect(line).not.toContain('\n');
    }
  });

  it('keeps the percentage and the position first on an 80-column terminal', () => {
    expect(formatProgress(progress(), to - 100_000, 80)).toMatch(/^\[[#-]+\] 50% · 2026-11-10 12:00Z · /);
  });

  it('is 0 % at the start and 100 % when caught up, never beyond', () => {
    expect(formatProgress(progress({ positionMs: to - 30 * DAY }), to, 120)).toContain(' 0% ');
    expect(formatProgress(progress({ positionMs: to + 5_000 }), to, 120)).toContain(' 100% ');
  });
});

describe('formatSummary', () => {
  it('counts in the singular and plural right', () => {
    expect(plural(1, 'window')).toBe('1 window');
    expect(plural(2, 'retry', 'retries')).toBe('2 retries');
    const line = formatSummary(summary());
    expect(line).toContain('1 event in 1 new object, 1 window, 1 page, 1 request, 1 retry, 0 × 429');
    expect(formatSummary(summary({ events: 2000, windowsClosed: 3 }))).toContain('2,000 events in 1 new object, 3 windows');
  });

  it('says the pace learned, when there is one', () => {
    expect(formatSummary(summary())).toContain('0 × 429, pace 7.5/min; checkpoint');
    expect(formatSummary(summary({ learnedRate: { endpoint: { rpm: 42.37, lo: 40, hi: 44 }, integration: { rpm: 300, lo: 0, hi: null } } }))).toContain('pace 42/min;');
    expect(formatSummary(summary({ learnedRate: null }))).toContain('0 × 429; checkpoint');
  });
});

describe('the run summary schema', () => {
  const collection: CollectionSummary = {
    durationMs: 1000,
    streams: [
      { stream: 'telephony', status: 'collected', summary: summary(), account: { id: 'DA1', name: 'Child 1' } },
      { stream: 'trust_monitor', status: 'unsupported', error: new DuoApiError('DUO_BAD_REQUEST', { httpStatus: 404, path: '/admin/v1/trust_monitor/events' }, {}) },
      { stream: 'administrator', status: 'failed', error: new CollectorError('DUO_UNPAGEABLE', 'a full second') },
    ],
  };
  const json = collectionJson(collection);
  /** The fields a JSON object shows, `streams[].` before those of each stream. */
  const fieldsOf = (o: Record<string, unknown>, prefix = ''): string[] => Object.keys(o).map((k) => `${prefix}${k}`);

  it('writes exactly the fields of its table, in order', () => {
    const top = SUMMARY_FIELDS.filter((f) => !f.name.startsWith('streams[].')).map((f) => f.name);
    expect(fieldsOf(json as unknown as Record<string, unknown>)).toEqual(top);
    const perStream = SUMMARY_FIELDS.filter((f) => f.name.startsWith('streams[].')).map((f) => f.name);
    const collected = fieldsOf(json.streams[0] as unknown as Record<string, unknown>, 'streams[].');
    const failed = fieldsOf(json.streams[2] as unknown as Record<string, unknown>, 'streams[].');
    expect(perStream.filter((f) => collected.includes(f) || failed.includes(f))).toEqual(perStream);
    expect(collected).toEqual(perStream.filter((f) => f !== 'streams[].error'));
    expect(json).toMatchObject({ summaryVersion: 2, outcome: 'failed', events: 1, durationMs: 1000 });
    expect(json.streams[0]).toMatchObject({ stream: 'telephony', status: 'collected', accountId: 'DA1', accountName: 'Child 1', nextMintime: new Date(to).toISOString(), openWindow: null });
    expect(json.streams[1]).toEqual({ stream: 'trust_monitor', status: 'unsupported', error: { code: 'DUO_BAD_REQUEST', message: expect.stringContaining('404') as unknown } });
    expect(json.streams[2]).toEqual({ stream: 'administrator', status: 'failed', error: { code: 'DUO_UNPAGEABLE', message: 'a full second' } });
  });

  it('gives every field a type the JSON shows', () => {
    for (const f of SUMMARY_FIELDS) {
      const [, inner] = f.name.split('streams[].');
      const holder = (inner === 'error' ? json.streams[2] : inner !== undefined ? json.streams[0] : json) as unknown as Record<string, unknown>;
      const v = holder[inner ?? f.name];
      const actual = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      expect(f.type.split(' or '), f.name).toContain(actual);
    }
  });

  it('says which accounts were deferred for want of time, and counts them as the budget outcome', () => {
    const deferred: CollectionSummary = { durationMs: 5, streams: [{ stream: 'telephony', status: 'collected', summary: summary(), account: { id: 'DA1', name: 'One' } }, { stream: 'telephony', status: 'deferred', account: { id: 'DA2', name: 'Two' } }] };
    expect(formatCollection(deferred).split('\n')[1]).toBe('Two (DA2) telephony: not reached within the time budget (--budget-seconds); the next run starts with it');
    const j = collectionJson(deferred);
    expect(j.outcome).toBe('budget');
    expect(j.streams[1]).toEqual({ stream: 'telephony', status: 'deferred', accountId: 'DA2', accountName: 'Two' });
  });

  it('prints one line per stream, saying why a stream was left out or failed', () => {
    const text = formatCollection(collection).split('\n');
    expect(text).toHaveLength(3);
    expect(text[0]).toMatch(/^Child 1 \(DA1\) telephony: caught up: 1 event in 1 new object/);
    expect(text[1]).toMatch(/^trust_monitor: not served to this Duo account or application \(DUO_BAD_REQUEST\), left out: /);
    expect(text[2]).toBe('administrator: failed (DUO_UNPAGEABLE): a full second');
  });
});
