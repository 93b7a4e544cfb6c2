/**
 * Duo's `ts`: ISO 8601 with microseconds and an offset (`2022-10-25T16:07:45.304526+00:00`), sometimes
 * without the fraction. One parser serves the collector (which needs the exact millisecond to
 * de-duplicate window edges) and the UDM mapping (which normalises to UTC). Hand-written because
 * `Date.parse` keeps milliseconds only and silently accepts local-time forms.
 */

export type ParsedTimestamp =
  /** `utcSecondMs`: epoch ms of the whole UTC second; `fraction`: the sub-second digits as sent (0–9). */
  | { ok: true; utcSecondMs: number; fraction: string }
  | { ok: false; reason: string };

// date, `T`/space, time, optional fraction (`.` or ISO's `,`), optional `Z` or ±hh[[:]mm].
const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

// proto3 JSON's Timestamp range, which is also far beyond any Duo log.
const MIN_YEAR = 1;
const MAX_YEAR = 9999;

function daysInMonth(y: number, m: number): number {
  if (m === 2) return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28;
  return m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31;
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
  if (y < MIN_YEAR || y > MAX_YEAR) return { ok: false, reason: `ts ${quote(ts)} is outside 0001-01-01 to 9999-12-31 UTC` };
  return { ok: true, utcSecondMs: d.getTime(), fraction: frac ?? '' };
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
