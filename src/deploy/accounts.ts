/**
 * Accounts mode as deploy sees it (`--accounts`): a Duo parent (MSP) integration reads its child
 * accounts, and the work is fanned out on Cloud Run. The scheduled run (scheduler -> trigger topic ->
 * function, message `{}`) lists the children and publishes one message per (account, stream) on the work
 * topic; an Eventarc trigger on that topic calls the same function, once per message, and each call
 * collects one child's stream. Deploy adds the work topic, the collector's right to publish on it, that
 * trigger, the function's variables below, and more instances. Pure: no I/O.
 */
import { AUTO_CEILING_RPM } from '../duo/pacer.js';
import { streamWords, type StreamName } from '../duo/streams.js';

/** The variables the function reads in accounts mode (src/config.ts); their names are a contract. */
export const ACCOUNTS_ENV = {
  accounts: 'DUO_ACCOUNTS',
  exclude: 'DUO_ACCOUNTS_EXCLUDE',
  workTopic: 'WORK_TOPIC',
  accountFeeds: 'ACCOUNT_FEEDS',
  /** How many work items may run at once: the function's maximum instances, for its pacing. */
  fanOut: 'FAN_OUT_INSTANCES',
  /** `false` with --rate-per-child: each work item paces up to the whole ceiling. */
  shareRate: 'ACCOUNTS_SHARE_RATE',
} as const;

/** What deploy sets on the function when given; a variable of a flag dropped later is removed. */
export const RPM_ENV = 'REQUESTS_PER_MINUTE';

/**
 * A Duo account id: `D`, then upper-case letters and digits (Duo's are `DA` and 18 more). Upper case
 * only, as Duo writes them: the function compares them as they are.
 */
export const ACCOUNT_ID_PATTERN = /^D[A-Z0-9]{5,40}$/;
export const ACCOUNT_ID_RULE = 'D followed by 5-40 upper-case letters and digits, as Duo writes them (DA…)';

export const DEFAULT_MAX_INSTANCES = 10;
export const MAX_INSTANCES_LIMIT = 1000;
export const WORK_SUFFIX = '-work';
export const PUBLISHER_ROLE = 'roles/pubsub.publisher';
/** The event Eventarc turns a Pub/Sub message into; the function's own trigger uses the same. */
export const PUBSUB_EVENT_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

export interface AccountsSettings {
  /** `all` children of the parent integration, or these account ids. */
  accounts: 'all' | string[];
  /** Left out (only with `all`). */
  exclude: string[];
  /** The function's maximum instances: how many (account, stream) collections run at once. */
  maxInstances: number;
  /** The Pub/Sub topic (short name) the scheduled run publishes the work on. */
  workTopic: string;
  /** Children with feeds of their own, one per (account, stream); empty: one feed per stream for all. */
  accountFeeds: string[];
  /**
   * Children count against the parent integration's limit (the default, the safe reading): each
   * collection paces at its share of the ceiling. False with --rate-per-child.
   */
  shareRate: boolean;
}

/** The Eventarc trigger from the work topic to the function: named after the function. */
export const workTriggerName = (functionName: string): string => `${functionName}${WORK_SUFFIX}`;
export const defaultWorkTopic = (functionName: string): string => `${functionName}${WORK_SUFFIX}`;

/** Comma-separated ids: each valid, none twice. */
export function parseAccountIds(raw: string): { ids: string[] } | { problem: string } {
  const ids = raw.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (ids.length === 0) return { problem: 'must name at least one account id' };
  const bad = ids.filter((x) => !ACCOUNT_ID_PATTERN.test(x));
  if (bad.length) return { problem: `${bad.join(', ')}: not an account id (${ACCOUNT_ID_RULE})` };
  const twice = ids.filter((x, i) => ids.indexOf(x) !== i);
  if (twice.length) return { problem: `${[...new Set(twice)].join(', ')} named twice` };
  return { ids };
}

/** The function's accounts variables; empty outside accounts mode. */
export function accountsEnv(a: AccountsSettings | undefined, project: string): Record<string, string> {
  if (a === undefined) return {};
  return {
    [ACCOUNTS_ENV.accounts]: a.accounts === 'all' ? 'all' : a.accounts.join(','),
    ...(a.exclude.length ? { [ACCOUNTS_ENV.exclude]: a.exclude.join(',') } : {}),
    [ACCOUNTS_ENV.workTopic]: `projects/${project}/topics/${a.workTopic}`,
    [ACCOUNTS_ENV.fanOut]: String(a.maxInstances),
    ...(a.accountFeeds.length ? { [ACCOUNTS_ENV.accountFeeds]: a.accountFeeds.join(',') } : {}),
    ...(a.shareRate ? {} : { [ACCOUNTS_ENV.shareRate]: 'false' }),
  };
}

/** Collected accounts (of an explicit list) that have no feed of their own while others have. */
export function accountsWithoutFeed(a: AccountsSettings): string[] {
  if (a.accountFeeds.length === 0 || a.accounts === 'all') return [];
  return a.accounts.filter((id) => !a.accountFeeds.includes(id));
}

interface SummaryInput {
  project: string;
  functionName: string;
  logs: readonly StreamName[];
  requestsPerMinute?: string | undefined;
}

/** What accounts mode adds, printed with the plan (dry run or not): the fan-out and what it means for Duo's limit. */
export function accountsSummary(s: SummaryInput, a: AccountsSettings): string[] {
  const n = a.maxInstances;
  const who =
    a.accounts === 'all'
      ? `all children of the parent integration${a.exclude.length ? `, except ${a.exclude.join(', ')}` : ''}`
      : `${a.accounts.length} child account${a.accounts.length === 1 ? '' : 's'}: ${a.accounts.join(', ')}`;
  const streams = s.logs.map(streamWords).join(', ');
  const lines = [
    'Accounts mode: the Duo integration is a parent (MSP) one; each child account is collected on its own, below <prefix>/<account_id>/.',
    `  Accounts:       ${who}`,
    `  Work topic:     projects/${s.project}/topics/${a.workTopic}: the scheduled run publishes one message per (account, stream) on it (${streams})`,
    `  Work trigger:   Eventarc trigger ${workTriggerName(s.functionName)}: each message is one collection by ${s.functionName}; a redelivered one is harmless (the checkpoint's compare-and-swap)`,
    `  Max instances:  ${n}: at most ${n} collections run at once`,
    a.accountFeeds.length
      ? `  Feeds:          one per account and stream, for ${a.accountFeeds.join(', ')} (ACCOUNT_FEEDS; the function warns about a collected child without one)`
      : '  Feeds:          one per stream reads every account (each line carries account_id and account_name)',
  ];
  const missing = accountsWithoutFeed(a);
  if (missing.length) lines.push(`  Without a feed: ${missing.join(', ')}: stored, but no feed reads them; add them to --account-feeds`);
  if (a.accountFeeds.length && a.accounts === 'all') lines.push('  A child not in --account-feeds is stored, but no feed reads it: the function warns about each.');
  const rpm = s.requestsPerMinute;
  const ceiling = rpm === undefined || rpm === 'auto' ? `${AUTO_CEILING_RPM} (REQUESTS_PER_MINUTE auto)` : `${rpm} (REQUESTS_PER_MINUTE)`;
  lines.push(
    a.shareRate
      ? `  Sizing: Duo may count every child's requests against the parent integration's rate limit, so each collection paces at its share of the ceiling, ${ceiling} / ${n} a minute per endpoint: ` +
          `together the ${n} instances send no more than one collection would, and each learns a slower pace from Duo's 429s. If Duo limits each child on its own, deploy with --rate-per-child. docs/accounts.md has the arithmetic.`
      : `  Sizing: --rate-per-child: each of the ${n} collections paces up to ${ceiling} a minute per endpoint, learned down on Duo's 429s; if Duo counts the children against the parent, the parent sees up to ${n} times that. docs/accounts.md has the arithmetic.`,
  );
  return lines;
}
