/**
 * Duo's `ts` (ISO 8601 with an offset and usually microseconds) → UDM `eventTimestamp`.
 *
 * The result is always UTC with a `Z` and exactly six fraction digits (`.000000` when `ts` had none),
 * nine only when `ts` carried non-zero digits beyond the microsecond: fixed width keeps the output
 * sortable as text and never drops precision Duo sent. Parsing is done by hand rather than with
 * `Date.parse`, which would lose the microseconds and silently accept local-time forms.
 */

import { parseTimestamp } from '../duo/ts.js';

export type TimestampResult = { ok: true; value: string } | { ok: false; reason: string };

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/**
 * Normalise an ISO 8601 / RFC 3339 timestamp to UTC `Z` keeping its sub-second digits.
 * A timestamp without an offset is taken as UTC (see `parseTimestamp`).
 */
export function normaliseTimestamp(ts: string): TimestampResult {
  const p = parseTimestamp(ts);
  if (!p.ok) return p;
  const digits = p.fraction;
  const fraction = digits.length <= 6 || /^0*$/.test(digits.slice(6)) ? digits.slice(0, 6).padEnd(6, '0') : digits.padEnd(9, '0');
  // Already UTC (Duo's own `+00:00`): the date and time are the input's own characters, whose fixed
  // width the parser has checked. Only an offset needs the calendar arithmetic.
  if (p.offsetMinutes === 0) return { ok: true, value: `${ts.slice(0, 10)}T${ts.slice(11, 19)}.${fraction}Z` };
  const d = new Date(p.utcSecondMs);
  const value =
    `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}` +
    `T${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${fraction}Z`;
  return { ok: true, value };
}

/** What `eventTimestamp` must look like; the validator checks the date itself with `normaliseTimestamp`. */
export const UTC_TIMESTAMP_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;
