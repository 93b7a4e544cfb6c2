/**
 * What differs from one Duo log endpoint to the next, as data and pure functions: the parameters each
 * takes (limits, sort, the name of its cursor parameter, milliseconds or seconds), and the shape of its
 * answer (where the items are, how the cursor is written, whether `total_objects` comes with them).
 * The server (server.ts) does the rest the same way for every endpoint.
 */
import { STREAMS, STREAM_NAMES, type StreamName } from '../duo/streams.js';
import type { SimEvent } from './dataset.js';

export interface EndpointRules {
  stream: StreamName;
  path: string;
  /** `window`: mintime/maxtime in ms, a limit and a cursor; `administrator`: a mintime in seconds only. */
  kind: 'window' | 'administrator';
  defaultLimit: number;
  maxLimit: number;
  /** Whether `sort` is a parameter (`ts:asc`/`ts:desc`, default desc); else pages are ascending. */
  sortable: boolean;
  /** The query parameter that carries the cursor back. */
  cursorParam: 'next_offset' | 'offset';
  /** How `metadata.next_offset` is written: `"<ms>,<id>"`, `["<ms>","<id>"]`, or an opaque token. */
  cursorShape: 'string' | 'array' | 'opaque';
  /** Where the items are in `response`. */
  itemsField: string;
  /** `total_objects` in `metadata`: telephony's two forms, an integer, or none. */
  totalObjects: 'either' | 'integer' | 'none';
  /** Whether `mintime` older than 180 days is refused. */
  lookbackRule: boolean;
}

/** Duo serves at most this many administrator events from one mintime. */
export const ADMINISTRATOR_MAX_EVENTS = 1000;

const v2 = { kind: 'window', defaultLimit: 100, maxLimit: 1000, sortable: true, cursorParam: 'next_offset', lookbackRule: true } as const;

export const ENDPOINTS: Readonly<Record<StreamName, EndpointRules>> = {
  telephony: { ...v2, stream: 'telephony', path: STREAMS.telephony.path, cursorShape: 'string', itemsField: 'items', totalObjects: 'either' },
  authentication: { ...v2, stream: 'authentication', path: STREAMS.authentication.path, cursorShape: 'array', itemsField: 'authlogs', totalObjects: 'integer' },
  activity: { ...v2, stream: 'activity', path: STREAMS.activity.path, cursorShape: 'string', itemsField: 'items', totalObjects: 'none' },
  trust_monitor: {
    stream: 'trust_monitor',
    path: STREAMS.trust_monitor.path,
    kind: 'window',
    defaultLimit: 50,
    maxLimit: 200,
    sortable: false,
    cursorParam: 'offset',
    cursorShape: 'opaque',
    itemsField: 'events',
    totalObjects: 'none',
    lookbackRule: true,
  },
  administrator: {
    stream: 'administrator',
    path: STREAMS.administrator.path,
    kind: 'administrator',
    defaultLimit: ADMINISTRATOR_MAX_EVENTS,
    maxLimit: ADMINISTRATOR_MAX_EVENTS,
    sortable: false,
    cursorParam: 'next_offset',
    cursorShape: 'string',
    itemsField: '',
    totalObjects: 'none',
    lookbackRule: false,
  },
};

const BY_PATH = new Map<string, StreamName>(STREAM_NAMES.map((name) => [ENDPOINTS[name].path, name]));

/** The stream served at a path, or undefined. */
export function streamAt(path: string): StreamName | undefined {
  return BY_PATH.get(path);
}

/**
 * The trust monitor's cursor: Duo documents its `offset` as opaque, so the simulator's does not read
 * as `"<ms>,<id>"` either (a client that parses it would be relying on what Duo does not promise).
 * base64url, so it needs no escaping in a query.
 */
export function encodeOpaqueOffset(cursor: string): string {
  return Buffer.from(`sim:${cursor}`, 'utf8').toString('base64url');
}

/** The `"<ms>,<id>"` inside an opaque offset, or undefined when it is not one of ours. */
export function decodeOpaqueOffset(offset: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(offset)) return undefined;
  const text = Buffer.from(offset, 'base64url').toString('utf8');
  return text.startsWith('sim:') ? text.slice(4) : undefined;
}

/**
 * `metadata.next_offset` as JSON, written the stream's way from the simulator's `"<ms>,<id>"` cursor:
 * the string itself, a 2-element array (authentication), or an opaque token (trust monitor).
 */
export function cursorJson(rules: Pick<EndpointRules, 'cursorShape'>, cursor: string | null): string {
  if (cursor === null) return 'null';
  if (rules.cursorShape === 'opaque') return JSON.stringify(encodeOpaqueOffset(cursor));
  if (rules.cursorShape === 'array') {
    const comma = cursor.indexOf(',');
    return JSON.stringify([cursor.slice(0, comma), cursor.slice(comma + 1)]);
  }
  return JSON.stringify(cursor);
}

/** The items as one JSON array body, from their pre-serialised strings. */
export function joinItems(events: readonly SimEvent[]): string {
  let out = '';
  for (let i = 0; i < events.length; i++) out += i === 0 ? (events[i] as SimEvent).json : `,${(events[i] as SimEvent).json}`;
  return out;
}

/** The answer of the administrator log: a bare array. */
export function administratorBody(events: readonly SimEvent[]): string {
  return `{"stat":"OK","response":[${joinItems(events)}]}`;
}

export interface ListPage {
  events: readonly SimEvent[];
  /** `metadata` without braces, as the server composed it (cursor and total_objects). */
  metadata: string;
}

/** The answer of a window endpoint: `response.<itemsField>[]` and `response.metadata`. */
export function listBody(rules: Pick<EndpointRules, 'itemsField'>, page: ListPage): string {
  return `{"stat":"OK","response":{"${rules.itemsField}":[${joinItems(page.events)}],"metadata":{${page.metadata}}}}`;
}
