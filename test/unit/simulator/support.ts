/**
 * A minimal signed HTTP client for simulator tests, built on src/duo/sign.ts: independent of the
 * collector's client, so a bug there cannot hide a bug in the simulator (and the other way round).
 */
import { request } from 'undici';
import { canonicalParams, rfc2822Date, signRequest, type SignatureDigest, type SignatureVersion } from '../../../src/duo/sign.js';
import { TELEPHONY_PATH } from '../../../src/duo/types.js';
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
  const path = o.path ?? TELEPHONY_PATH;
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
