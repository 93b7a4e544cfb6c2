/**
 * Accounts mode (DUO_ACCOUNTS): a parent (MSP) integration collects its Duo child accounts. Children
 * are listed at every run (a child added since the last run is collected, a removed one is no longer
 * asked for). Each (account, stream) is an ordinary collection of its own: the child's host and
 * `account_id` on every request, objects under `<prefix>/<account_id>/`, a checkpoint of its own, and
 * the account's id and name on every line and object (deps.ts `account`).
 *
 * Two ways to run them:
 * - one after another in this process, within the run's budget (`collect`, `daemon`, a function
 *   without WORK_TOPIC): `collectAccounts`;
 * - fanned out (a function with WORK_TOPIC): the scheduled invocation publishes one work message per
 *   (account, stream) (`workMessages`), and each message is one invocation (`parseWorkMessage`), so
 *   Cloud Run runs them side by side up to its maximum instances. A redelivered or repeated message
 *   meets the checkpoint's compare-and-swap and writes nothing twice.
 * A child that fails (403, a 429 storm, gone) is reported by name and never holds up the others.
 */
import { z } from 'zod';
import type { Config } from '../config.js';
import { ACCOUNT_ID, API_HOST, listAccounts, selectAccounts, type DuoAccount } from '../duo/accounts.js';
import { AUTO_CEILING_RPM } from '../duo/pacer.js';
import { STREAM_NAMES, type StreamName } from '../duo/streams.js';
import type { Logger } from '../log.js';
import type { AccountRef, CollectionSummary, StreamResult } from './run-streams.js';

/** The Duo child accounts to collect this run: listed by Duo, selected by DUO_ACCOUNTS and DUO_ACCOUNTS_EXCLUDE. */
export async function listChildren(c: Config, skey: string, logger: Logger, signal?: AbortSignal): Promise<{ selected: DuoAccount[]; listed: number }> {
  const { accounts, skipped } = await listedChildren(c, skey, signal);
  for (const why of skipped) logger.warn({ event: 'account.skipped' }, `Duo listed a child account the collector cannot use: ${why}`);
  const usable = accounts.filter((a) => {
    if (sameDomain(a.apiHostname, c.apiHost)) return true;
    logger.warn({ event: 'account.skipped', account_id: a.accountId }, `${a.name} (${a.accountId}): its API host ${a.apiHostname} is outside the parent's domain (${domainOf(c.apiHost)}); left out`);
    return false;
  });
  const { selected, notListed } = selectAccounts(usable, c.accounts ?? 'all', c.accountsExclude ?? []);
  for (const id of notListed) {
    logger.warn({ event: 'account.not-listed', account_id: id }, `DUO_ACCOUNTS names ${id}, which Duo does not list as a child of this integration (a typo, or an account that is gone): nothing collected for it`);
  }
  if (c.accountFeeds !== undefined) {
    const fed = new Set(c.accountFeeds);
    for (const a of selected.filter((x) => !fed.has(x.accountId))) {
      logger.warn(
        { event: 'account.without-feed', account_id: a.accountId, account_name: a.name },
        `${a.name} (${a.accountId}) has no SecOps feed of its own (ACCOUNT_FEEDS): its objects are written but nothing ingests them until a feed reads its folder (deploy --account-feeds)`,
      );
    }
  }
  logger.info({ event: 'accounts.listed', listed: accounts.length, selected: selected.length }, `${selected.length} of ${accounts.length} child accounts selected`);
  return { selected, listed: accounts.length };
}

/** Every child Duo lists, asked with the configuration's parent keys, host, signature and timeout. */
export function listedChildren(c: Config, skey: string, signal?: AbortSignal): ReturnType<typeof listAccounts> {
  return listAccounts({ ikey: c.ikey, skey, apiHost: c.apiHost, baseUrl: c.apiUrl, signatureVersion: c.signatureVersion, timeoutMs: c.requestTimeoutSeconds * 1000 }, signal);
}

/** `api-1234.duosecurity.com` → `duosecurity.com`: what follows the first label, port left out. */
function domainOf(host: string): string {
  const name = host.toLowerCase().replace(/:\d+$/, '');
  const dot = name.indexOf('.');
  return dot < 0 ? name : name.slice(dot + 1);
}

/**
 * Whether a child's host lies in the parent's domain. Requests to a child carry the parent's signature:
 * a work message (or an answer) naming a host elsewhere must not send them there.
 */
export function sameDomain(childHost: string, parentHost: string): boolean {
  return domainOf(childHost) === domainOf(parentHost);
}

export const refOf = (a: DuoAccount): AccountRef => ({ id: a.accountId, name: a.name });

/** One (account, stream) of the fan-out, as published on WORK_TOPIC. */
export interface WorkMessage {
  account_id: string;
  account_name: string;
  api_hostname: string;
  stream: StreamName;
  /** The ceiling of this collection's pace per endpoint (its share when children share the parent's limit). */
  requests_per_minute: number;
}

const WORK_MESSAGE = z.object({
  account_id: z.string().regex(ACCOUNT_ID),
  account_name: z.string().max(1000),
  api_hostname: z.string().regex(API_HOST),
  stream: z.enum(STREAM_NAMES),
  requests_per_minute: z.number().positive().optional(),
});

/** Whether a Pub/Sub message is a work message at all (it names an account), before it is judged. */
export function isWorkMessage(message: unknown): boolean {
  return typeof message === 'object' && message !== null && 'account_id' in message;
}

/**
 * A work message read and checked against this deployment: its account and host, a stream this
 * deployment collects, and a child host in the parent's domain. A problem is a sentence; such a message
 * is logged and dropped (redelivering it would not mend it).
 */
export function parseWorkMessage(c: Config, message: unknown): { account: DuoAccount; stream: StreamName; requestsPerMinute: number | undefined } | { problem: string } {
  const m = WORK_MESSAGE.safeParse(message);
  if (!m.success) return { problem: `not a work message (${m.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')})` };
  const w = m.data;
  if (!c.logs.includes(w.stream)) return { problem: `${w.account_id}: the ${w.stream} log is not among DUO_LOGS (${c.logs.join(',')}) of this deployment` };
  if (!sameDomain(w.api_hostname, c.apiHost)) return { problem: `${w.account_id}: host ${w.api_hostname} is outside the parent's domain (${domainOf(c.apiHost)})` };
  return { account: { accountId: w.account_id, name: w.account_name, apiHostname: w.api_hostname }, stream: w.stream, requestsPerMinute: w.requests_per_minute };
}

/**
 * The work of one scheduled run: one message per (account, stream), account by account so that
 * neighbouring messages (which start together) hit different endpoints. When children may count against
 * the parent's limit (ACCOUNTS_SHARE_RATE), each message paces at its share of the ceiling: at most
 * FAN_OUT_INSTANCES run at once, so together they stay within what one collection would send.
 */
export function workMessages(c: Config, accounts: readonly DuoAccount[]): WorkMessage[] {
  const ceiling = ceilingOf(c);
  const streams = c.stores.map((s) => s.stream);
  const total = accounts.length * streams.length;
  const atOnce = Math.max(1, Math.min(c.fanOutInstances, total));
  const rpm = c.accountsShareRate ? ceiling / atOnce : ceiling;
  return accounts.flatMap((a) =>
    streams.map((stream): WorkMessage => ({ account_id: a.accountId, account_name: a.name, api_hostname: a.apiHostname, stream, requests_per_minute: roundRpm(rpm) })),
  );
}

/** REQUESTS_PER_MINUTE as a number: the ceiling per endpoint. */
export const ceilingOf = (c: Pick<Config, 'requestsPerMinute'>): number => (c.requestsPerMinute === 'auto' ? AUTO_CEILING_RPM : c.requestsPerMinute);

/** Three significant digits are plenty for a pace. */
const roundRpm = (rpm: number): number => Number(rpm.toPrecision(3));

/**
 * Every selected child, one after another, each given what is left of the run's budget. An account
 * whose turn comes after the budget (or a stop) is `deferred`; one that fails is reported and the next
 * one runs.
 */
export async function collectAccountsInTurn(
  accounts: readonly DuoAccount[],
  streams: readonly StreamName[],
  /** One child's collection; its results carry the account (deps.ts `collectChild`). */
  runAccount: (account: DuoAccount, budgetMs: number) => Promise<CollectionSummary>,
  opts: { budgetMs: number; now: () => number; signal?: AbortSignal | undefined },
): Promise<StreamResult[]> {
  const startMs = opts.now();
  const results: StreamResult[] = [];
  for (const account of accounts) {
    const account_ = refOf(account);
    const leftMs = opts.budgetMs - (opts.now() - startMs);
    if (leftMs <= 0 || opts.signal?.aborted) {
      results.push(...streams.map((stream): StreamResult => ({ stream, status: 'deferred', account: account_ })));
      continue;
    }
    try {
      results.push(...(await runAccount(account, leftMs)).streams);
    } catch (err) {
      results.push(...streams.map((stream): StreamResult => ({ stream, status: 'failed', error: err, account: account_ })));
    }
  }
  return results;
}
