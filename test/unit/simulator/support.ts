/**
 * A minimal signed HTTP client for simulator tests, built on src/duo/sign.ts: independent of the
 * collector's client, so a bug there cannot hide a bug in the simulator (and the other way round).
 */
import { request } from 'undici';
import { canonicalParams, rfc2822Date, signRequest, type SignatureDigest, type SignatureVersion } from '../../../src/duo/sign.js';
import { STREAMS, type StreamName } from '../../../src/duo/streams.js';
import type { Simulator } from '../../../src/simulator/server.js';

export interface SignedGetOptions {
  params?: Record<string, string>;
  ikey?: string;
  skey?: string;
  version?: SignatureVersion;
  digest?: SignatureDigest;
  /** Epoch ms written into the Date header (default now). */
  dateMs?: number;
  /** null: send no Date header at all. */
  omitDate?: boolean;
  path?: string;
  /** Host the signature is computed for (default the simulator's apiHost). */
  signedHost?: string;
  /** x-duo-* headers sent and, for v5, hashed in. */
  duoHeaders?: Record<string, string>;
  /** Sign these params but send `params` (tampering). */
  signedParams?: Record<string, string>;
  /** Replace the Authorization header entirely (undefined: computed; null: none). */
  authorization?: string | null;
  method?: string;
}

export interface SimResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** What a client needs to know about a simulator: where it is and its credentials. */
export type SimTarget = Pick<Simulator, 'url' | 'apiHost' | 'integrations'>;

export async function signedGet(sim: SimTarget, o: SignedGetOptions = {}): Promise<SimResponse> {
  const integration = sim.integrations[0];
  if (!integration) throw new Error('simulator has no integration');
  const params = o.params ?? {};
  const path = o.path ?? STREAMS.telephony.path;
  const date = rfc2822Date(o.dateMs ?? Date.now());
  const method = o.method ?? 'GET';
  const authorization =
    o.authorization === undefined
      ? signRequest({
          ikey: o.ikey ?? integration.ikey,
          skey: o.skey ?? integration.skey,
          method,
          host: o.signedHost ?? sim.apiHost,
          path,
          params: o.signedParams ?? params,
          date: o.duoHeaders?.['X-Duo-Date'] ?? date,
          version: o.version ?? 2,
          digest: o.digest ?? 'sha512',
          body: '',
          duoHeaders: o.duoHeaders ?? {},
        })
      : o.authorization;
  const headers: Record<string, string> = { ...o.duoHeaders };
  if (!o.omitDate) headers['date'] = date;
  if (authorization !== null) headers['authorization'] = authorization;
  const qs = canonicalParams(params);
  const res = await request(`${sim.url}${path}${qs ? `?${qs}` : ''}`, { method: method as 'GET', headers });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export interface SignedPostOptions {
  /** Raw body sent (default ""). */
  body?: string;
  /** Default `application/x-www-form-urlencoded`. */
  contentType?: string;
  /** The parameters signed (default none): a form body's pairs, nothing for a JSON body. */
  signedParams?: Record<string, string>;
  /** Sign this body but send `body` (tampering). */
  signedBody?: string;
  ikey?: string;
  skey?: string;
  version?: SignatureVersion;
  digest?: SignatureDigest;
  dateMs?: number;
  /** Host the signature is computed for (default the simulator's apiHost). */
  signedHost?: string;
  path?: string;
  method?: string;
}

/** A signed POST with a body, as the Accounts API takes it (v5 hashes the raw body). */
export async function signedPost(sim: SimTarget, o: SignedPostOptions = {}): Promise<SimResponse> {
  const integration = sim.integrations[0];
  if (!integration) throw new Error('simulator has no integration');
  const body = o.body ?? '';
  const path = o.path ?? '/accounts/v1/account/list';
  const method = o.method ?? 'POST';
  const date = rfc2822Date(o.dateMs ?? Date.now());
  const authorization = signRequest({
    ikey: o.ikey ?? integration.ikey,
    skey: o.skey ?? integration.skey,
    method,
    host: o.signedHost ?? sim.apiHost,
    path,
    params: o.signedParams ?? {},
    date,
    version: o.version ?? 2,
    digest: o.digest ?? 'sha512',
    body: o.signedBody ?? body,
  });
  const res = await request(`${sim.url}${path}`, {
    method: method as 'POST',
    headers: { date, authorization, 'content-type': o.contentType ?? 'application/x-www-form-urlencoded' },
    ...(method === 'GET' || method === 'HEAD' ? {} : { body }),
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

export interface TelephonyPageBody {
  stat: string;
  code?: number;
  message?: string;
  message_detail?: string;
  response?: {
    items: Array<Record<string, unknown>>;
    metadata: { next_offset?: string | null; total_objects?: number | { relation: string; value: number } };
  };
}

export function parseBody(r: SimResponse): TelephonyPageBody {
  return JSON.parse(r.text) as TelephonyPageBody;
}

export interface PagedResult {
  ids: string[];
  requests: number;
  pages: Array<{ items: number; nextOffset: string | null | undefined; hadKey: boolean }>;
}

/**
 * Page through one window the way docs/duo-api.md says a client must: stop on no items or no cursor.
 * `dateMs` dates each request (default: real time), e.g. by a simulator clock that was moved.
 */
export async function pageAll(
  sim: SimTarget,
  window: { mintimeMs: number; maxtimeMs: number; limit?: number; sort?: 'ts:asc' | 'ts:desc' },
  signing: { dateMs?: () => number } = {},
): Promise<PagedResult> {
  const ids: string[] = [];
  const pages: PagedResult['pages'] = [];
  let nextOffset: string | null | undefined;
  for (;;) {
    const params: Record<string, string> = {
      mintime: String(window.mintimeMs),
      maxtime: String(window.maxtimeMs),
      limit: String(window.limit ?? 1000),
      ...(window.sort && { sort: window.sort }),
      ...(nextOffset && { next_offset: nextOffset }),
    };
    const r = await signedGet(sim, { params, ...(signing.dateMs && { dateMs: signing.dateMs() }) });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
    const body = parseBody(r);
    const response = body.response;
    if (!response) throw new Error(`no response in ${r.text}`);
    for (const item of response.items) ids.push(String(item['telephony_id']));
    nextOffset = response.metadata.next_offset;
    pages.push({ items: response.items.length, nextOffset, hadKey: 'next_offset' in response.metadata });
    if (response.items.length === 0 || !nextOffset) break;
    if (pages.length > 100_000) throw new Error('paging does not end');
  }
  return { ids, requests: pages.length, pages };
}

/** The items of one answer of any log endpoint, and the cursor to send back (null: the end). */
export interface StreamPage {
  items: Array<Record<string, unknown>>;
  /** `metadata.next_offset` as sent: a string, an array, null, or undefined when the key is absent. */
  rawCursor: unknown;
  metadata: Record<string, unknown> | undefined;
}

/** Reads an answer of `stream` the way its documentation shapes it; throws on any other shape. */
export function readStreamPage(stream: StreamName, text: string): StreamPage {
  const body = JSON.parse(text) as { stat: string; response?: unknown };
  if (body.stat !== 'OK') throw new Error(`not OK: ${text}`);
  if (stream === 'administrator') {
    if (!Array.isArray(body.response)) throw new Error('administrator: response is not an array');
    return { items: body.response as Array<Record<string, unknown>>, rawCursor: undefined, metadata: undefined };
  }
  const field = stream === 'authentication' ? 'authlogs' : stream === 'trust_monitor' ? 'events' : 'items';
  const response = body.response as Record<string, unknown>;
  const items = response[field];
  if (!Array.isArray(items)) throw new Error(`${stream}: response.${field} is not an array`);
  const metadata = response['metadata'] as Record<string, unknown>;
  return { items: items as Array<Record<string, unknown>>, rawCursor: metadata['next_offset'], metadata };
}

/**
 * Pages one window of a cursor stream to its end with the stream's own parameters: `next_offset`
 * (authentication's array joined by a comma) or the trust monitor's `offset`. Returns every item.
 */
export async function pageStream(
  sim: SimTarget,
  stream: Exclude<StreamName, 'administrator'>,
  window: { mintimeMs: number; maxtimeMs: number; limit: number },
): Promise<{ items: Array<Record<string, unknown>>; requests: number; cursors: unknown[] }> {
  const items: Array<Record<string, unknown>> = [];
  const cursors: unknown[] = [];
  let cursor: string | undefined;
  for (let requests = 1; ; requests++) {
    const params: Record<string, string> = {
      mintime: String(window.mintimeMs),
      maxtime: String(window.maxtimeMs),
      limit: String(window.limit),
      ...(stream !== 'trust_monitor' && { sort: 'ts:asc' }),
      ...(cursor !== undefined && { [stream === 'trust_monitor' ? 'offset' : 'next_offset']: cursor }),
    };
    const r = await signedGet(sim, { path: STREAMS[stream].path, params });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
    const page = readStreamPage(stream, r.text);
    items.push(...page.items);
    cursors.push(page.rawCursor);
    const raw = page.rawCursor;
    cursor = Array.isArray(raw) ? raw.join(',') : typeof raw === 'string' && raw !== '' ? raw : undefined;
    if (page.items.length === 0 || cursor === undefined) return { items, requests, cursors };
    if (requests > 100_000) throw new Error('paging does not end');
  }
}

/**
 * Reads the administrator log from `mintimeSeconds` to its end as a client must: each answer holds the
 * 1000 earliest events from a mintime in seconds, so the next request asks again from the second of
 * the last event, and the events of that second already taken are dropped as a multiset (identical
 * events are possible). Returns every event once.
 */
export async function pageAdministrator(sim: SimTarget, mintimeSeconds: number): Promise<{ items: Array<Record<string, unknown>>; requests: number }> {
  const items: Array<Record<string, unknown>> = [];
  let from = mintimeSeconds;
  /** The events of second `from` already taken, by content. */
  let taken = new Map<string, number>();
  for (let requests = 1; ; requests++) {
    const r = await signedGet(sim, { path: STREAMS.administrator.path, params: { mintime: String(from) } });
    if (r.status !== 200) throw new Error(`HTTP ${r.status}: ${r.text}`);
    const page = readStreamPage('administrator', r.text).items;
    const skip = new Map(taken);
    for (const item of page) {
      const key = JSON.stringify(item);
      const left = skip.get(key) ?? 0;
      if (Number(item['timestamp']) === from && left > 0) {
        skip.set(key, left - 1);
        continue;
      }
      items.push(item);
    }
    if (page.length < 1000) return { items, requests };
    const lastSecond = Number(page[page.length - 1]!['timestamp']);
    if (lastSecond === from) throw new Error(`1000 or more administrator events in the second ${from}: cannot page past it`);
    from = lastSecond;
    taken = new Map();
    for (const item of page) {
      if (Number(item['timestamp']) !== from) continue;
      const key = JSON.stringify(item);
      taken.set(key, (taken.get(key) ?? 0) + 1);
    }
    if (requests > 100_000) throw new Error('paging does not end');
  }
}
