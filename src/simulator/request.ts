/**
 * What the simulator checks before serving a page, as Duo does: request credentials (v2 and v5
 * canonical strings, HMAC-SHA512 and HMAC-SHA1, the Date skew) and each endpoint's parameters. Pure
 * functions returning either a value or the Duo failure to send, so every rule is testable without HTTP.
 */
import type { StreamName } from '../duo/streams.js';
import { canonicalize, parseAuthorization, signatureHex, signaturesEqual, type ParamValue, type SignatureDigest } from '../duo/sign.js';
import { decodeOpaqueOffset, ENDPOINTS, type EndpointRules } from './endpoints.js';
import type { PageQuery, SortOrder } from './store.js';

/** A Duo-style failure: HTTP status, 5-digit code, message and optional detail. */
export interface DuoFailure {
  status: number;
  code: number;
  message: string;
  detail?: string;
}

export function failure(status: number, code: number, message: string, detail?: string): DuoFailure {
  return detail === undefined ? { status, code, message } : { status, code, message, detail };
}

export interface SimIntegration {
  ikey: string;
  skey: string;
  /**
   * What the integration may read. `readTelephony: false` refuses the telephony log (403 40301), as
   * `denied` refuses the streams it names; `accounts: false` refuses the Accounts API and every call
   * carrying `account_id` (403 40301). Everything else is allowed: a test integration is a parent
   * unless told otherwise, so child accounts need no extra setup.
   */
  permissions?: { readTelephony?: boolean; denied?: StreamName[]; accounts?: boolean };
}

/** Whether the integration may read `stream`. */
export function mayRead(integration: SimIntegration, stream: StreamName): boolean {
  const p = integration.permissions;
  if (stream === 'telephony' && p?.readTelephony === false) return false;
  return !(p?.denied ?? []).includes(stream);
}

/** Whether the integration may list child accounts and call them with `account_id` (default yes). */
export function mayUseAccounts(integration: SimIntegration): boolean {
  return integration.permissions?.accounts !== false;
}

/**
 * Which account a log request is for: the parent's own (no `account_id`), a child's by its id, or
 * `null` when `account_id` is sent more than once (no account can be chosen: 400, as an unknown id).
 */
export function accountIdOf(query: QueryParams): string | undefined | null {
  return single(query, 'account_id');
}

/**
 * The signed parameters of a POST body: form pairs decoded as a query string is, none for a JSON
 * body (v5 hashes the raw body either way). A body of another type is read as a form, as Duo's
 * Python clients send it.
 */
export function bodyParams(contentType: string | undefined, body: string): QueryParams {
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) return new Map();
  return parseQuery(body);
}

/** Query parameters in arrival order of their values; a repeated key keeps every value. */
export type QueryParams = Map<string, string[]>;

function decodeComponent(raw: string): string {
  // Form decoding: a `+` is a space, as the Python frameworks in front of Duo read it.
  const spaced = raw.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(spaced);
  } catch {
    // Malformed escapes are kept as sent: the signature check then fails, as it would at Duo.
    return spaced;
  }
}

/** Parse the raw query string (without `?`). Duo re-canonicalises the decoded pairs to check the signature. */
export function parseQuery(raw: string): QueryParams {
  const params: QueryParams = new Map();
  if (raw === '') return params;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = decodeComponent(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : decodeComponent(part.slice(eq + 1));
    const values = params.get(key);
    if (values) values.push(value);
    else params.set(key, [value]);
  }
  return params;
}

function toSignParams(params: QueryParams): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = Object.create(null) as Record<string, ParamValue>;
  for (const [k, v] of params) out[k] = v.length === 1 ? (v[0] as string) : v;
  return out;
}

export interface CredentialCheck {
  method: string;
  path: string;
  query: QueryParams;
  /** Request headers as Node gives them (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Canonical host configured for the simulator; the request's own Host header is accepted too. */
  apiHost: string;
  /** More hosts a signature may be made for (a removed child's, whose client still signs for it). */
  extraHosts?: Iterable<string>;
  /** The raw request body, hashed by v5 (default "": a GET). */
  body?: string;
  integrations: ReadonlyMap<string, SimIntegration>;
  nowMs: number;
  maxSkewSeconds: number;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}

/** Which digest a hex signature was made with, told by its length. */
function digestOf(signature: string): SignatureDigest | undefined {
  if (signature.length === 128) return 'sha512';
  if (signature.length === 40) return 'sha1';
  return undefined;
}

/**
 * Verify `Authorization` and the request date. Order of checks: credentials present (40101), known
 * integration (40102), a date to check against (40105), signature (40103), then the skew (40105): a
 * stale but correctly signed request is a clock problem, a stale and wrongly signed one a key problem.
 */
export function verifyCredentials(c: CredentialCheck): { ok: true; integration: SimIntegration } | { ok: false; failure: DuoFailure } {
  const auth = parseAuthorization(headerValue(c.headers['authorization']));
  if (!auth) return { ok: false, failure: failure(401, 40101, 'Missing request credentials') };
  const integration = c.integrations.get(auth.ikey);
  if (!integration) return { ok: false, failure: failure(401, 40102, 'Invalid integration key in request credentials') };

  // Clients that sign X-Duo-Date (v5, several non-Python clients) put that value on the first line.
  const date = headerValue(c.headers['x-duo-date']) ?? headerValue(c.headers['date']);
  const dateMs = date === undefined ? Number.NaN : Date.parse(date);
  if (date === undefined || Number.isNaN(dateMs)) {
    return { ok: false, failure: failure(401, 40105, 'Invalid request timestamp') };
  }

  const digest = digestOf(auth.signature);
  if (digest === undefined || !signatureMatches(c, integration.skey, auth.signature, digest, date)) {
    return { ok: false, failure: failure(401, 40103, 'Invalid signature in request credentials') };
  }
  if (Math.abs(c.nowMs - dateMs) > c.maxSkewSeconds * 1000) {
    return { ok: false, failure: failure(401, 40105, 'Invalid request timestamp') };
  }
  return { ok: true, integration };
}

function signatureMatches(c: CredentialCheck, skey: string, signature: string, digest: SignatureDigest, date: string): boolean {
  const duoHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.headers)) {
    const v = headerValue(value);
    if (name.startsWith('x-duo-') && v !== undefined) duoHeaders[name] = v;
  }
  const params = toSignParams(c.query);
  const hosts = new Set([c.apiHost.toLowerCase()]);
  for (const h of c.extraHosts ?? []) hosts.add(h.toLowerCase());
  const hostHeader = headerValue(c.headers['host']);
  if (hostHeader) hosts.add(hostHeader.toLowerCase());
  let matched = false;
  for (const host of hosts) {
    for (const version of [2, 5] as const) {
      const canonical = canonicalize({ date, method: c.method, host, path: c.path, params, version, body: c.body ?? '', duoHeaders });
      // No early exit: every candidate costs the same whichever one matches.
      if (signaturesEqual(signatureHex(skey, canonical, digest), signature)) matched = true;
    }
  }
  return matched;
}

export const MAX_LOOKBACK_DAYS = 180;
const DAY_MS = 86_400_000;
const MS13 = /^\d{13}$/;
const CURSOR = /^(\d{13}),(.+)$/s;

/**
 * Validate the parameters of a window endpoint the way Duo does: 40001 naming what is missing, then
 * 40002 naming the first invalid one (`message_detail`). `rules` are the endpoint's (default
 * telephony's): its page sizes, whether `sort` is a parameter, and the name of its cursor parameter
 * (`offset` for the trust monitor, whose cursor is opaque). Parameters an endpoint does not take are
 * ignored.
 */
export function parsePageQuery(
  query: QueryParams,
  nowMs: number,
  rules: PageRules = ENDPOINTS.telephony,
): { ok: true; query: PageQuery } | { ok: false; failure: DuoFailure } {
  const invalid = (detail: string) => ({ ok: false as const, failure: failure(400, 40002, 'Invalid request parameters', detail) });
  const missing = ['mintime', 'maxtime'].filter((k) => !query.has(k));
  if (missing.length > 0) {
    return { ok: false, failure: failure(400, 40001, 'Missing required request parameters', missing.join(', ')) };
  }

  const mintime = single(query, 'mintime');
  if (typeof mintime !== 'string' || !MS13.test(mintime)) return invalid('mintime');
  const maxtime = single(query, 'maxtime');
  if (typeof maxtime !== 'string' || !MS13.test(maxtime)) return invalid('maxtime');
  const mintimeMs = Number(mintime);
  const maxtimeMs = Number(maxtime);
  if (rules.lookbackRule && mintimeMs < nowMs - MAX_LOOKBACK_DAYS * DAY_MS) return invalid(`mintime must be within the past ${MAX_LOOKBACK_DAYS} days`);
  if (maxtimeMs <= mintimeMs) return invalid('maxtime must be greater than mintime');

  let limit = rules.defaultLimit;
  const rawLimit = single(query, 'limit');
  if (rawLimit !== undefined) {
    if (rawLimit === null || !/^\d{1,4}$/.test(rawLimit)) return invalid('limit');
    limit = Number(rawLimit);
    if (limit < 1 || limit > rules.maxLimit) return invalid('limit');
  }

  let sort: SortOrder = rules.sortable ? 'ts:desc' : 'ts:asc';
  const rawSort = rules.sortable ? single(query, 'sort') : undefined;
  if (rawSort !== undefined) {
    if (rawSort !== 'ts:asc' && rawSort !== 'ts:desc') return invalid('sort');
    sort = rawSort;
  }

  let cursor: PageQuery['cursor'];
  const rawOffset = single(query, rules.cursorParam);
  if (rawOffset !== undefined) {
    const text = rawOffset === null ? undefined : rules.cursorShape === 'opaque' ? decodeOpaqueOffset(rawOffset) : rawOffset;
    const m = text === undefined ? null : CURSOR.exec(text);
    if (!m) return invalid(rules.cursorParam);
    cursor = { tsMs: Number(m[1]), id: m[2] as string };
  }
  return { ok: true, query: { mintimeMs, maxtimeMs, limit, sort, cursor } };
}

/** The rules `parsePageQuery` reads (ENDPOINTS holds every endpoint's). */
export type PageRules = Pick<EndpointRules, 'defaultLimit' | 'maxLimit' | 'sortable' | 'cursorParam' | 'cursorShape' | 'lookbackRule'>;

/** Epoch seconds as Duo's v1 endpoints take them: at most 10 digits (13 would be milliseconds). */
const SECONDS = /^\d{1,10}$/;

/**
 * The administrator log's one parameter: `mintime` in epoch seconds, optional (from the start of the
 * log). No 180-day rule (not known to apply there). A `maxtime` is ignored, as the endpoint takes none;
 * it is still signed as sent.
 */
export function parseAdministratorQuery(query: QueryParams): { ok: true; query: { mintimeSeconds: number } } | { ok: false; failure: DuoFailure } {
  const mintime = single(query, 'mintime');
  if (mintime === undefined) return { ok: true, query: { mintimeSeconds: 0 } };
  if (mintime === null || !SECONDS.test(mintime)) return { ok: false, failure: failure(400, 40002, 'Invalid request parameters', 'mintime') };
  return { ok: true, query: { mintimeSeconds: Number(mintime) } };
}

/** A parameter's one value; null when it was sent more than once. */
function single(query: QueryParams, name: string): string | undefined | null {
  const v = query.get(name);
  if (v === undefined) return undefined;
  return v.length === 1 ? (v[0] as string) : null;
}
