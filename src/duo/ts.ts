/**
 * Duo's `ts`: ISO 8601 with microseconds and an offset (`2022-10-25T16:07:45.304526+00:00`), sometimes
 * without the fraction. One parser serves the collector (which needs the exact millisecond to
 * de-duplicate window edges) and the UDM mapping (which normalises to UTC). Hand-written because
 * `Date.parse` keeps milliseconds only and silently accepts local-time forms.
 */

export type ParsedTimestamp =
  /**
   * `utcSecondMs`: epoch ms of the whole UTC second; `fraction`: the sub-second digits as sent (0–9);
   * `offsetMinutes`: the UTC offset as written (0 for `Z`, `+00:00` or no offset).
   */
  | { ok: true; utcSecondMs: number; fraction: string; offsetMinutes: number }
  | { ok: false; reason: string };

// date, `T`/space, time, optional fraction (`.` or ISO's `,`), optional `Z` or ±hh[[:]mm].
const TS_RE = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:[.,](\d+))?(?:[Zz]|([+-])(\d{2})(?::?(\d{2}))?)?$/;

/** Epoch ms of a UTC date-time; years 0–99 stay themselves (`Date.UTC` would make them 1900–1999). */
function utcMs(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(0);
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second, 0);
  return d.getTime();
}

// proto3 JSON's Timestamp range, 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z, far beyond any Duo log.
const MIN_MS = utcMs(1, 1, 1, 0, 0, 0);
const MAX_MS = utcMs(9999, 12, 31, 23, 59, 59);

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
}

/** The decimal number written by `length` ASCII digits of `s` from `start` (the caller checked they are digits). */
function digits(s: string, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) n = n * 10 + s.charCodeAt(i) - 48;
  return n;
}

/** Shown in reasons: long or odd input is cut so a reason stays one readable line. */
export function quote(s: string): string {
  return JSON.stringify(s.length > 64 ? `${s.slice(0, 64)}…` : s);
}

/**
 * Parse an ISO 8601 / RFC 3339 timestamp. A timestamp without an offset is taken as UTC: Duo's are
 * UTC and must never be read as the local time of the machine running the code.
 */
export function parseTimestamp(ts: string): ParsedTimestamp {
  const m = TS_RE.exec(ts);
  if (!m) return { ok: false, reason: `ts ${quote(ts)} is not an ISO 8601 timestamp` };
  // The pattern fixed where each digit is: read them as numbers in place, with no substrings.
  const year = digits(ts, 0, 4);
  const month = digits(ts, 5, 2);
  const day = digits(ts, 8, 2);
  const hour = digits(ts, 11, 2);
  const minute = digits(ts, 14, 2);
  const second = digits(ts, 17, 2);
  const frac = m[1];
  const sign = m[2];
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
    const oh = Number(m[3]);
    const om = m[4] === undefined ? 0 : Number(m[4]);
    if (oh > 23 || om > 59) return { ok: false, reason: `ts ${quote(ts)} has an invalid UTC offset` };
    offsetMinutes = (sign === '-' ? -1 : 1) * (oh * 60 + om);
  }
  // Plain numbers, no Date object: this runs once per event in the collector and in the UDM mapping.
  const utcSecondMs = utcMs(year, month, day, hour, minute - offsetMinutes, second);
  if (utcSecondMs < MIN_MS || utcSecondMs > MAX_MS) return { ok: false, reason: `ts ${quote(ts)} is outside 0001-01-01 to 9999-12-31 UTC` };
  return { ok: true, utcSecondMs, fraction: frac ?? '', offsetMinutes };
}

/** Epoch microseconds of a Duo `ts`, or null when it is not a valid timestamp. */
export function parseTsMicros(ts: unknown): number | null {
  if (typeof ts !== 'string') return null;
  const p = parseTimestamp(ts);
  return p.ok ? p.utcSecondMs * 1000 + Number(p.fraction.padEnd(6, '0').slice(0, 6)) : null;
}

/** The millisecond an item's `ts` falls in (floor), or null. */
export function tsMillis(ts: unknown): number | null {
  const us = parseTsMicros(ts);
  return us === null ? null : Math.floor(us / 1000);
}
