import { describe, expect, it } from 'vitest';
import { computeWindow, DAY_MS, MAX_AGE_MS, staleWindowAdvice } from '../../../src/collect/window.js';
import { parseTsMicros, tsMillis } from '../../../src/duo/ts.js';

const H = 3_600_000;
const now = Date.UTC(2026, 10, 23, 12, 0, 0);

describe('computeWindow', () => {
  it('ends the window at now minus the delay', () => {
    expect(computeWindow(now - H, now, { delayMs: 120_000, windowMaxMs: 24 * H })).toEqual({ mintimeMs: now - H, maxtimeMs: now - 120_000, skippedMs: 0 });
  });
  it('caps the window size', () => {
    expect(computeWindow(now - 100 * H, now, { delayMs: 0, windowMaxMs: 24 * H })?.maxtimeMs).toBe(now - 76 * H);
  });
  it('returns null when maxtime would not be after mintime', () => {
    expect(computeWindow(now - 120_000, now, { delayMs: 120_000, windowMaxMs: H })).toBeNull();
    expect(computeWindow(now, now, { delayMs: 0, windowMaxMs: H })).toBeNull();
  });
  it('clamps to the 179-day retention and reports what was skipped', () => {
    const w = computeWindow(now - MAX_AGE_MS - 5 * H, now, { delayMs: 0, windowMaxMs: H });
    expect(w).toEqual({ mintimeMs: now - MAX_AGE_MS, maxtimeMs: now - MAX_AGE_MS + H, skippedMs: 5 * H });
  });
});

describe('Duo ts parsing', () => {
  it('keeps microseconds and honours offsets', () => {
    expect(parseTsMicros('2022-10-25T16:07:45.304526+00:00')).toBe(Date.UTC(2022, 9, 25, 16, 7, 45, 304) * 1000 + 526);
    expect(parseTsMicros('2022-10-25T21:37:45.304526+05:30')).toBe(parseTsMicros('2022-10-25T16:07:45.304526Z'));
    expect(parseTsMicros('2022-10-25T16:07:45+00:00')).toBe(Date.UTC(2022, 9, 25, 16, 7, 45) * 1000);
    expect(tsMillis('2022-10-25T16:07:45.304999+00:00')).toBe(Date.UTC(2022, 9, 25, 16, 7, 45, 304));
  });
  it('rejects what is not a date-time, and reads one without an offset as UTC, never local time', () => {
    for (const bad of [undefined, 5, '', 'yesterday', '2022-10-25', '2022-02-31T00:00:00Z', '2022-10-25T16:07:60Z']) expect(parseTsMicros(bad)).toBeNull();
    expect(parseTsMicros('2022-10-25T16:07:45')).toBe(Date.UTC(2022, 9, 25, 16, 7, 45) * 1000);
  });
});

describe('staleWindowAdvice', () => {
  const old = now - 181 * DAY_MS;

  it('suggests carrying on from the cursor when Duo still serves that time', () => {
    const cursorMs = now - 100 * DAY_MS + 123;
    const advice = staleWindowAdvice({ mintimeMs: old, nextOffset: `${cursorMs},abc` }, now);
    expect(advice).toContain(new Date(old).toISOString());
    expect(advice).toContain(`duo-secops state reset --to ${new Date(cursorMs).toISOString()} --yes`);
    expect(advice).toContain('events of that one millisecond already written are delivered again');
  });

  it('otherwise suggests the oldest time Duo serves, with an hour to spare, which state reset accepts', () => {
    for (const nextOffset of [null, `${old + 1000},abc`, 'not-a-cursor']) {
      const advice = staleWindowAdvice({ mintimeMs: old, nextOffset }, now);
      const to = /--to (\S+) --yes/.exec(advice)?.[1];
      const toMs = Date.parse(to ?? '');
      expect(toMs).toBeGreaterThanOrEqual(now - MAX_AGE_MS + 3_600_000);
      expect(toMs).toBeLessThanOrEqual(now - MAX_AGE_MS + 2 * 3_600_000);
      expect(advice).toContain('no longer available from Duo');
    }
  });
});
