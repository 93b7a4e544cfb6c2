/**
 * Duo's `ts` (ISO 8601 with an offset and usually microseconds) → UDM `eventTimestamp`.
 *
 * The result is always UTC with a `Z` and exactly six fraction digits (`.000000` when `ts` had none),
 * nine only when `ts` carried non-zero digits beyond the microsecond: fixed width keeps the output
 * sortable as text and never drops precision Duo sent. Parsing is done by hand rather than with
 * `Date.parse`, which would lose the microseconds and silently accept local-time forms.
 */

export type TimestampResult = { ok: true; value: string } | { ok: false; reason: string };

// date, `T`/space, time, optional fraction (`.` or ISO's `,`), optional `Z` or ±hh[[:]mm].
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

// proto3 JSON's Timestamp range.
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

function isLeapYear(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}

function daysInMonth(y: number, m: number): number {
  if (m === 2) return isLeapYear(y) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Shown in reasons: long or odd input is cut so a reason stays one readable line. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/**
 * Normalise an ISO 8601 / RFC 3339 timestamp to UTC `Z` keeping its sub-second digits.
 * A timestamp without an offset is taken as UTC: Duo's timestamps are UTC and must never be read
 * as the local time of the machine running the conversion.
 */
export function normaliseTimestamp(ts: string): TimestampResult {
  const m = TS_RE.exec(ts);
  if (!m) return { ok: false, reason: `ts ${quote(ts)} is not an ISO 8601 timestamp` };
  const [, ys, mos, ds, hs, mis, ss, frac, , sign, ohs, oms] = m;
  const year = Number(ys);
  const month = Number(mos);
  const day = Number(ds);
  const hour = Number(hs);
  const minute = Number(mis);
  const second = Number(ss);
  if (month < 1 || month > 12) return { ok: false, reason: `ts ${quote(ts)} has no month ${month}` };
  if (day < 1 || day > daysInMonth(year, month)) return { ok: false, reason: `ts ${quote(ts)} has no day ${day} in that month` };
  if (hour > 23 || minute > 59) return { ok: false, reason: `ts ${quote(ts)} has an invalid time of day` };
  // UDM timestamps, like proto3's, have no leap seconds.
  if (second > 59) return { ok: false, reason: `ts ${quote(ts)} has second ${second}, which a UDM timestamp cannot hold` };
  if (frac !== undefined && frac.length > 9) {
    return { ok: false, reason: `ts ${quote(ts)} is more precise than nanoseconds, which a UDM timestamp cannot hold` };
  }
  let offsetMinutes = 0;
  if (sign !== undefined) {
    const oh = Number(ohs);
    const om = oms === undefined ? 0 : Number(oms);
    if (oh > 23 || om > 59) return { ok: false, reason: `ts ${quote(ts)} has an invalid UTC offset` };
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }

  // setUTCFullYear, unlike Date.UTC, does not turn years 0–99 into 1900–1999.
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute - offsetMinutes, second, 0);
  const y = d.getUTCFullYear();
  if (y < MIN_YEAR || y > MAX_YEAR) {
    return { ok: false, reason: `ts ${quote(ts)} is outside 0001-01-01 to 9999-12-31 UTC` };
  }

  const digits = frac ?? '';
  const fraction = digits.length <= 6 || /^0*$/.test(digits.slice(6)) ? digits.slice(0, 6).padEnd(6, '0') : digits.padEnd(9, '0');
  const value =
    `${pad(y, 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${fraction}Z`;
  return { ok: true, value };
}

/** What `eventTimestamp` must look like; the validator checks the date itself with `normaliseTimestamp`. */
export const UTC_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
