/**
 * `check`: one minimal signed request that tells a user, in plain words, which part of the Duo setup is
 * wrong (integration key, secret key, permission, network allow-list, clock) and how to fix it.
 */
import { DuoApiError, type ErrorCode } from '../errors.js';
import type { DuoClient, LearnedRates } from './client.js';
import { formatRpm } from './pacer.js';
import type { PageRequest } from './types.js';
import { formatOffset } from './client.js';
import { STREAMS, streamWords, type LogStream, type StreamName } from './streams.js';

export type CheckItemStatus = 'ok' | 'failed' | 'unknown';
export type ClockStatus = 'ok' | 'warn' | 'failed' | 'unknown';

export interface CheckReport {
  /** True when Duo served the request; a clock warning alone does not make it false. */
  ok: boolean;
  apiHost: string;
  /** The stream the diagnosis asked (the first selected). */
  stream: StreamName;
  reachable: CheckItemStatus;
  integrationKey: CheckItemStatus;
  secretKey: CheckItemStatus;
  permission: CheckItemStatus;
  clock: ClockStatus;
  /** This machine minus Duo's `Date` header, in ms; null when Duo's answer had no date. */
  clockOffsetMs: number | null;
  /** `ts` of the newest telephony event within 179 days, null when there is none, undefined when not checked. */
  newestEventTs?: string | null | undefined;
  /** Why the request failed, when it did. */
  failure?: CheckFailure | undefined;
  /**
   * Every other selected stream, asked once each after the first succeeded: `ok`, `missing` (403: the
   * permission, or an edition without that log) or `not-served` (404); absent when only one is selected.
   */
  otherStreams?: Array<{ stream: StreamName; permission: 'ok' | 'missing' | 'not-served' | 'failed'; failure?: CheckFailure | undefined }> | undefined;
  /** Each selected stream's pace: what the collector learned (from its checkpoint), and the 429s check itself drew. */
  pace?: PaceReport[] | undefined;
  /** Accounts mode: how many children Duo listed and were selected, and the child the checks above went through. */
  accounts?: { listed: number; selected: number; checked: { id: string; name: string } } | undefined;
}

export interface PaceReport {
  stream: StreamName;
  /** The ceiling per endpoint and minute (REQUESTS_PER_MINUTE; `auto` is 60). */
  ceilingRpm: number;
  /** What the last run learned, as its checkpoint keeps it; null when nothing was learned yet. */
  learnedRate: LearnedRates | null;
  /** Why the checkpoint could not be read, when it could not (the pace is unknown then). */
  unreadable?: string | undefined;
  /** 429s among check's own requests to this stream's endpoint. */
  rateLimited: number;
}

export interface CheckFailure {
  code: ErrorCode;
  httpStatus: number;
  duoCode?: number | undefined;
  message: string;
}

const DAY_MS = 86_400_000;
/** Duo refuses a mintime older than 180 days; one day of margin for clocks and time zones. */
const LOOKBACK_MS = 179 * DAY_MS;
const CLOCK_WARN_MS = 60_000;

/**
 * The diagnosis: one request on the first selected stream says which part of the setup is wrong; then
 * one request on each other selected stream proves its permission.
 */
export async function checkDuo(client: DuoClient, opts: { apiHost: string; streams?: readonly LogStream[]; now?: () => number; signal?: AbortSignal }): Promise<CheckReport> {
  const [first = STREAMS.telephony, ...others] = opts.streams ?? [];
  const report = await checkFirst(client, first, opts);
  if (!report.ok || others.length === 0) return report;
  const now = opts.now ?? Date.now;
  const otherStreams: NonNullable<CheckReport['otherStreams']> = [];
  for (const stream of others) {
    try {
      await client.getPage(stream, probeRequest(stream, now()), opts.signal);
      otherStreams.push({ stream: stream.name, permission: 'ok' });
    } catch (err) {
      if (!(err instanceof DuoApiError)) throw err;
      const failure = { code: err.code, httpStatus: err.httpStatus, duoCode: err.duoCode, message: err.message };
      const permission = err.httpStatus === 403 ? 'missing' : err.httpStatus === 404 ? 'not-served' : 'failed';
      otherStreams.push({ stream: stream.name, permission, failure });
    }
  }
  const failed = otherStreams.find((o) => o.failure);
  return { ...report, ok: failed === undefined, otherStreams, ...(failed ? { failure: failed.failure } : {}) };
}

/** The smallest request that proves a stream is served: the newest event where the endpoint sorts. */
function probeRequest(stream: LogStream, nowMs: number): PageRequest {
  // The administrator log takes only a start (seconds) and answers up to 1000 events: ask for the last hour.
  if (stream.name === 'administrator') return { mintimeMs: nowMs - 3_600_000, maxtimeMs: nowMs, limit: 1 };
  return { mintimeMs: nowMs - LOOKBACK_MS, maxtimeMs: nowMs, limit: 1, sort: 'ts:desc' };
}

async function checkFirst(client: DuoClient, stream: LogStream, opts: { apiHost: string; now?: () => number; signal?: AbortSignal }): Promise<CheckReport> {
  const now = opts.now ?? Date.now;
  const before = now();
  const base: CheckReport = {
    ok: false,
    apiHost: opts.apiHost,
    stream: stream.name,
    reachable: 'unknown',
    integrationKey: 'unknown',
    secretKey: 'unknown',
    permission: 'unknown',
    clock: 'unknown',
    clockOffsetMs: null,
  };
  try {
    const probe = probeRequest(stream, before);
    const page = await client.getPage(stream, probe, opts.signal);
    const offset = clockOffset(before, now(), page.serverDateMs);
    // Only an endpoint that sorts newest first answers with the newest event.
    const newestFirst = stream.params(probe)['sort'] === 'ts:desc';
    const newestMs = page.items.length > 0 ? stream.itemMs(page.items[0]!) : null;
    const newest = newestMs === null ? null : (page.items[0]!['ts'] ?? new Date(newestMs).toISOString());
    return {
      ...base,
      ok: true,
      reachable: 'ok',
      integrationKey: 'ok',
      secretKey: 'ok',
      permission: 'ok',
      clock: offset === null ? 'unknown' : Math.abs(offset) > CLOCK_WARN_MS ? 'warn' : 'ok',
      clockOffsetMs: offset,
      ...(newestFirst ? { newestEventTs: typeof newest === 'string' ? newest : null } : {}),
    };
  } catch (err) {
    if (!(err instanceof DuoApiError)) throw err;
    const offset = clockOffset(before, now(), err.serverDateMs);
    const failed: CheckReport = {
      ...base,
      clockOffsetMs: offset,
      clock: offset === null ? 'unknown' : Math.abs(offset) > CLOCK_WARN_MS ? 'warn' : 'ok',
      failure: { code: err.code, httpStatus: err.httpStatus, duoCode: err.duoCode, message: err.message },
    };
    switch (err.code) {
      case 'DUO_UNAVAILABLE':
        return { ...failed, reachable: 'failed', clock: 'unknown', clockOffsetMs: null };
      case 'DUO_BAD_RESPONSE':
        // Something answered, but not with a page of logs (a proxy, an answer too large): say what it was.
        return { ...failed, reachable: 'ok' };
      case 'DUO_UNAUTHORIZED':
        return err.duoCode === 40103
          ? { ...failed, reachable: 'ok', integrationKey: 'ok', secretKey: 'failed' }
          : { ...failed, reachable: 'ok', integrationKey: 'failed' };
      case 'DUO_CLOCK_SKEW':
        return { ...failed, reachable: 'ok', clock: 'failed' };
      case 'DUO_FORBIDDEN':
        return { ...failed, reachable: 'ok', integrationKey: 'ok', secretKey: 'ok', permission: 'failed' };
      default:
        return { ...failed, reachable: 'ok' };
    }
  }
}

/**
 * Duo's `Date` has whole seconds, so it lags its real time by 0.5 s on average: compare its midpoint
 * with the midpoint of the local request.
 */
function clockOffset(beforeMs: number, afterMs: number, serverDateMs: number | undefined): number | null {
  if (serverDateMs === undefined) return null;
  return Math.round((beforeMs + afterMs) / 2 - (serverDateMs + 500));
}

const FIX_IKEY = 'check DUO_IKEY (the Admin API application\'s "Integration key") and DUO_API_HOST (its "API hostname")';
const FIX_SKEY =
  'Duo could not verify the signature: copy the "Secret key" of the same Admin API application into DUO_SKEY, and check that DUO_API_HOST ' +
  'is exactly that application\'s "API hostname" (it is signed into every request: a wrong host fails the same way)';
const FIX_PERMISSION =
  'give the Admin API application the "Grant read log" permission ("Read Telephony" in Google\'s guide); ' +
  'if the Duo account restricts "Networks for API Access", allow this machine\'s egress IP (Cloud NAT for Cloud Run)';
const FIX_CLOCK = 'sync it (NTP)';
const NOT_CHECKED = 'not checked: fix the failing item first';

export function formatCheckReport(r: CheckReport): string {
  const lines: string[] = [];
  const duoSaid = r.failure ? duoWords(r.failure) : '';
  // Wide enough for the longest label of this report ("Authentication permission:").
  const labelWidth = Math.max(24, ...[r.stream, ...(r.otherStreams ?? []).map((o) => o.stream)].map((s) => s.length + 14));
  const line = (label: string, text: string): void => {
    lines.push(`${`${label}:`.padEnd(labelWidth)}${text}`);
  };

  if (r.accounts) {
    const a = r.accounts;
    line('Child accounts', `${a.listed} listed by the Accounts API, ${a.selected} selected; the checks below went through ${a.checked.name} (${a.checked.id})`);
  }
  const unreachable = (r.failure?.message ?? 'no answer').replace(/^Duo unreachable:\s*/, '');
  line('Duo API host', r.reachable === 'failed' ? `${r.apiHost}: Duo unreachable: ${unreachable}` : r.apiHost);
  line(
    'Integration key',
    r.integrationKey === 'ok' ? 'ok' : r.integrationKey === 'failed' ? `rejected${duoSaid}. Fix: ${FIX_IKEY}` : NOT_CHECKED,
  );
  line('Secret key and host', r.secretKey === 'ok' ? 'ok' : r.secretKey === 'failed' ? `rejected${duoSaid}. Fix: ${FIX_SKEY}` : NOT_CHECKED);
  line(
    `${streamLabel(r.stream)} permission`,
    r.permission === 'ok' ? 'ok' : r.permission === 'failed' ? `missing${duoSaid}. Fix: ${FIX_PERMISSION}` : NOT_CHECKED,
  );
  for (const o of r.otherStreams ?? []) {
    const said = o.failure ? duoWords(o.failure) : '';
    line(
      `${streamLabel(o.stream)} permission`,
      o.permission === 'ok'
        ? 'ok'
        : o.permission === 'missing'
          ? `missing${said}. Fix: ${FIX_PERMISSION}, or leave ${o.stream} out of DUO_LOGS if this Duo edition has no such log`
          : o.permission === 'not-served'
            ? `not served to this account${said}: leave ${o.stream} out of DUO_LOGS`
            : `failed: ${o.failure?.message ?? 'no answer'}`,
    );
  }
  line('Clock offset', clockText(r));
  for (const p of r.pace ?? []) line(`${streamLabel(p.stream)} pace`, paceText(p));
  // A stream whose endpoint does not sort newest first has no newest event to show once access works.
  if (!(r.ok && r.newestEventTs === undefined)) {
    line(
      `Newest ${streamWords(r.stream)} event`,
      r.newestEventTs === undefined ? NOT_CHECKED : r.newestEventTs === null ? 'none in the last 179 days' : r.newestEventTs,
    );
  }

  const explained =
    r.reachable === 'failed' || [r.integrationKey, r.secretKey, r.permission].includes('failed') || r.clock === 'failed' || (r.otherStreams ?? []).some((o) => o.failure);
  if (r.failure && !explained) line('Duo answered', r.failure.message);
  lines.push(r.ok ? (r.clock === 'warn' ? 'Duo access works, but fix the clock.' : 'All checks passed.') : 'Check failed: fix the failing item and run check again.');
  return lines.join('\n');
}

function clockText(r: CheckReport): string {
  const off = r.clockOffsetMs === null ? undefined : formatOffset(r.clockOffsetMs);
  if (r.clock === 'failed') {
    return off === undefined
      ? `Duo rejected the request time${duoWords(r.failure)}: the machine's clock is off: ${FIX_CLOCK}`
      : `the machine's clock is off by ${off}${duoWords(r.failure)}: ${FIX_CLOCK}`;
  }
  if (off === undefined) return r.reachable === 'failed' ? NOT_CHECKED : "unknown (Duo's answer had no Date header)";
  if (r.clock === 'warn') {
    return `${off} vs Duo's Date header: warning, more than ${CLOCK_WARN_MS / 1000} s off; Duo refuses requests (40105) once it drifts further: ${FIX_CLOCK}`;
  }
  return `${off} vs Duo's Date header (ok)`;
}

function paceText(p: PaceReport): string {
  const drew = p.rateLimited > 0 ? `; Duo answered ${p.rateLimited} of check's requests with 429 (another client of the integration is using its budget)` : '';
  if (p.unreadable !== undefined) return `unknown: the checkpoint could not be read (${p.unreadable})${drew}`;
  const l = p.learnedRate;
  if (!l) return `${formatRpm(p.ceilingRpm)}/min at most; nothing learned yet (the first run starts at that ceiling and learns from Duo's 429s)${drew}`;
  const e = l.endpoint;
  const bracket = [e.lo > 0 ? `Duo accepted ${formatRpm(e.lo)}` : undefined, e.hi !== null ? `refused ${formatRpm(e.hi)}` : undefined].filter(Boolean).join(', ');
  return `${formatRpm(e.rpm)}/min learned${bracket ? ` (${bracket})` : ''}, ceiling ${formatRpm(p.ceilingRpm)}/min${drew}`;
}

function duoWords(f: CheckReport['failure']): string {
  if (!f) return '';
  return f.duoCode !== undefined ? ` (Duo ${f.duoCode}, HTTP ${f.httpStatus})` : ` (HTTP ${f.httpStatus})`;
}

/** `trust_monitor` → `Trust monitor`. */
function streamLabel(stream: StreamName): string {
  const words = streamWords(stream);
  return words.charAt(0).toUpperCase() + words.slice(1);
}
