/**
 * Duo's `ts` is ISO 8601 with microseconds and an offset (`2022-10-25T16:07:45.304526+00:00`), sometimes
 * without the fraction. `Date.parse` keeps milliseconds only, so the fraction is read separately.
 */
const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/** Epoch microseconds of a Duo `ts`, or null when it is not a valid ISO 8601 date-time with offset. */
export function parseTsMicros(ts: unknown): number | null {
  if (typeof ts !== 'string') return null;
  const m = ISO.exec(ts.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac = '', off = 'Z'] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return null;
  let offsetMin = 0;
  if (off !== 'Z' && off !== 'z') {
    const sign = off.startsWith('-') ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = Number(digits.slice(2) || '0');
    if (oh > 23 || om > 59) return null;
    offsetMin = sign * (oh * 60 + om);
  }
  const ms = Date.UTC(Number(y), month - 1, day, hour, minute, Math.min(second, 59));
  if (!Number.isFinite(ms)) return null;
  // Reject impossible calendar dates (Date.UTC rolls 31 Feb over into March).
  const check = new Date(ms);
  if (check.getUTCDate() !== day || check.getUTCMonth() !== month - 1) return null;
  const micros = Number(frac.padEnd(6, '0').slice(0, 6));
  return (ms - offsetMin * 60_000) * 1000 + micros;
}

/** The millisecond an item's `ts` falls in (floor), or null. */
export function tsMillis(ts: unknown): number | null {
  const us = parseTsMicros(ts);
  return us === null ? null : Math.floor(us / 1000);
}
