/**
 * Signed, paced, retrying client for the Duo Admin API log endpoints the collector reads (one GET per
 * page; the stream table, streams.ts, says each endpoint's parameters and answer).
 *
 * Hand-written on top of undici rather than `@duosecurity/duo_api`: Duo's Node client is callback-based,
 * retries only 429, has no pacing, timeout or abort, and hands back bodies unchecked. Retry libraries
 * (p-retry, undici's RetryAgent) would not re-sign each attempt with a fresh `Date`, which Duo requires.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { AbortedError, ConfigError, DuoApiError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';
import { VERSION } from '../version.js';
import { HINT_CLOCK, isRetryableStatus, refusalFor, statusOfDuoCode } from './errors-map.js';
import { canonicalParams, rfc2822Date, signRequest, type Params, type SignatureDigest, type SignatureVersion } from './sign.js';
import type { DuoPage, PageRequest } from './types.js';
import { createPacer, AUTO_CEILING_RPM, type LearnedRates, type Outcome } from './pacer.js';

export type { LearnedRates } from './pacer.js';
import { STREAM_NAMES, type LogStream } from './streams.js';

export interface DuoClientOptions {
  ikey: string;
  skey: string;
  /** `api-xxxx.duosecurity.com`: signed into every request. */
  apiHost: string;
  /** Default `https://${apiHost}`; the simulator or a proxy otherwise. */
  baseUrl?: string;
  /**
   * A child account read with its parent's keys (accounts/): sent as `account_id` on every request, with
   * `apiHost` the child's own host.
   */
  accountId?: string;
  /**
   * The ceiling of the learned pace, per endpoint and minute (pacer.ts): every attempt counts. `auto`
   * (default) is AUTO_CEILING_RPM; `Infinity` turns pacing and learning off.
   */
  requestsPerMinute?: number | 'auto';
  /** Per attempt: connect + headers + body. Default 30000. */
  timeoutMs?: number;
  /** Default 6: waits base·1, 2, 4, 8, 16, 32 (+ jitter) then gives up. */
  maxRetries?: number;
  /** Default 1000. */
  backoffBaseMs?: number;
  /** 0..jitterMs added to each backoff wait. Default 1000. */
  jitterMs?: number;
  signatureVersion?: SignatureVersion;
  digest?: SignatureDigest;
  logger?: Logger;
  /** Epoch ms, for the `Date` header. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  userAgent?: string;
}

export interface DuoClientStats {
  /** Attempts sent, retries included. */
  requests: number;
  retries: number;
  rateLimited: number;
  serverErrors: number;
  networkErrors: number;
  badResponses: number;
}

export interface DuoClient {
  /** One page of `stream`, retried, paced and re-signed as needed. */
  getPage(stream: LogStream, req: PageRequest, signal?: AbortSignal): Promise<DuoPage>;
  /** Every request of this client. */
  readonly stats: Readonly<DuoClientStats>;
  /** The requests to one stream's endpoint (live: the figures grow as requests go). */
  statsOf(stream: LogStream): Readonly<DuoClientStats>;
  /** The pace learned for a stream's endpoint and for the integration (undefined when pacing is off or before its first request). */
  rateOf(stream: LogStream): LearnedRates | undefined;
  /** Starts a stream's endpoint from what an earlier run learned (before its first request; later, nothing changes). */
  seedRate(stream: LogStream, learned: Partial<LearnedRates> | undefined): void;
  close(): Promise<void>;
}

/**
 * v5 by default: it is what Duo's current Python and Java clients send for every call, and it also binds
 * the body and any x-duo-* headers into the signature. For a GET both versions are accepted, so v2
 * remains available for anything in between that only understands v2.
 */
const DEFAULT_SIGNATURE_VERSION: SignatureVersion = 5;
/** Even a 1000-item page is well under 1 MiB; anything near this is not Duo. */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** What undici's error says when a body passes `maxResponseSize`. */
const OVERSIZE_CODE = 'UND_ERR_RES_EXCEEDED_MAX_SIZE';
const OVERSIZE_REASON = `a body over the client's ${MAX_RESPONSE_BYTES / 1024 / 1024} MiB size limit (a full page of 1000 items is under 1 MiB)`;
const SNIPPET_CHARS = 80;

type FailureKind = 'rate-limited' | 'server-error' | 'network' | 'bad-response';

interface Failure {
  kind: FailureKind;
  /** 0 when no HTTP answer came back. */
  status: number;
  /** Short, secret-free description for logs and the final message. */
  reason: string;
  duo: DuoBodyError | undefined;
  serverDateMs: number | undefined;
  /** Network failures: the error code (ECONNRESET, UND_ERR_SOCKET, TIMEOUT…). */
  code?: string | undefined;
}

interface DuoBodyError {
  code?: number | undefined;
  message?: string | undefined;
  detail?: string | undefined;
}

type Attempt =
  | { ok: true; page: DuoPage }
  | { ok: false; failure: Failure; refused?: undefined }
  /** An answer that another attempt cannot change (400/401/403…). */
  | { ok: false; refused: DuoApiError; failure?: undefined };

/** A network failure reduced to text: undici's own errors carry sockets and request options. */
export class DuoTransportError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'DuoTransportError';
    this.code = code;
  }
}

export function createDuoClient(opts: DuoClientOptions): DuoClient {
  const cfg = resolveOptions(opts);
  const log = opts.logger ?? silentLogger();
  const now = opts.now ?? Date.now;
  const sleep = opts.sleep ?? defaultSleep;
  const random = opts.random ?? Math.random;
  const redact = createRedactor(opts.skey);
  const stats: DuoClientStats = emptyStats();
  const byPath = new Map<string, DuoClientStats>();
  const agent = new Agent({
    keepAliveTimeout: 10_000,
    connect: { timeout: cfg.timeoutMs },
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
    maxResponseSize: MAX_RESPONSE_BYTES,
  });

  async function wait(ms: number, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw aborted();
    try {
      await sleep(ms, signal);
    } catch (err) {
      if (signal?.aborted) throw aborted();
      throw err;
    }
    if (signal?.aborted) throw aborted();
  }

  const pacer = createPacer({ ceilingRpm: cfg.ceilingRpm, endpoints: STREAM_NAMES.length, sleep: wait });

  /** An attempt's answer, and how long until its headers came (the round trip the pacer's jitter margin reads). */
  async function attempt(
    stream: LogStream,
    req: PageRequest,
    params: Params,
    url: string,
    attemptNo: number,
    signal: AbortSignal | undefined,
  ): Promise<{ result: Attempt; roundTripMs: number }> {
    const started = performance.now();
    let roundTripMs = 0;
    const signedAtMs = now();
    const date = rfc2822Date(signedAtMs);
    const authorization = signRequest({
      ikey: opts.ikey,
      skey: opts.skey,
      method: 'GET',
      host: opts.apiHost,
      path: stream.path,
      params,
      date,
      version: cfg.signatureVersion,
      digest: cfg.digest,
      body: '',
    });
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), cfg.timeoutMs);
    const attemptSignal = signal ? AbortSignal.any([signal, timer.signal]) : timer.signal;
    count(stream, 'requests');
    let status = 0;
    let result: Attempt;
    try {
      const res = await request(url, {
        method: 'GET',
        dispatcher: agent,
        signal: attemptSignal,
        headers: { date, authorization, accept: 'application/json', 'user-agent': cfg.userAgent },
      });
      status = res.statusCode;
      roundTripMs = performance.now() - started;
      const text = await res.body.text();
      // The machine's clock when the answer was complete, without reading the clock again.
      const receivedAtMs = signedAtMs + Math.round(performance.now() - started);
      result = interpret(stream, req, res.statusCode, headerValue(res.headers['content-type']), headerValue(res.headers['date']), text, receivedAtMs);
    } catch (err) {
      if (signal?.aborted) throw aborted();
      const transport = timer.signal.aborted
        ? { reason: `no complete answer within ${cfg.timeoutMs} ms (timeout)`, code: 'TIMEOUT' }
        : describeTransportError(err, redact);
      result = { ok: false, failure: { kind: 'network', status, ...transport, duo: undefined, serverDateMs: undefined } };
    } finally {
      clearTimeout(timeout);
    }
    countOutcome(stream, result);
    log.debug(
      {
        event: 'duo.request',
        path: stream.path,
        ...pageFields(req),
        attempt: attemptNo,
        status,
        durationMs: Math.round(performance.now() - started),
        ...(result.ok ? { items: result.page.items.length } : { reason: result.failure ? result.failure.reason : result.refused.code }),
      },
      'Duo request',
    );
    return { result, roundTripMs };
  }

  /** Counts once for the client and once for the stream's endpoint. */
  function count(stream: LogStream, field: keyof DuoClientStats): void {
    stats[field] += 1;
    statsOf(stream)[field] += 1;
  }

  function statsOf(stream: LogStream): DuoClientStats {
    let s = byPath.get(stream.path);
    if (!s) byPath.set(stream.path, (s = emptyStats()));
    return s;
  }

  function countOutcome(stream: LogStream, result: Attempt): void {
    if (result.ok || !result.failure) return;
    const kind = kindOf(result.failure);
    count(stream, kind === 'rate-limited' ? 'rateLimited' : kind === 'server-error' ? 'serverErrors' : kind === 'network' ? 'networkErrors' : 'badResponses');
  }

  /**
   * Turns one HTTP answer into a page, a retryable failure, or a refusal. A `stat: "FAIL"` body with a 2xx
   * status is Duo's error all the same: it is judged by the status its code stands for (40002 is refused
   * as a 400 would be, 50001 retried as a 500), while `status` stays what came over the wire.
   */
  function interpret(stream: LogStream, req: PageRequest, status: number, contentType: string | undefined, dateHeader: string | undefined, text: string, receivedAtMs: number): Attempt {
    const serverDateMs = parseHttpDate(dateHeader);
    const body = readBody(text, contentType, redact);
    const duo = body.json ? duoBodyError(body.value, redact) : undefined;
    const success = status >= 200 && status < 300;
    const failInSuccess = success ? statusOfDuoCode(duo?.code) : undefined;
    if (success && failInSuccess === undefined) {
      if (!body.json) return fail('bad-response', status, `HTTP ${status} with ${body.description}`, undefined, serverDateMs);
      const parsed = stream.parse(body.value, req);
      if ('problem' in parsed && parsed.fatal) {
        return { ok: false, refused: new DuoApiError('DUO_UNPAGEABLE', { httpStatus: status, path: stream.path, serverDateMs }, { retryable: false, summary: parsed.problem }) };
      }
      if ('problem' in parsed) return fail('bad-response', status, `HTTP ${status} with ${parsed.problem}`, undefined, serverDateMs);
      return { ok: true, page: { ...parsed.page, serverDateMs, receivedAtMs } };
    }
    const judged = failInSuccess ?? status;
    const bodyNote = body.json ? `a JSON body that is not a Duo error (${body.contentType})` : body.description;
    const described = duo ? `${failInSuccess === undefined ? '' : 'stat FAIL, '}${describeDuoError(duo)}` : bodyNote;
    if (isRetryableStatus(judged)) {
      return fail(judged === 429 ? 'rate-limited' : 'server-error', status, `HTTP ${status} with ${described}`, duo, serverDateMs);
    }
    const refusal = refusalFor(judged, duo?.code);
    let hint = refusal.hint;
    if (refusal.code === 'DUO_CLOCK_SKEW' && serverDateMs !== undefined) {
      hint = `This machine's clock is off by ${formatOffset(now() - serverDateMs)} from Duo's: sync it with NTP`;
    } else if (refusal.code === 'DUO_CLOCK_SKEW') {
      hint = HINT_CLOCK;
    }
    const refused = new DuoApiError(
      refusal.code,
      { httpStatus: status, duoCode: duo?.code, duoMessage: duo?.message, messageDetail: duo?.detail, path: stream.path, serverDateMs },
      {
        retryable: false,
        ...(hint ? { hint } : {}),
        ...(!duo
          ? { summary: `Duo answered HTTP ${status} for ${stream.path} with ${bodyNote}` }
          : failInSuccess !== undefined
            ? { summary: `Duo answered HTTP ${status} for ${stream.path} with stat FAIL` }
            : {}),
      },
    );
    return { ok: false, refused };
  }

  function giveUp(f: Failure, attempts: number, path: string): DuoApiError {
    const tries = `${attempts} attempt${attempts === 1 ? '' : 's'}`;
    // DuoApiError appends Duo's code/message/detail itself; without them the reason says what came back.
    const details = {
      httpStatus: f.status,
      duoCode: f.duo?.code,
      duoMessage: f.duo?.message,
      messageDetail: f.duo?.detail,
      path: path,
      serverDateMs: f.serverDateMs,
    };
    // A FAIL body inside a 2xx says so: the status alone would read as a success.
    const answer = f.duo && f.status >= 200 && f.status < 300 ? `HTTP ${f.status} with stat FAIL` : `HTTP ${f.status}`;
    // An oversized body ended the transfer, so its reason does not carry the status the way interpret's do.
    const last = f.duo ? answer : f.code === OVERSIZE_CODE ? `HTTP ${f.status} with ${f.reason}` : f.reason;
    switch (kindOf(f)) {
      case 'rate-limited':
        return new DuoApiError('DUO_RATE_LIMITED', details, {
          retryable: true,
          summary: `Duo kept answering ${answer} (too many requests) for ${path} after ${tries}`,
          hint: 'Other clients of the same integration share its rate limit: lower REQUESTS_PER_MINUTE or poll less often',
        });
      case 'server-error':
        return new DuoApiError('DUO_UNAVAILABLE', details, {
          retryable: true,
          summary: `Duo failed ${path} ${tries} in a row, the last with ${last}`,
          hint: 'Duo or a proxy in front of it is failing: try again later (status.duo.com lists Duo incidents)',
        });
      case 'network':
        return new DuoApiError('DUO_UNAVAILABLE', details, {
          retryable: true,
          cause: new DuoTransportError(f.reason, f.code),
          summary: `Duo unreachable: no answer from ${cfg.origin} for ${path} after ${tries}, the last: ${f.reason}`,
          hint: `Check DNS, proxy and firewall egress to ${cfg.origin}`,
        });
      case 'bad-response':
        return new DuoApiError('DUO_BAD_RESPONSE', details, {
          retryable: true,
          summary: `Duo's answer for ${path} was unusable after ${tries}, the last: ${last}`,
          hint: "A proxy in between or a change on Duo's side may be the cause: try again later",
        });
    }
  }

  async function getPage(stream: LogStream, req: PageRequest, signal?: AbortSignal): Promise<DuoPage> {
    const params = opts.accountId === undefined ? stream.params(req) : { ...stream.params(req), account_id: opts.accountId };
    const url = `${cfg.base}${stream.path}?${canonicalParams(params)}`;
    let rateLimitedInARow = 0;
    for (let attemptNo = 1; ; attemptNo += 1) {
      if (signal?.aborted) throw aborted();
      const ticket = await pacer.acquire(stream.path, signal);
      const { result, roundTripMs } = await attempt(stream, req, params, url, attemptNo, signal);
      pacer.settle(ticket, outcomeOf(result, req, roundTripMs));
      if (result.ok) return result.page;
      if (result.refused) throw result.refused;
      if (attemptNo > cfg.maxRetries) throw giveUp(result.failure, attemptNo, stream.path);
      // Paced, a first 429 waits for the pacer alone (one interval of the slower rate it has just learned);
      // the backoff comes on top only while 429s repeat. Unpaced, and after every other failure, it backs off.
      rateLimitedInARow = kindOf(result.failure) === 'rate-limited' ? rateLimitedInARow + 1 : 0;
      const backoffs = rateLimitedInARow > 0 && pacer.learned(stream.path) !== undefined ? rateLimitedInARow - 1 : attemptNo;
      const waitMs = backoffs === 0 ? 0 : cfg.backoffBaseMs * 2 ** (backoffs - 1) + Math.floor(random() * cfg.jitterMs);
      count(stream, 'retries');
      const paceRpm = pacer.learned(stream.path)?.rpm;
      const pace = paceRpm === undefined ? '' : ` at ${paceRpm} per minute`;
      log.warn(
        { event: 'duo.retry', path: stream.path, ...pageFields(req), attempt: attemptNo, status: result.failure.status, reason: result.failure.reason, waitMs, paceRpm },
        `Duo request failed (${result.failure.reason}); retrying${waitMs > 0 ? ` in ${waitMs} ms` : ''}${pace}`,
      );
      if (waitMs > 0) await wait(waitMs, signal);
    }
  }

  function rateOf(stream: LogStream): LearnedRates | undefined {
    const endpoint = pacer.learned(stream.path);
    const integration = pacer.integration();
    return endpoint && integration ? { endpoint, integration } : undefined;
  }

  return {
    getPage,
    get stats(): Readonly<DuoClientStats> {
      return stats;
    },
    statsOf,
    rateOf,
    seedRate: (stream, learned) => pacer.seed(stream.path, learned?.endpoint, learned?.integration),
    async close(): Promise<void> {
      await agent.close();
    },
  };
}

function emptyStats(): DuoClientStats {
  return { requests: 0, retries: 0, rateLimited: 0, serverErrors: 0, networkErrors: 0, badResponses: 0 };
}

interface ResolvedOptions {
  base: string;
  origin: string;
  ceilingRpm: number;
  timeoutMs: number;
  maxRetries: number;
  backoffBaseMs: number;
  jitterMs: number;
  signatureVersion: SignatureVersion;
  digest: SignatureDigest;
  userAgent: string;
}

function resolveOptions(opts: DuoClientOptions): ResolvedOptions {
  const problems: string[] = [];
  if (!opts.ikey) problems.push('the Duo integration key (DUO_IKEY) is empty');
  if (!opts.skey) problems.push('the Duo secret key (DUO_SKEY) is empty');
  if (!opts.apiHost) problems.push('the Duo API host (DUO_API_HOST) is empty');
  const rawBase = opts.baseUrl ?? `https://${opts.apiHost}`;
  let base = '';
  let origin = '';
  try {
    const u = new URL(rawBase);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new Error('not http(s)');
    if (u.search || u.hash) throw new Error('has a query or fragment');
    origin = u.origin;
    base = `${u.origin}${u.pathname.replace(/\/+$/, '')}`;
  } catch {
    problems.push(`the Duo API URL (DUO_API_URL) "${rawBase}" is not an http(s) URL without query`);
  }
  const rpm = opts.requestsPerMinute === undefined || opts.requestsPerMinute === 'auto' ? AUTO_CEILING_RPM : opts.requestsPerMinute;
  if (!(rpm > 0)) problems.push(`requests per minute must be > 0 (got ${rpm})`);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) problems.push(`the request timeout must be > 0 ms (got ${timeoutMs})`);
  const maxRetries = opts.maxRetries ?? 6;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) problems.push(`max retries must be an integer >= 0 (got ${maxRetries})`);
  const backoffBaseMs = opts.backoffBaseMs ?? 1000;
  if (!(backoffBaseMs >= 0)) problems.push(`the backoff base must be >= 0 ms (got ${backoffBaseMs})`);
  const jitterMs = opts.jitterMs ?? 1000;
  if (!(jitterMs >= 0)) problems.push(`the backoff jitter must be >= 0 ms (got ${jitterMs})`);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    base,
    origin,
    ceilingRpm: rpm,
    timeoutMs,
    maxRetries,
    backoffBaseMs,
    jitterMs,
    signatureVersion: opts.signatureVersion ?? DEFAULT_SIGNATURE_VERSION,
    digest: opts.digest ?? 'sha512',
    userAgent: opts.userAgent ?? `duo-secops/${VERSION}`,
  };
}

/**
 * What an attempt tells the pacer. A page counts as a backlog when more may follow it (a cursor, or as
 * many items as asked for): only then is a faster pace worth trying.
 */
function outcomeOf(result: Attempt, req: PageRequest, roundTripMs: number): Outcome {
  if (result.ok) return { kind: 'good', backlog: result.page.nextOffset !== null || result.page.items.length >= req.limit, roundTripMs };
  if (result.failure && kindOf(result.failure) === 'rate-limited') return { kind: 'rate-limited', roundTripMs };
  return { kind: 'other' };
}

function pageFields(req: PageRequest): Record<string, unknown> {
  return {
    mintimeMs: req.mintimeMs,
    maxtimeMs: req.maxtimeMs,
    limit: req.limit,
    nextOffset: req.nextOffset ?? null,
  };
}

/**
 * What a failure is, judged: an answer that passed the size limit reaches us as a transport error (undici
 * ends the body), but it is an answer, and an unusable one, not a network failure.
 */
function kindOf(f: Failure): FailureKind {
  return f.kind === 'network' && f.code === OVERSIZE_CODE ? 'bad-response' : f.kind;
}

function fail(kind: FailureKind, status: number, reason: string, duo: DuoBodyError | undefined, serverDateMs: number | undefined): Attempt {
  return { ok: false, failure: { kind, status, reason, duo, serverDateMs } };
}

function aborted(): AbortedError {
  return new AbortedError('Duo request aborted');
}

/**
 * Node's timers count from the event loop's cached time, so after long synchronous work they fire early
 * by performance.now(); pacing promises a minimum gap, so sleep again for whatever is left.
 */
async function defaultSleep(ms: number, signal?: AbortSignal): Promise<void> {
  const until = performance.now() + ms;
  for (let left = ms; left > 0; left = until - performance.now()) {
    await delay(Math.ceil(left), undefined, signal ? { signal } : undefined);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export function parseHttpDate(value: string | undefined): number | undefined {
  if (!value) return undefined;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : undefined;
}

/** `+0.4 s`, `-312.0 s`: this machine minus Duo. */
export function formatOffset(ms: number): string {
  return `${ms >= 0 ? '+' : '-'}${(Math.abs(ms) / 1000).toFixed(1)} s`;
}

/**
 * Removes anything that could be a credential from text that came from outside (a proxy may echo the
 * request): the secret key, `Basic …` values and long hex strings (signatures). Telephony ids are UUIDs
 * with dashes, so they survive.
 */
export function createRedactor(skey: string): (text: string) => string {
  return (text) => {
    let out = skey ? text.split(skey).join('[redacted]') : text;
    out = out.replace(/Basic\s+[A-Za-z0-9+/=]+/gi, 'Basic [redacted]');
    out = out.replace(/[0-9a-fA-F]{40,}/g, '[redacted]');
    return out;
  };
}

function describeTransportError(err: unknown, redact: (s: string) => string): { reason: string; code: string | undefined } {
  const codeOf = (e: unknown): string | undefined => {
    if (typeof e !== 'object' || e === null) return undefined;
    const c = (e as { code?: unknown }).code;
    return typeof c === 'string' ? c : undefined;
  };
  const cause = err instanceof Error ? err.cause : undefined;
  const code = codeOf(cause) ?? codeOf(err);
  if (code === OVERSIZE_CODE) return { reason: OVERSIZE_REASON, code };
  const message = err instanceof Error ? err.message : String(err);
  return { reason: redact(`${code && !message.includes(code) ? `${code} ` : ''}${message}`.slice(0, 200)), code };
}

type BodyReading = { json: true; value: unknown; contentType: string } | { json: false; description: string };

/**
 * Reads a body without trusting it. Only what is not JSON gets quoted (first 80 characters): JSON is
 * taken to be Duo's and may carry phone numbers.
 */
export function readBody(text: string, contentType: string | undefined, redact: (s: string) => string = (s) => s): BodyReading {
  const ct = contentType ? contentType.split(';')[0]?.trim() : undefined;
  const ctNote = `content-type ${ct ?? 'none'}`;
  const trimmed = text.trim();
  if (trimmed === '') return { json: false, description: `an empty body (${ctNote})` };
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { json: true, value: JSON.parse(trimmed) as unknown, contentType: ctNote };
    } catch {
      const bytes = Buffer.byteLength(text, 'utf8');
      return {
        json: false,
        description: looksTruncated(trimmed) ? `truncated JSON (${bytes} bytes, ${ctNote})` : `malformed JSON (${bytes} bytes, ${ctNote})`,
      };
    }
  }
  const snippet = redact(trimmed.replace(/\s+/g, ' ').replace(/[^\x20-\x7E\u00A0-\uFFFF]/g, '').slice(0, SNIPPET_CHARS));
  if (/html/i.test(ct ?? '') || trimmed.startsWith('<')) {
    return { json: false, description: `an HTML body (${ctNote}) from a proxy or load balancer, not Duo: "${snippet}"` };
  }
  return { json: false, description: `a non-JSON body (${ctNote}): "${snippet}"` };
}

/**
 * Whether malformed JSON ends inside a string or an open object/array. Hand-written because the text of
 * JSON.parse's errors differs between V8 versions.
 */
export function looksTruncated(text: string): boolean {
  let depth = 0;
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') depth += 1;
    else if (ch === '}' || ch === ']') depth -= 1;
  }
  return inString || depth > 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function shortText(v: unknown, redact: (s: string) => string): string | undefined {
  return typeof v === 'string' && v !== '' ? redact(v.slice(0, 300)) : undefined;
}

/** Duo's `{stat:"FAIL",code,message,message_detail}`, when the body is that. */
function duoBodyError(value: unknown, redact: (s: string) => string): DuoBodyError | undefined {
  if (!isRecord(value) || value['stat'] !== 'FAIL') return undefined;
  const rawCode = value['code'];
  const code = typeof rawCode === 'number' ? rawCode : typeof rawCode === 'string' && /^\d+$/.test(rawCode) ? Number(rawCode) : undefined;
  return { code, message: shortText(value['message'], redact), detail: shortText(value['message_detail'], redact) };
}

function describeDuoError(e: DuoBodyError): string {
  const parts = [e.code !== undefined ? String(e.code) : undefined, e.message, e.detail ? `(${e.detail})` : undefined].filter(Boolean);
  return parts.length > 0 ? `Duo error ${parts.join(' ')}` : 'a Duo FAIL body without details';
}
