import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { normaliseTimestamp } from '../../../src/udm/timestamp.js';

describe('normaliseTimestamp', () => {
  it.each([
    ['2022-10-25T16:07:45.304526+00:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45.304526Z', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25t16:07:45.304526z', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25 16:07:45.304526+00:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45,304526+00:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45+00:00', '2022-10-25T16:07:45.000000Z'],
    ['2022-10-25T16:07:45.3+00:00', '2022-10-25T16:07:45.300000Z'],
    ['2022-10-25T16:07:45.304526000+00:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45.3045261+00:00', '2022-10-25T16:07:45.304526100Z'],
    ['2022-10-25T21:37:45.304526+05:30', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T21:37:45.304526+0530', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T18:07:45.304526+02', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T06:07:45.304526-10:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45.304526-00:00', '2022-10-25T16:07:45.304526Z'],
    ['2022-10-25T16:07:45.304526', '2022-10-25T16:07:45.304526Z'],
    ['2024-02-29T23:30:00+00:00', '2024-02-29T23:30:00.000000Z'],
    ['2024-03-01T01:00:00+02:00', '2024-02-29T23:00:00.000000Z'],
    ['2023-01-01T00:30:00.5+01:00', '2022-12-31T23:30:00.500000Z'],
    ['0050-06-01T00:00:00Z', '0050-06-01T00:00:00.000000Z'],
    ['0001-01-01T00:30:00+00:30', '0001-01-01T00:00:00.000000Z'],
    ['9999-12-31T23:59:59.999999Z', '9999-12-31T23:59:59.999999Z'],
  ])('%s → %s', (input, expected) => {
    expect(normaliseTimestamp(input)).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['', 'not an ISO 8601 timestamp'],
    ['yesterday', 'not an ISO 8601 timestamp'],
    ['2022-10-25', 'not an ISO 8601 timestamp'],
    ['1666714065', 'not an ISO 8601 timestamp'],
    ['2022-10-25T16:07+00:00', 'not an ISO 8601 timestamp'],
    [' 2022-10-25T16:07:45Z', 'not an ISO 8601 timestamp'],
    ['2022-13-01T00:00:00Z', 'no month 13'],
    ['2022-00-01T00:00:00Z', 'no month 0'],
    ['2023-02-29T00:00:00Z', 'no day 29'],
    ['2022-04-31T00:00:00Z', 'no day 31'],
    ['2022-10-25T24:00:00Z', 'invalid time of day'],
    ['2022-10-25T16:60:00Z', 'invalid time of day'],
    ['2016-12-31T23:59:60Z', 'second 60'],
    ['2022-10-25T16:07:45.1234567890Z', 'more precise than nanoseconds'],
    ['2022-10-25T16:07:45+24:00', 'invalid UTC offset'],
    ['2022-10-25T16:07:45+05:60', 'invalid UTC offset'],
    ['0001-01-01T00:00:00+00:01', 'outside 0001-01-01'],
    ['0000-06-01T00:00:00Z', 'outside 0001-01-01'],
    ['9999-12-31T23:59:59-00:01', 'outside 0001-01-01'],
  ])('rejects %j (%s)', (input, why) => {
    const r = normaliseTimestamp(input);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toContain(why);
  });

  it('shortens a long value in the reason', () => {
    const r = normaliseTimestamp('x'.repeat(10_000));
    expect(!r.ok && r.reason.length).toBeLessThan(120);
  });

  it('keeps the instant and every sub-second digit, for any time, offset and precision', () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date('1000-01-01T00:00:00Z'), max: new Date('9000-12-31T23:59:59Z'), noInvalidDate: true }),
        fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }),
        fc.stringMatching(/^\d{0,9}$/),
        (date, offsetMinutes, digits) => {
          // Write the instant as local time at that offset, then expect it back in UTC.
          const local = new Date(date.getTime() + offsetMinutes * 60_000);
          const abs = Math.abs(offsetMinutes);
          const zone = `${offsetMinutes < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const text = `${local.toISOString().slice(0, 19)}${digits ? `.${digits}` : ''}${zone}`;
          const r = normaliseTimestamp(text);
          expect(r.ok).toBe(true);
          if (!r.ok) return;
          expect(r.value.slice(0, 19)).toBe(date.toISOString().slice(0, 19));
          const frac = /\.(\d+)Z$/.exec(r.value)?.[1] ?? '';
          expect(frac.length === 6 || frac.length === 9).toBe(true);
          expect(frac.replace(/0+$/, '')).toBe(digits.replace(/0+$/, ''));
        },
      ),
      { numRuns: 500 },
    );
  });
});
