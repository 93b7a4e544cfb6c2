/**
 * The log streams: one row per Duo log endpoint the collector reads (docs/streams.md says where each
 * fact comes from and what is unverified). A row is everything the core needs to know of a stream:
 * its path and parameters, where the items and the cursor are in the answer, an item's key and time,
 * and what SecOps calls it. The core (collect/run.ts) is the same for every stream.
 *
 * Every stream is paged the same way from the core's side: a window `[mintimeMs, maxtimeMs]` and an
 * opaque string cursor. Each row turns that into what its endpoint takes (milliseconds or seconds,
 * `next_offset` or `offset`, or a `mintime` moved forward for the administrator log, which has no
 * cursor) and turns the answer back into items and that cursor.
 */
import { createHash } from 'node:crypto';
import { tsMillis } from './ts.js';
import type { Params } from './sign.js';

export const STREAM_NAMES = ['telephony', 'authentication', 'activity', 'trust_monitor', 'administrator'] as const;
export type StreamName = (typeof STREAM_NAMES)[number];

/** A stream's name in prose: `trust_monitor` → `trust monitor`. */
export function streamWords(name: string): string {
  return name.replace(/_/g, ' ');
}

/** A stream's name where `_` cannot stand (prefixes, object names, flags): `trust_monitor` → `trust-monitor`. */
export function streamToken(name: string): string {
  return name.replace(/_/g, '-');
}

/** One log item as Duo sends it. Duo adds fields at any time: unknown ones are kept as they are. */
export type DuoItem = Record<string, unknown>;

/** What the core asks of a stream: a window, a page size and the cursor of the previous page. */
export interface StreamRequest {
  mintimeMs: number;
  maxtimeMs: number;
  limit: number;
  /** The cursor from the previous page of the same window (as `parse` made it); null on the first page. */
  nextOffset?: string | null | undefined;
  /** v2 log endpoints: `ts:asc` unless asked otherwise (`check` asks for the newest event). */
  sort?: 'ts:asc' | 'ts:desc' | undefined;
}

export type ParsedAnswer =
  | { page: { items: DuoItem[]; nextOffset: string | null } }
  /** `fatal`: no other attempt can change it (the administrator log's full second); else retried. */
  | { problem: string; fatal?: boolean };

export interface LogStream {
  name: StreamName;
  /** The endpoint, `GET` only. */
  path: string;
  /** SecOps log type of the feed. */
  logType: string;
  /** SecOps ships a default parser for the log type. */
  secopsParser: boolean;
  /** The field that identifies an item, or null (then its content does). */
  idField: string | null;
  /** The field(s) the item's time is read from, as docs name them. */
  timeField: string;
  /** The largest page the endpoint serves (PAGE_LIMIT is capped to it). */
  maxLimit: number;
  /** `eventtype` added to each line when enriching, as Duo's own client names the stream. */
  eventtype: string;
  /** Duo's query parameters for one request. */
  params(req: StreamRequest): Params;
  /** A 2xx JSON body as a page: items in Duo's order and the cursor of the next page (null: no more). */
  parse(body: unknown, req: StreamRequest): ParsedAnswer;
  /** The millisecond an item is placed at (its window), or null when its time cannot be read. */
  itemMs(item: DuoItem): number | null;
  /**
   * The keys of a page's items, in order: what tells an item from another across pages and windows.
   * The id when there is one, else a hash of the content (the fields the collector adds left out).
   */
  itemKeys(items: readonly DuoItem[]): string[];
  /**
   * The key of one item read back from an object, without its page: equal to its `itemKeys` key for
   * streams with ids; for the administrator log, the content hash alone (several items may share it).
   */
  contentKey(item: DuoItem): string;
  /** The millisecond a cursor names (items before it cannot come again), or undefined when it is opaque. */
  cursorMs(cursor: string | null | undefined): number | undefined;
}

// --- shared pieces -----------------------------------------------------------------------------------

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The fields the collector adds to each line it stores (`eventtype` and `host` with ENRICH, the child
 * account's id and name in accounts mode; page-object.ts): never part of an item's own content.
 */
export const ADDED_FIELDS: ReadonlySet<string> = new Set(['eventtype', 'host', 'account_id', 'account_name']);

/**
 * The hash of an item's own content, the fields the collector adds left out: the same for Duo's item and
 * for its line read back from an object.
 */
export function contentHash(item: DuoItem): string {
  const own: DuoItem = {};
  for (const [k, v] of Object.entries(item)) if (!ADDED_FIELDS.has(k)) own[k] = v;
  return `sha256:${createHash('sha256').update(JSON.stringify(own)).digest('hex')}`;
}

/** An item's id when it has a non-empty one, else its content hash. */
function idOrContent(field: string): (item: DuoItem) => string {
  return (item) => {
    const id = item[field];
    return typeof id === 'string' && id !== '' ? id : contentHash(item);
  };
}

/** `next_offset` as one string: a string for most streams, a 2-element array for authentication. */
export function normalizeNextOffset(value: unknown): { nextOffset: string | null } | { problem: string } {
  if (value === undefined || value === null || value === '') return { nextOffset: null };
  if (typeof value === 'string') return { nextOffset: value };
  if (typeof value === 'number' && Number.isFinite(value)) return { nextOffset: String(value) };
  if (Array.isArray(value)) {
    if (value.length === 0) return { nextOffset: null };
    if (value.every((v) => typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
      return { nextOffset: value.map(String).join(',') };
    }
  }
  return { problem: `"metadata.next_offset" has an unexpected type (${Array.isArray(value) ? 'array of non-strings' : typeof value})` };
}

/** The millisecond of a `"<ts_ms>,…"` cursor, or undefined for a cursor that is not one. */
export function msCursor(cursor: string | null | undefined): number | undefined {
  if (!cursor) return undefined;
  const ms = Number(cursor.split(',')[0]);
  return Number.isSafeInteger(ms) && ms >= 0 ? ms : undefined;
}

/** Checks `stat: OK` and returns `response`; a body that is not Duo's success says why. */
function okResponse(body: unknown): { response: unknown } | { problem: string } {
  if (!isRecord(body)) return { problem: 'JSON that is not an object' };
  const stat = body['stat'];
  if (stat !== 'OK') {
    if (stat === 'FAIL') {
      const said = [body['code'], body['message']].filter((v) => typeof v === 'number' || (typeof v === 'string' && v !== '')).map((v) => String(v).slice(0, 100));
      return { problem: said.length > 0 ? `stat "FAIL" (Duo error ${said.join(' ')})` : 'stat "FAIL"' };
    }
    return { problem: stat === undefined ? 'JSON without Duo\'s "stat" field' : 'an unexpected "stat"' };
  }
  return { response: body['response'] };
}

/** `response.<field>[]` and `response.metadata.next_offset`: the shape of every v2 log and trust monitor. */
function parseListAnswer(body: unknown, field: string): ParsedAnswer {
  const ok = okResponse(body);
  if ('problem' in ok) return ok;
  const response = ok.response;
  if (!isRecord(response)) return { problem: '"response" missing or not an object' };
  const items = response[field];
  if (!Array.isArray(items)) return { problem: `"response.${field}" missing or not an array` };
  const bad = items.findIndex((item) => !isRecord(item));
  if (bad >= 0) return { problem: `"response.${field}[${bad}]" is not an object` };
  const metadata = response['metadata'];
  if (metadata !== undefined && metadata !== null && !isRecord(metadata)) return { problem: '"response.metadata" is not an object' };
  const cursor = normalizeNextOffset(isRecord(metadata) ? metadata['next_offset'] : undefined);
  if ('problem' in cursor) return cursor;
  return { page: { items: items as DuoItem[], nextOffset: cursor.nextOffset } };
}

/** A v2 log endpoint: ms window, `sort=ts:asc`, `next_offset` cursor `"<ts_ms>,<id>"`. */
function v2Log(o: Pick<LogStream, 'name' | 'path' | 'logType' | 'secopsParser' | 'idField' | 'timeField' | 'eventtype' | 'itemMs'> & { itemsField: string }): LogStream {
  const key = idOrContent(o.idField as string);
  return {
    ...o,
    maxLimit: 1000,
    params: (req) => ({
      mintime: String(req.mintimeMs),
      maxtime: String(req.maxtimeMs),
      limit: String(req.limit),
      sort: req.sort ?? 'ts:asc',
      ...(req.nextOffset ? { next_offset: req.nextOffset } : {}),
    }),
    parse: (body) => parseListAnswer(body, o.itemsField),
    itemKeys: (items) => items.map(key),
    contentKey: key,
    cursorMs: msCursor,
  };
}

/** Milliseconds from an epoch-seconds number (a whole second), or null. */
function secondsMs(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) * 1000 : null;
}

// --- the administrator log: no cursor, seconds, identical events possible --------------------------------

/** Duo serves at most this many administrator events from one `mintime`. */
export const ADMIN_PAGE_SIZE = 1000;

function adminItemMs(item: DuoItem): number | null {
  return secondsMs(item['timestamp']) ?? tsMillis(item['isotimestamp']);
}

/**
 * The administrator log has no id and may hold identical events. An item's key is its content hash and
 * how many identical items come before it in the same second: every page starts at a whole second (its
 * `mintime`) and holds that second from its start, so the n-th copy has the same key on every page
 * that holds it, and a copy published later is new. A multiset, kept as a set.
 */
function adminKeys(items: readonly DuoItem[]): string[] {
  const seen = new Map<string, number>();
  return items.map((item) => {
    const hash = contentHash(item);
    const at = `${adminItemMs(item) ?? 'none'} ${hash}`;
    const n = seen.get(at) ?? 0;
    seen.set(at, n + 1);
    return `${hash}#${n}`;
  });
}

/**
 * A page of the administrator log ends the window when Duo ran out (fewer than 1000 events) or when it
 * reached past the window's end; otherwise the next page starts at the second of its last event (that
 * second again, from its start: its events already written are carried and dropped). A full page
 * within one second cannot be paged past: more than 999 events in that second.
 */
function adminParse(body: unknown, req: StreamRequest): ParsedAnswer {
  const ok = okResponse(body);
  if ('problem' in ok) return ok;
  const items = ok.response;
  if (!Array.isArray(items)) return { problem: '"response" is not an array of administrator events' };
  const bad = items.findIndex((item) => !isRecord(item));
  if (bad >= 0) return { problem: `"response[${bad}]" is not an object` };
  const page = items as DuoItem[];
  if (page.length < ADMIN_PAGE_SIZE) return { page: { items: page, nextOffset: null } };
  const lastMs = adminItemMs(page[page.length - 1]!);
  if (lastMs === null) return { problem: 'the last administrator event of a full page has no readable "timestamp": the next page cannot be placed' };
  if (lastMs > req.maxtimeMs) return { page: { items: page, nextOffset: null } };
  const fromMs = adminFromMs(req);
  if (lastMs <= fromMs) {
    return {
      fatal: true,
      problem:
        `Duo holds ${ADMIN_PAGE_SIZE} or more administrator events in the one second ${new Date(lastMs).toISOString()}: ` +
        'it serves at most the 1000 earliest from a mintime in seconds, so the rest of that second cannot be read. ' +
        'Move past it with `duo-secops state reset --logs administrator --to <the next second> --yes` (that second stays incomplete)',
    };
  }
  return { page: { items: page, nextOffset: String(lastMs) } };
}

/** The whole second a page of the administrator log starts at, in ms. */
function adminFromMs(req: StreamRequest): number {
  const fromMs = msCursor(req.nextOffset) ?? req.mintimeMs;
  return Math.floor(fromMs / 1000) * 1000;
}

// --- the table ---------------------------------------------------------------------------------------

/** Milliseconds of an item's ISO `ts` (telephony, activity). */
const isoTs = (item: DuoItem): number | null => tsMillis(item['ts']);

export const STREAMS: Readonly<Record<StreamName, LogStream>> = {
  telephony: v2Log({
    name: 'telephony',
    path: '/admin/v2/logs/telephony',
    logType: 'DUO_TELEPHONY',
    secopsParser: true,
    idField: 'telephony_id',
    timeField: '`ts` (ISO 8601, microseconds)',
    eventtype: 'telephony',
    itemsField: 'items',
    itemMs: isoTs,
  }),
  authentication: v2Log({
    name: 'authentication',
    path: '/admin/v2/logs/authentication',
    logType: 'DUO_AUTH',
    secopsParser: true,
    idField: 'txid',
    timeField: '`isotimestamp` (ISO 8601), else `timestamp` (seconds)',
    eventtype: 'authentication',
    itemsField: 'authlogs',
    itemMs: (item) => tsMillis(item['isotimestamp']) ?? secondsMs(item['timestamp']),
  }),
  activity: v2Log({
    name: 'activity',
    path: '/admin/v2/logs/activity',
    logType: 'DUO_ACTIVITY',
    secopsParser: true,
    idField: 'activity_id',
    timeField: '`ts` (ISO 8601)',
    eventtype: 'activity',
    itemsField: 'items',
    itemMs: isoTs,
  }),
  trust_monitor: {
    name: 'trust_monitor',
    path: '/admin/v1/trust_monitor/events',
    logType: 'DUO_TRUST_MONITOR',
    secopsParser: false,
    idField: 'sekey',
    timeField: '`surfaced_timestamp` (ms)',
    maxLimit: 200,
    eventtype: 'trust_monitor',
    params: (req) => ({
      mintime: String(req.mintimeMs),
      maxtime: String(req.maxtimeMs),
      limit: String(Math.min(req.limit, 200)),
      ...(req.nextOffset ? { offset: req.nextOffset } : {}),
    }),
    parse: (body) => parseListAnswer(body, 'events'),
    itemMs: (item) => {
      const v = item['surfaced_timestamp'];
      return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null;
    },
    itemKeys: (items) => items.map(idOrContent('sekey')),
    contentKey: idOrContent('sekey'),
    // Opaque: what Duo's offset holds is not documented.
    cursorMs: () => undefined,
  },
  administrator: {
    name: 'administrator',
    path: '/admin/v1/logs/administrator',
    logType: 'DUO_ADMIN',
    secopsParser: true,
    idField: null,
    timeField: '`timestamp` (seconds)',
    maxLimit: ADMIN_PAGE_SIZE,
    eventtype: 'administrator',
    params: (req) => ({ mintime: String(adminFromMs(req) / 1000) }),
    parse: adminParse,
    itemMs: adminItemMs,
    itemKeys: adminKeys,
    contentKey: contentHash,
    cursorMs: msCursor,
  },
};

/** `telephony,authentication` → the streams, in the table's order; unknown names say which exist. */
export function parseStreamList(text: string): { streams: StreamName[] } | { problem: string } {
  const names = text
    .split(',')
    .map((s) => s.trim().toLowerCase().replace(/-/g, '_'))
    .filter((s) => s !== '');
  if (names.length === 0) return { problem: `must name at least one of ${STREAM_NAMES.join(', ')}` };
  const unknown = names.filter((n) => !(STREAM_NAMES as readonly string[]).includes(n));
  if (unknown.length > 0) return { problem: `${unknown.join(', ')} ${unknown.length === 1 ? 'is not a' : 'are not'} Duo log stream${unknown.length === 1 ? '' : 's'}: choose from ${STREAM_NAMES.join(', ')}` };
  return { streams: STREAM_NAMES.filter((n) => names.includes(n)) };
}
