/**
 * The log streams as deploy sees them: which are selected (DUO_LOGS), where each writes
 * (GCS_PREFIX / GCS_PREFIX_<STREAM>), the function environment that says so, and the SecOps feed each
 * one needs. One function, job, topic and bucket serve every stream; only the feeds are one per stream.
 * Pure: no I/O.
 */
import { defaultStateKey, SETTINGS } from '../config.js';
import { STREAMS, streamToken, streamWords, type StreamName } from '../duo/streams.js';
import type { DeploySettings } from './plan.js';

/** The streams whose prefix is a `GCS_PREFIX_<STREAM>` setting; telephony's is `GCS_PREFIX`. */
export type OtherStream = Exclude<StreamName, 'telephony'>;

/** How the SecOps feed form names each log type (the ID in parentheses is what it searches for too). */
export const LOG_TYPE_LABELS: Readonly<Record<StreamName, string>> = {
  telephony: 'Duo Telephony',
  authentication: 'Duo Auth',
  activity: 'Duo Activity',
  trust_monitor: 'Duo Trust Monitor',
  administrator: 'Duo Admin',
};

/** The Admin API permission every log stream needs (Google's telephony guide calls it "Read Telephony"). */
export const DUO_LOG_PERMISSION = 'Grant read log';

/** The streams Duo is retiring, and what replaces each. */
export const RETIRING: Readonly<Partial<Record<StreamName, StreamName>>> = { administrator: 'activity' };

/** `--prefix-trust-monitor`: the flag of a stream's prefix. */
export const prefixFlag = (stream: StreamName): string => (stream === 'telephony' ? '--prefix' : `--prefix-${streamToken(stream)}`);

/** `GCS_PREFIX_TRUST_MONITOR`: the function's variable for a stream's prefix. */
export const prefixEnv = (stream: StreamName): string => (stream === 'telephony' ? SETTINGS.prefix.env : `${SETTINGS.prefix.env}_${stream.toUpperCase()}`);

/** A stream's prefix in these settings. */
export const prefixOf = (s: Pick<DeploySettings, 'prefix' | 'streamPrefixes'>, stream: StreamName): string =>
  stream === 'telephony' ? s.prefix : s.streamPrefixes[stream];

/** What one selected stream needs of SecOps: its feed, and where the collector keeps its checkpoint. */
export interface StreamFeed {
  stream: StreamName;
  prefix: string;
  /** `DUO_AUTH` */
  logType: string;
  /** `Duo Auth (DUO_AUTH)` */
  logTypeText: string;
  /** `gs://bucket/prefix/`: the storage bucket URL of the feed, with the trailing slash the form expects. */
  uri: string;
  /** `_state/<prefix>.json`, outside every feed's URL. */
  stateKey: string;
  /** SecOps ships a parser for the log type; without one the logs stay raw until a custom parser exists. */
  secopsParser: boolean;
  /** --account-feeds: the child account this feed reads alone (below `<prefix>/<account>/`). */
  account?: string;
}

/** The selected streams, in the stream table's order, each with its feed. */
export function streamFeeds(s: Pick<DeploySettings, 'bucket' | 'logs' | 'prefix' | 'streamPrefixes'>): StreamFeed[] {
  return s.logs.map((stream) => {
    const prefix = prefixOf(s, stream);
    const { logType, secopsParser } = STREAMS[stream];
    return {
      stream,
      prefix,
      logType,
      logTypeText: `${LOG_TYPE_LABELS[stream]} (${logType})`,
      uri: `gs://${s.bucket}/${prefix}/`,
      stateKey: defaultStateKey(prefix),
      secopsParser,
    };
  });
}

/**
 * The feeds SecOps needs: one per stream, which in accounts mode reads every child (`<prefix>/<account>/…`,
 * each line naming its account); with --account-feeds one per (account, stream) instead, each reading
 * `<prefix>/<account>/` only, for separate namespaces. Accounts first, as Terraform's setproduct orders them.
 */
export function secopsFeeds(s: Pick<DeploySettings, 'bucket' | 'logs' | 'prefix' | 'streamPrefixes' | 'accounts'>): StreamFeed[] {
  const feeds = streamFeeds(s);
  const accounts = s.accounts?.accountFeeds ?? [];
  if (!accounts.length) return feeds;
  return accounts.flatMap((account) => feeds.map((f) => ({ ...f, account, uri: `${f.uri}${account}/` })));
}

/** A feed's display name: the log type, and the account for a feed of one account (Terraform names them alike). */
export const feedDisplayName = (f: Pick<StreamFeed, 'stream' | 'account'>): string => `${LOG_TYPE_LABELS[f.stream]} logs${f.account === undefined ? '' : ` ${f.account}`}`;

/**
 * The function's stream variables: `DUO_LOGS` and the prefix of every selected stream, defaults
 * included (as `GCS_PREFIX` always was), so that what the function does is read off its configuration
 * and a changed default cannot move a deployed stream silently.
 */
export function streamEnv(s: Pick<DeploySettings, 'logs' | 'prefix' | 'streamPrefixes'>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const stream of s.logs) env[prefixEnv(stream)] = prefixOf(s, stream);
  return { ...env, [SETTINGS.logs.env]: s.logs.join(',') };
}

/** Characters `--set-env-vars` may be split on instead of the comma (gcloud topic escaping: `^;^A=1;B=2`). */
const DELIMITERS = [';', '|', '@', '#', '~', '!', '+'] as const;

/**
 * `--set-env-vars=…` for these variables. gcloud splits the list at commas, and `DUO_LOGS` holds
 * commas: then the list gets another delimiter, one that occurs in no name or value.
 */
export function envVarsFlag(env: Readonly<Record<string, string>>): string {
  const pairs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  if (!pairs.some((p) => p.includes(','))) return `--set-env-vars=${pairs.join(',')}`;
  const delimiter = DELIMITERS.find((d) => !pairs.some((p) => p.includes(d)));
  if (delimiter === undefined) throw new Error(`no delimiter for --set-env-vars: every one of ${DELIMITERS.join(' ')} occurs in a value`);
  return `--set-env-vars=^${delimiter}^${pairs.join(delimiter)}`;
}

/** `--set-env-vars` back into variables (both forms above), as gcloud reads it. */
export function parseEnvVarsFlag(value: string): Record<string, string> {
  const m = /^\^([^^]+)\^/.exec(value);
  const [delimiter, list] = m ? [m[1]!, value.slice(m[0].length)] : [',', value];
  return Object.fromEntries(
    list
      .split(delimiter)
      .filter(Boolean)
      .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
  );
}

const SOURCE_DELETION = 'Never (recommended: the feed reads only; a retried page rewritten after a deletion would be ingested twice)';

/** The settings to enter in SecOps (SIEM Settings > Feeds > Add New Feed): one feed per selected stream. */
export function feedSettings(s: DeploySettings): string[] {
  const feeds = secopsFeeds(s);
  const perAccount = feeds.some((f) => f.account !== undefined);
  const lines = [
    feeds.length === 1
      ? 'SecOps feed (SIEM Settings > Feeds > Add New Feed > Configure a single feed):'
      : `SecOps feeds: ${feeds.length}, one per ${perAccount ? 'account and ' : ''}log stream, each made with SIEM Settings > Feeds > Add New Feed > Configure a single feed:`,
  ];
  if (s.accounts !== undefined && !perAccount) {
    lines.push("  Accounts mode: every child account's objects lie below the feed's URL (<prefix>/<account_id>/…) and each line carries account_id and account_name, so one feed per stream reads them all.");
  }
  for (const [i, f] of feeds.entries()) {
    if (feeds.length > 1) lines.push(`Feed ${i + 1} of ${feeds.length}: the ${streamWords(f.stream)} log${f.account === undefined ? '' : ` of account ${f.account}`}`);
    if (f.account !== undefined) lines.push(`  Feed name:              ${feedDisplayName(f)}`);
    lines.push(
      '  Source type:            Google Cloud Storage V2',
      `  Log type:               ${f.logTypeText}`,
      `  Storage bucket URL:     ${f.uri}`,
      `  Source deletion option: ${SOURCE_DELETION}`,
      '  Maximum File Age:       180 days (the default)',
    );
    // Its own namespace keeps one child's assets apart from another's in SecOps.
    if (f.account !== undefined) lines.push(`  Asset namespace:        ${f.account}`);
    if (!f.secopsParser) {
      lines.push(`  Parser:                 SecOps has no default parser for ${f.logType}: the logs arrive raw until you add a custom parser for it`);
    }
    const successor = RETIRING[f.stream];
    if (successor !== undefined) {
      lines.push(
        `  Note: Duo is retiring the ${f.stream} log (${f.logType}) in favour of the ${successor} log (${STREAMS[successor].logType}); ` +
          (s.logs.includes(successor) ? `that one is collected too, so this one can go once nothing needs it` : `add ${successor} to --logs`),
      );
    }
    lines.push(
      s.accounts === undefined
        ? `  Its checkpoint gs://${s.bucket}/${f.stateKey} lies outside that URL on purpose: the feed ingests every object below it.`
        : `  Its checkpoints, one per account (gs://${s.bucket}/${defaultStateKey(`${f.prefix}/${f.account ?? '<account_id>'}`)}), lie outside that URL on purpose: the feed ingests every object below it.`,
    );
  }
  lines.push(
    s.accounts === undefined
      ? `Duo: the Admin API application needs the permission "${DUO_LOG_PERMISSION}" (Google's telephony guide calls it "Read Telephony"); it covers every log.`
      : `Duo: the parent's application must be allowed to use the Accounts API (to list its children) and to read their logs ("${DUO_LOG_PERMISSION}"); \`duo-secops check\` with DUO_ACCOUNTS set proves both through a child.`,
    s.secopsServiceAccount !== undefined
      ? `Feed reader: ${s.secopsServiceAccount} (Storage Object Viewer on gs://${s.bucket}${feeds.length > 1 ? ', for every feed' : ''}).`
      : `Feed reader: click "Get Service Account" in that form${feeds.length > 1 ? ' (the same account for every feed)' : ''}, then run deploy again with --secops-service-account=<that email>.`,
  );
  return lines;
}
