/**
 * Duo's Accounts API, as far as the collector needs it: the list of child accounts a parent (MSP)
 * integration may read. `POST /accounts/v1/account/list` answers each child's `account_id`, `name` and
 * `api_hostname`; a child's Admin API is then called on its own host, with the parent's keys and
 * `account_id=<child>` on every request (client.ts `accountId`).
 *
 * One signed POST per collection, not paged and not paced: the log client's machinery (pacer, page
 * parsing, read-ahead) has nothing to do here, so this is a short request with a few retries of its own.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { request } from 'undici';
import { z } from 'zod';
import { AbortedError, DuoApiError } from '../errors.js';
import { VERSION } from '../version.js';
import { isRetryableStatus, refusalFor, statusOfDuoCode } from './errors-map.js';
import { rfc2822Date, signRequest, type SignatureVersion } from './sign.js';

export const ACCOUNTS_LIST_PATH = '/accounts/v1/account/list';

/** One child account as the Accounts API names it. */
export interface DuoAccount {
  /** `account_id`: sent with every call to the child. */
  accountId: string;
  name: string;
  /** The child's own API host: signed into every call to it. */
  apiHostname: string;
}

export interface ListAccountsOptions {
  ikey: string;
  skey: string;
  /** The parent's API host (DUO_API_HOST). */
  apiHost: string;
  /** Default `https://${apiHost}`; the simulator or a proxy otherwise. */
  baseUrl?: string;
  signatureVersion?: SignatureVersion;
  timeoutMs?: number;
  /** Attempts after the first on a 429, a 5xx or a network failure. Default 3. */
  maxRetries?: number;
  /** Default 1000: waits 1, 2, 4 s. */
  backoffBaseMs?: number;
  now?: () => number;
}

/**
 * What the collector accepts as an account id: letters, digits, `_` and `-` (Duo's are `DA` and 18
 * more). It becomes a folder name and part of a checkpoint's name, so nothing else may pass.
 */
export const ACCOUNT_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Why an `--account` value cannot be an account id, or undefined (the value cut short: it may be anything). */
export function accountIdProblem(id: string): string | undefined {
  return ACCOUNT_ID.test(id) ? undefined : `${id.slice(0, 64)} is not an account id (letters, digits, _ and -)`;
}

const ACCOUNT = z.object({ account_id: z.string().min(1), name: z.string(), api_hostname: z.string().min(1) });
const ANSWER = z.object({ stat: z.literal('OK'), response: z.array(z.unknown()) });
const FAIL = z.object({ stat: z.literal('FAIL'), code: z.number().optional(), message: z.string().optional(), message_detail: z.string().optional() });
/** A host name to sign and call: letters, digits, dots and dashes (an optional port for test servers). */
export const API_HOST = /^[A-Za-z0-9.-]+(:\d+)?$/;

/**
 * The children the parent integration may read, in Duo's order. A child whose entry cannot be used (no
 * id, a host that is not a host name) is left out and named in `skipped`, never guessed at.
 */
export async function listAccounts(opts: ListAccountsOptions, signal?: AbortSignal): Promise<{ accounts: DuoAccount[]; skipped: string[] }> {
  const base = (opts.baseUrl ?? `https://${opts.apiHost}`).replace(/\/+$/, '');
  const maxRetries = opts.maxRetries ?? 3;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  for (let attempt = 0; ; attempt += 1) {
    if (signal?.aborted) throw new AbortedError('stopped while listing the Duo child accounts');
    const answer = await post(base, opts, timeoutMs, signal);
    if (answer.kind === 'ok') return readAccounts(answer.body);
    if (answer.kind === 'refused' || attempt >= maxRetries) throw answer.error;
    await delay((opts.backoffBaseMs ?? 1000) * 2 ** attempt, undefined, signal ? { signal } : {}).catch(() => undefined);
  }
}

type Answer = { kind: 'ok'; body: unknown } | { kind: 'retry' | 'refused'; error: DuoApiError };

async function post(base: string, opts: ListAccountsOptions, timeoutMs: number, signal: AbortSignal | undefined): Promise<Answer> {
  const date = rfc2822Date((opts.now ?? Date.now)());
  // A form body without parameters: the canonical parameters are empty, and v5 hashes the empty body.
  const authorization = signRequest({
    ikey: opts.ikey,
    skey: opts.skey,
    method: 'POST',
    host: opts.apiHost,
    path: ACCOUNTS_LIST_PATH,
    params: {},
    date,
    version: opts.signatureVersion ?? 5,
    body: '',
  });
  const timer = AbortSignal.timeout(timeoutMs);
  const details = { path: ACCOUNTS_LIST_PATH, serverDateMs: undefined };
  let status = 0;
  let text: string;
  try {
    const res = await request(`${base}${ACCOUNTS_LIST_PATH}`, {
      method: 'POST',
      signal: signal ? AbortSignal.any([signal, timer]) : timer,
      headers: { date, authorization, accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'user-agent': `duo-secops/${VERSION}` },
      body: '',
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    if (signal?.aborted) throw new AbortedError('stopped while listing the Duo child accounts');
    // Only the error's name: undici's errors carry request options, and those hold the signature.
    const reason = timer.aborted ? `no answer within ${timeoutMs} ms` : err instanceof Error ? (('code' in err && typeof err.code === 'string' ? err.code : err.name) ?? 'error') : 'error';
    return {
      kind: 'retry',
      error: new DuoApiError('DUO_UNAVAILABLE', { httpStatus: 0, ...details }, { retryable: true, summary: `Duo unreachable at ${base} for the child account list: ${reason}`, hint: `Check DNS, proxy and firewall egress to ${base}` }),
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const fail = FAIL.safeParse(json);
  const duo = fail.success ? { duoCode: fail.data.code, duoMessage: fail.data.message, messageDetail: fail.data.message_detail } : {};
  const judged = status >= 200 && status < 300 ? (statusOfDuoCode(fail.success ? fail.data.code : undefined) ?? status) : status;
  if (judged >= 200 && judged < 300) {
    if (ANSWER.safeParse(json).success) return { kind: 'ok', body: json };
    return { kind: 'retry', error: new DuoApiError('DUO_BAD_RESPONSE', { httpStatus: status, ...details }, { retryable: true, summary: `Duo's answer to the child account list was not a list of accounts (HTTP ${status})` }) };
  }
  if (isRetryableStatus(judged)) {
    const code = judged === 429 ? 'DUO_RATE_LIMITED' : 'DUO_UNAVAILABLE';
    return { kind: 'retry', error: new DuoApiError(code, { httpStatus: status, ...details, ...duo }, { retryable: true, summary: `Duo answered HTTP ${status} for the child account list` }) };
  }
  const refusal = refusalFor(judged, fail.success ? fail.data.code : undefined);
  const hint =
    refusal.code === 'DUO_FORBIDDEN'
      ? 'DUO_ACCOUNTS needs the keys of a parent (MSP) Admin API application that may use the Accounts API: give it that permission, or unset DUO_ACCOUNTS to collect this account alone'
      : refusal.hint;
  return { kind: 'refused', error: new DuoApiError(refusal.code, { httpStatus: status, ...details, ...duo }, { retryable: false, summary: `Duo refused the child account list with HTTP ${status}`, ...(hint ? { hint } : {}) }) };
}

function readAccounts(body: unknown): { accounts: DuoAccount[]; skipped: string[] } {
  const accounts: DuoAccount[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of ANSWER.parse(body).response.entries()) {
    const a = ACCOUNT.safeParse(raw);
    if (!a.success || !API_HOST.test(a.data.api_hostname) || !ACCOUNT_ID.test(a.data.account_id)) {
      const id = typeof raw === 'object' && raw !== null && 'account_id' in raw ? String((raw as { account_id: unknown }).account_id) : `entry ${i + 1}`;
      skipped.push(`${id}: not a usable account (it needs an account_id of letters and digits, a name and an api_hostname)`);
      continue;
    }
    if (seen.has(a.data.account_id)) continue;
    seen.add(a.data.account_id);
    accounts.push({ accountId: a.data.account_id, name: a.data.name, apiHostname: a.data.api_hostname });
  }
  return { accounts, skipped };
}

/**
 * Which children to collect: every listed one (`all`) or those named, less the excluded. Ids named but
 * not listed by Duo are reported (a typo, or a child that is gone), never collected.
 */
export function selectAccounts(listed: readonly DuoAccount[], want: 'all' | readonly string[], exclude: readonly string[] = []): { selected: DuoAccount[]; notListed: string[] } {
  const out = new Set(exclude);
  const named = want === 'all' ? undefined : new Set(want);
  const selected = listed.filter((a) => !out.has(a.accountId) && (named === undefined || named.has(a.accountId)));
  const listedIds = new Set(listed.map((a) => a.accountId));
  const notListed = want === 'all' ? [] : want.filter((id) => !listedIds.has(id) && !out.has(id));
  return { selected, notListed };
}
