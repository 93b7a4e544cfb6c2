/**
 * The one grammar of the objects the collector writes, and its one parser. Every object name is
 *
 *   <prefix>/<yyyy>/<mm>/<dd>/<stream>_<mintimeMs>_<maxtimeMs>_p<page>[_s<n>|_r<n>].json
 *
 * | part        | what it is                                                                        |
 * |-------------|-----------------------------------------------------------------------------------|
 * | prefix      | GCS_PREFIX (may be empty, may hold `/`): the SecOps feed reads everything below it |
 * |             | in accounts mode it ends with the child's account id: `duo-telephony/DA…`          |
 * | yyyy/mm/dd  | the UTC date of the window's start: objects of one day sort together              |
 * | stream      | the Duo log stream, lower case with `-` (`telephony`, `trust-monitor`)             |
 * | mintimeMs, maxtimeMs | the window, epoch milliseconds (13 digits), exactly as requested from Duo |
 * | p<page>     | the page of that window, from 1, at least 5 digits                                 |
 * | _s<n>       | a supplement to that page (events found when it was fetched again), from 1        |
 * | _r<n>       | a repair of that page (written after a check against Duo), from 1                 |
 *
 * The same page of the same window always gets the same name: that, with create-only writes, is what
 * makes a repeated write harmless. The collector writes pages and, for events published inside a page
 * after an earlier attempt wrote it, supplements (collect/store-page.ts); `_r` is reserved for repairs,
 * so the parser, the docs and every reader know it before anything writes it.
 */

import { streamToken } from '../duo/streams.js';

export interface ObjectName {
  prefix: string;
  stream: string;
  mintimeMs: number;
  maxtimeMs: number;
  page: number;
  /** Which supplement of the page this is (1, 2, …); unset for the page itself. */
  supplement?: number;
  /** Which repair of the page this is (1, 2, …); unset for the page itself. */
  repair?: number;
}

/** A stream as object names write it: `_` becomes `-` (`trust_monitor` → `trust-monitor`), as in its prefix. */
export function objectStream(stream: string): string {
  return streamToken(stream);
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

const STREAM = /^[a-z][a-z-]*$/;

/** The UTC date folder of a time: `2026/11/25`. */
function datePath(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}`;
}

export function formatObjectName(n: ObjectName): string {
  if (!STREAM.test(n.stream)) throw new RangeError(`object name: stream "${n.stream}" must be lower case letters and -`);
  if (!(Number.isInteger(n.page) && n.page >= 1)) throw new RangeError(`object name: page ${n.page} must be a whole number from 1`);
  if (n.supplement !== undefined && n.repair !== undefined) throw new RangeError('object name: a supplement or a repair, not both');
  for (const [what, v] of [['supplement', n.supplement], ['repair', n.repair]] as const) {
    if (v !== undefined && !(Number.isInteger(v) && v >= 1)) throw new RangeError(`object name: ${what} ${v} must be a whole number from 1`);
  }
  const suffix = n.supplement !== undefined ? `_s${n.supplement}` : n.repair !== undefined ? `_r${n.repair}` : '';
  const name = `${datePath(n.mintimeMs)}/${n.stream}_${n.mintimeMs}_${n.maxtimeMs}_p${pad(n.page, 5)}${suffix}.json`;
  return n.prefix ? `${n.prefix}/${name}` : name;
}

const GRAMMAR = /^(?:(.+)\/)?(\d{4}\/\d{2}\/\d{2})\/([a-z][a-z-]*)_(\d{13})_(\d{13})_p(\d{5,})(?:_s([1-9]\d*)|_r([1-9]\d*))?\.json$/;

/**
 * Parse an object name back; null when it is not one the collector writes (another file in the
 * bucket, a temp file, a date folder that does not match the window's start).
 */
export function parseObjectName(key: string): ObjectName | null {
  const m = GRAMMAR.exec(key);
  if (!m) return null;
  const [, prefix = '', date, stream, min, max, page, supplement, repair] = m;
  const mintimeMs = Number(min);
  if (datePath(mintimeMs) !== date) return null;
  const name: ObjectName = { prefix, stream: stream!, mintimeMs, maxtimeMs: Number(max), page: Number(page) };
  if (name.page < 1) return null;
  if (supplement !== undefined) name.supplement = Number(supplement);
  if (repair !== undefined) name.repair = Number(repair);
  return name;
}
