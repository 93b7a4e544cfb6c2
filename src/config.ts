/**
 * Settings: one table, one row per setting. Each row names the environment variable, the flag, the
 * parser, the default for each entry point (CLI, daemon, Cloud Run function), the commands that show
 * the flag, and the help text. Everything else is derived from the table: the `Config` type, the
 * environment and flag readers (`loadConfig`), the commander options and their `--help` (entry/options.ts),
 * and the README's configuration table (`settingsTable`; a test holds the README equal to it). Nothing
 * else in the project reads `process.env`. Adding a setting is adding one row.
 *
 * Names that Google's guide uses (GCS_BUCKET, GCS_PREFIX, STATE_KEY, DUO_IKEY, DUO_SKEY, DUO_API_HOST,
 * MAX_ITERATIONS) keep the guide's meaning. Flags win over the environment; a bad value fails with one
 * ConfigError listing every problem.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { ACCOUNT_ID } from './duo/accounts.js';
import { parseStreamList, STREAM_NAMES, streamToken, streamWords, type StreamName } from './duo/streams.js';

/** Where a setting is read: the `duo-secops` commands, the `daemon` command, or the Cloud Run function. */
export type Entry = 'cli' | 'daemon' | 'function';

/** Commands that show a setting's flag. */
export type SettingCommand = 'collect' | 'daemon' | 'check' | 'state' | 'verify';

/** A default that differs by entry point. */
export interface EntryDefaults<T> {
  cli: T;
  daemon: T;
  function: T;
}

export interface SettingRow<S extends z.ZodType = z.ZodType> {
  /** Environment variable; undefined for a flag-only setting. */
  env?: string;
  /** Also read from these, after `env` (e.g. STORAGE_EMULATOR_HOST, which Google's clients honour). */
  envAliases?: readonly string[];
  /** Commander flag spec (`--bucket <name>`, `--no-enrich`); undefined for an environment-only setting. */
  flag?: string;
  /** Commands whose `--help` lists the flag. The environment is read by every entry point. */
  commands: readonly SettingCommand[];
  /** Parses a string from the environment or a flag (flags may also hand over booleans). */
  schema: S;
  /** The value when unset; `undefined` means unset is a valid state (optional setting). */
  default?: z.output<S> | EntryDefaults<z.output<S> | undefined>;
  /** The default as documentation shows it, when it is not a plain value (`_state/<prefix>.json`). */
  defaultText?: string;
  /** What the value 0 means, when it is special (`no limit`). */
  zeroMeans?: string;
  /** The flag's help when it is not the setting's (a `--no-…` flag turns the setting off). */
  flagHelp?: string;
  /** Kept out of `--help` and the README: test hooks. */
  internal?: boolean;
  /** One line for `--help` and the README. */
  help: string;
}

/** Upper bound of LOOKBACK_HOURS and WINDOW_MAX_HOURS: Duo keeps 180 days; a day of margin for clocks. */
export const MAX_LOOKBACK_HOURS = 179 * 24;

/** Lower bound of WINDOW_MAX_HOURS: one minute. A smaller window only multiplies requests. */
export const MIN_WINDOW_HOURS = 1 / 60;

// --- parsers ---------------------------------------------------------------------------------------
// Written for environment strings: only plain decimal numbers (no 0x10, 1e3, Infinity), booleans in
// the usual spellings, trimmed text. Messages say what is expected, never the value (it may be a secret).

const text = () => z.string().trim().min(1, 'must not be empty');

const wholeNumber = (min: number, max?: number) =>
  z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const s = String(v).trim();
      if (!/^\d+$/.test(s)) {
        ctx.addIssue({ code: 'custom', message: max === undefined ? `must be a whole number, at least ${min}` : `must be a whole number from ${min} to ${max}` });
        return z.NEVER;
      }
      const n = Number(s);
      if (n < min || (max !== undefined && n > max)) {
        ctx.addIssue({ code: 'custom', message: max === undefined ? `must be at least ${min}` : `must be from ${min} to ${max}` });
        return z.NEVER;
      }
      return n;
    });

/**
 * A decimal number within bounds. `minText`/`maxText` say a bound in words when the number alone would
 * not (`0.0167 (one minute)`); the messages name both bounds, so one line tells the whole rule.
 */
const decimal = (opts: { min: number; exclusive?: boolean; minText?: string; max?: number; maxText?: string }) => {
  const lower = `${opts.exclusive ? 'greater than' : 'at least'} ${opts.minText ?? opts.min}`;
  const upper = opts.max === undefined ? undefined : `at most ${opts.maxText ?? opts.max}`;
  const range = upper === undefined ? lower : opts.exclusive ? `${lower} and ${upper}` : `from ${opts.minText ?? opts.min} to ${opts.maxText ?? opts.max}`;
  return z.union([z.string(), z.number()]).transform((v, ctx) => {
    const s = String(v).trim();
    if (!/^\d+(\.\d+)?$/.test(s)) {
      ctx.addIssue({ code: 'custom', message: `must be a decimal number like 90 or 1.5, ${range}` });
      return z.NEVER;
    }
    const n = Number(s);
    if (opts.exclusive ? !(n > opts.min) : !(n >= opts.min)) {
      ctx.addIssue({ code: 'custom', message: `must be ${lower}` });
      return z.NEVER;
    }
    if (opts.max !== undefined && n > opts.max) {
      ctx.addIssue({ code: 'custom', message: `must be ${upper}` });
      return z.NEVER;
    }
    return n;
  });
};

/** `auto` (any case), or what `inner` accepts; `inner`'s message says `auto` is the other choice. */
const autoOr = <T>(inner: z.ZodType<T, string | number>) =>
  z.union([z.string(), z.number()]).transform((v, ctx): T | 'auto' => {
    if (String(v).trim().toLowerCase() === 'auto') return 'auto';
    const r = inner.safeParse(v);
    if (r.success) return r.data;
    ctx.addIssue({ code: 'custom', message: `${r.error.issues[0]?.message ?? 'is not valid'}, or auto` });
    return z.NEVER;
  });

const bool = z.preprocess((v) => {
  if (typeof v !== 'string') return v;
  const s = v.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  return v;
}, z.boolean({ error: 'must be true or false' }));

const hostname = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((h) => !/^[a-z]+:\/\//i.test(h), 'must be a host name like api-xxxxxxxx.duosecurity.com, not a URL (use DUO_API_URL for a URL)')
  .refine((h) => /^[A-Za-z0-9.-]+(:\d+)?$/.test(h), 'must be a host name like api-xxxxxxxx.duosecurity.com');

const httpUrl = z
  .string()
  .trim()
  .refine((u) => {
    try {
      const p = new URL(u);
      return p.protocol === 'http:' || p.protocol === 'https:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL')
  .transform((u) => u.replace(/\/+$/, ''));

/**
 * Why a `/`-separated object key or prefix cannot be used as it is, or undefined. The same key names an
 * object in a bucket and a path below OUTPUT_DIR, so it must stay a plain relative path in both: no
 * backslash (a folder separator on Windows, a character in GCS), no absolute path, no empty, `.` or `..`
 * segment (GCS would keep them as names; a folder would resolve them, leaving OUTPUT_DIR).
 */
function keyProblem(key: string): string | undefined {
  if (key === '') return 'must not be empty';
  if (key.includes('\\')) return 'must not contain a backslash: folders are separated by /';
  if (key.startsWith('/')) return 'must be relative to the bucket or OUTPUT_DIR, not an absolute path';
  const segments = key.split('/');
  if (segments.includes('')) return 'must not contain an empty segment (// or a trailing /)';
  if (segments.some((s) => s === '.' || s === '..')) return 'must not contain . or .. segments';
  return undefined;
}

/** A parser that refuses with `keyProblem`'s one line; `emptyOk` leaves an empty key to a later check. */
const objectKey = (prepare: (s: string) => string, opts: { emptyOk?: boolean } = {}) =>
  z
    .string()
    .trim()
    .transform((raw, ctx) => {
      const key = prepare(raw);
      const problem = key === '' && opts.emptyOk ? undefined : keyProblem(key);
      if (problem === undefined) return key;
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    });

/** The list of log streams to collect (`telephony,authentication`). */
const streamList = z
  .union([z.string(), z.array(z.string())])
  .transform((v, ctx) => {
    const parsed = parseStreamList(Array.isArray(v) ? v.join(',') : v);
    if ('streams' in parsed) return parsed.streams;
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  });

/** Duo account ids, comma-separated (`DA1234…,DA5678…`), repeats dropped. */
const accountIds = z.string().transform((v, ctx): string[] => {
  const ids = v.split(',').map((id) => id.trim()).filter((id) => id !== '');
  const bad = ids.find((id) => !ACCOUNT_ID.test(id));
  if (ids.length === 0 || bad !== undefined) {
    ctx.addIssue({ code: 'custom', message: `must be Duo account ids (letters and digits) separated by commas${bad !== undefined ? `; "${bad.slice(0, 64)}" is not one` : ''}` });
    return z.NEVER;
  }
  return [...new Set(ids)];
});

/** `all`, or Duo account ids as `accountIds` reads them. */
const accountSelection = z.string().transform((v, ctx): 'all' | string[] => {
  if (v.trim().toLowerCase() === 'all') return 'all';
  const r = accountIds.safeParse(v);
  if (r.success) return r.data;
  ctx.addIssue({ code: 'custom', message: `must be \`all\` or ${r.error.issues[0]?.message.replace(/^must be /, '') ?? 'account ids'}` });
  return z.NEVER;
});

/** The prefix setting of a stream other than telephony: `GCS_PREFIX_<STREAM>`, default `duo-<stream>`. */
const streamPrefix = (stream: Exclude<StreamName, 'telephony'>) =>
  row({
    env: `GCS_PREFIX_${stream.toUpperCase()}`,
    commands: [] as readonly SettingCommand[],
    schema: objectKey((p) => p.replace(/^\/+|\/+$/g, '')),
    default: `duo-${streamToken(stream)}`,
    help: `object prefix of the ${streamWords(stream)} log (its feed's folder); its checkpoint is \`_state/<prefix>.json\``,
  });

/** Keeps each row's own type (its schema's output, whether it has a default) for `Config`. */
const row = <T extends SettingRow>(r: T): T => r;

const DUO: readonly SettingCommand[] = ['collect', 'daemon', 'check', 'verify'];
const STORE: readonly SettingCommand[] = ['collect', 'daemon', 'check', 'state', 'verify'];
const RUN: readonly SettingCommand[] = ['collect', 'daemon'];

// --- the table ---------------------------------------------------------------------------------------

export const SETTINGS = {
  ikey: row({ env: 'DUO_IKEY', flag: '--ikey <ikey>', commands: DUO, schema: text(), help: "integration key of the Admin API application (required to reach Duo)" }),
  skey: row({
    env: 'DUO_SKEY',
    commands: DUO,
    schema: text(),
    defaultText: 'required unless `DUO_SKEY_SECRET`',
    help: 'secret key; never a flag (it would show in `ps`), never logged; surrounding white space is ignored',
  }),
  skeySecret: row({
    env: 'DUO_SKEY_SECRET',
    flag: '--skey-secret <name>',
    commands: DUO,
    schema: text().regex(/^projects\/[^/]+\/secrets\/[^/]+(\/versions\/[^/]+)?$/, 'must look like projects/P/secrets/S/versions/latest'),
    help: 'Secret Manager version holding the secret key, `projects/P/secrets/S/versions/latest`',
  }),
  apiHost: row({ env: 'DUO_API_HOST', flag: '--api-host <host>', commands: DUO, schema: hostname, help: 'API hostname of the Duo account, `api-xxxxxxxx.duosecurity.com` (required to reach Duo; it is signed into every request)' }),
  apiUrl: row({ env: 'DUO_API_URL', flag: '--api-url <url>', commands: DUO, schema: httpUrl, defaultText: '`https://$DUO_API_HOST`', help: 'base URL override: the simulator, a proxy' }),
  signatureVersion: row({
    env: 'DUO_SIGNATURE_VERSION',
    commands: [],
    schema: z.union([z.string(), z.number()]).transform((v, ctx) => {
      const s = String(v).trim();
      if (s === '2' || s === '5') return Number(s) as 2 | 5;
      ctx.addIssue({ code: 'custom', message: 'must be 2 or 5' });
      return z.NEVER;
    }),
    default: 5 as 2 | 5,
    help: 'request signature version sent to Duo (2 or 5)',
  }),
  requestsPerMinute: row({
    env: 'REQUESTS_PER_MINUTE',
    flag: '--rpm <n>',
    commands: DUO,
    schema: autoOr(decimal({ min: 0, exclusive: true })),
    default: 'auto',
    help: 'the most requests per minute to each Duo endpoint; the collector learns the pace Duo accepts below it. `auto`: at most 60',
  }),
  requestTimeoutSeconds: row({
    env: 'REQUEST_TIMEOUT_SECONDS',
    flag: '--request-timeout-seconds <s>',
    commands: ['collect', 'daemon', 'check', 'state', 'verify'],
    schema: decimal({ min: 0, exclusive: true }),
    default: 30,
    help: 'how long one request to Duo or to Cloud Storage may take, stalls included, before it counts as failed',
  }),
  bucket: row({
    env: 'GCS_BUCKET',
    flag: '--bucket <name>',
    commands: STORE,
    schema: z
      .string()
      .trim()
      .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a bucket name (lower case letters, digits, - _ .), without gs://'),
    defaultText: 'none: the local folder',
    help: 'write to this Cloud Storage bucket; without it, to the local folder `OUTPUT_DIR`',
  }),
  prefix: row({
    env: 'GCS_PREFIX',
    flag: '--prefix <prefix>',
    commands: STORE,
    // Slashes at either end are dropped (`duo-telephony/` is the feed's folder); emptiness is judged with
    // STATE_KEY in loadConfig.
    schema: objectKey((p) => p.replace(/^\/+|\/+$/g, ''), { emptyOk: true }),
    default: 'duo-telephony',
    help: "object prefix of the telephony log, folders separated by `/`: the SecOps feed's URI is `gs://BUCKET/PREFIX/`; empty only with a `STATE_KEY`",
  }),
  stateKey: row({
    env: 'STATE_KEY',
    flag: '--state-key <key>',
    commands: STORE,
    schema: objectKey((k) => k),
    defaultText: '`_state/<prefix>.json`',
    help: "checkpoint object of the telephony log, relative to the bucket or `OUTPUT_DIR`, kept outside the prefix (the feed would ingest it); the guide's `<prefix>/state.json` is carried on from",
  }),
  logs: row({
    env: 'DUO_LOGS',
    flag: '--logs <streams>',
    commands: ['collect', 'daemon', 'check', 'state', 'verify'],
    schema: streamList,
    default: ['telephony'] as StreamName[],
    defaultText: '`telephony`',
    help: `the Duo log streams to collect, comma-separated: ${STREAM_NAMES.join(', ')} (one feed each)`,
  }),
  accounts: row({
    env: 'DUO_ACCOUNTS',
    flag: '--accounts <ids>',
    commands: [...RUN, 'check'],
    schema: accountSelection,
    defaultText: 'none: the account of `DUO_API_HOST` alone',
    help: 'accounts mode: collect the child accounts of a parent (MSP) integration, `all` or account ids comma-separated; each child writes under `<prefix>/<account_id>/` with its own checkpoint',
  }),
  accountsExclude: row({
    env: 'DUO_ACCOUNTS_EXCLUDE',
    flag: '--accounts-exclude <ids>',
    commands: [...RUN, 'check'],
    schema: accountIds,
    defaultText: 'none',
    help: 'accounts mode: child account ids left out, comma-separated',
  }),
  workTopic: row({
    env: 'WORK_TOPIC',
    commands: [],
    schema: text().regex(/^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/, 'must be a topic as projects/PROJECT/topics/TOPIC'),
    defaultText: 'none: the function collects every child itself, one after another',
    help: 'function, accounts mode: the scheduled run publishes one message per child account and stream on this topic, and each message is collected by an invocation of its own',
  }),
  fanOutInstances: row({
    env: 'FAN_OUT_INSTANCES',
    commands: [],
    schema: wholeNumber(1, 1000),
    default: 10,
    help: 'function, accounts mode: the most work messages collected at once (the function maximum instances); with `ACCOUNTS_SHARE_RATE` each gets this share of `REQUESTS_PER_MINUTE`',
  }),
  accountsShareRate: row({
    env: 'ACCOUNTS_SHARE_RATE',
    commands: [],
    schema: bool,
    default: true,
    help: 'function, accounts mode: Duo may count every child against the parent integration rate limit, so each work message paces at `REQUESTS_PER_MINUTE` divided by `FAN_OUT_INSTANCES`; off when Duo limits each child on its own',
  }),
  accountFeeds: row({
    env: 'ACCOUNT_FEEDS',
    commands: [],
    schema: accountIds,
    defaultText: 'none: one feed per stream serves every account',
    help: 'accounts mode: the child accounts that have SecOps feeds of their own (one per account and stream); a collected child without one is warned about',
  }),
  prefixAuthentication: streamPrefix('authentication'),
  prefixActivity: streamPrefix('activity'),
  prefixTrustMonitor: streamPrefix('trust_monitor'),
  prefixAdministrator: streamPrefix('administrator'),
  outputDir: row({ env: 'OUTPUT_DIR', flag: '--out <dir>', commands: STORE, schema: text(), default: './duo-secops-data', help: 'local folder (data and checkpoint) when no bucket is set' }),
  gcsApiEndpoint: row({
    env: 'GCS_API_ENDPOINT',
    envAliases: ['STORAGE_EMULATOR_HOST'],
    flag: '--gcs-endpoint <url>',
    commands: STORE,
    schema: httpUrl,
    defaultText: "Google's",
    help: 'Cloud Storage JSON API endpoint: a local test server, Private Service Connect (`STORAGE_EMULATOR_HOST` also works)',
  }),
  stdout: row({ flag: '--stdout', commands: ['collect'], schema: bool, default: false, help: 'write NDJSON to stdout instead (checkpoint in the local folder; at least once: into a pipe, the last MiB of a run is written again by the next)' }),
  maxPages: row({ env: 'MAX_ITERATIONS', flag: '--max-pages <n>', commands: RUN, schema: wholeNumber(0), default: 0, zeroMeans: 'no limit', help: 'pages per run' }),
  pageLimit: row({ env: 'PAGE_LIMIT', flag: '--page-limit <n>', commands: RUN, schema: wholeNumber(1, 1000), default: 1000, help: 'items per request (1-1000)' }),
  delaySeconds: row({
    env: 'DELAY_SECONDS',
    flag: '--delay-seconds <s>',
    commands: [...RUN, 'verify'],
    schema: decimal({ min: 0 }),
    default: 120,
    help: 'how far behind now a window ends (Duo publishes logs up to two minutes late)',
  }),
  lookbackHours: row({
    env: 'LOOKBACK_HOURS',
    flag: '--lookback-hours <h>',
    commands: RUN,
    schema: decimal({ min: 0, exclusive: true, max: MAX_LOOKBACK_HOURS, maxText: `${MAX_LOOKBACK_HOURS} (179 days: Duo keeps 180)` }),
    default: 24,
    help: 'where the very first run starts; ignored once a checkpoint exists (use `state reset` then)',
  }),
  windowMaxHours: row({
    env: 'WINDOW_MAX_HOURS',
    flag: '--window-max-hours <h>',
    commands: RUN,
    schema: decimal({ min: MIN_WINDOW_HOURS, minText: '0.0167 (one minute)', max: MAX_LOOKBACK_HOURS, maxText: `${MAX_LOOKBACK_HOURS} (179 days)` }),
    default: 24,
    help: 'largest window opened at once, from one minute (0.0167) to 179 days (4296)',
  }),
  runBudgetSeconds: row({
    env: 'RUN_BUDGET_SECONDS',
    flag: '--budget-seconds <s>',
    commands: RUN,
    schema: decimal({ min: 0 }),
    default: { cli: 0, daemon: 0, function: 540 },
    zeroMeans: 'no limit',
    help: "stop opening new pages after this many seconds (the function's timeout is 600 s)",
  }),
  enrich: row({ env: 'ENRICH', flag: '--no-enrich', commands: [...RUN, 'verify'], schema: bool, default: true, flagHelp: 'do not add `eventtype` and `host` to each line', help: "add `eventtype` and `host` to each line, as Duo's own client does (SecOps' parser reads both)" }),
  logLevel: row({
    env: 'LOG_LEVEL',
    flag: '--log-level <level>',
    commands: ['collect', 'daemon', 'check', 'verify'],
    schema: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], { error: 'must be one of trace, debug, info, warn, error, fatal, silent' }),
    default: 'info' as 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent',
    defaultText: '`info`; `warn` for the CLI on a terminal',
    help: 'log level of the JSON log lines on stderr',
  }),
  schedule: row({ env: 'SCHEDULE', flag: '--schedule <cron>', commands: ['daemon'], schema: text(), default: '*/5 * * * *', help: 'daemon: cron schedule, 5 fields, or 6 with seconds first' }),
  verifySchedule: row({
    env: 'VERIFY_SCHEDULE',
    flag: '--verify-schedule <cron>',
    commands: ['daemon'],
    schema: text(),
    defaultText: 'none',
    help: 'daemon: also verify yesterday (UTC) on this cron schedule, e.g. `30 3 * * *`, logging one `verify.finished` line per stream',
  }),
  verifyRepair: row({ env: 'VERIFY_REPAIR', flag: '--verify-repair', commands: ['daemon'], schema: bool, default: false, help: 'daemon: the scheduled verify also writes what is missing (never events of deleted objects)' }),
  runAtStart: row({ env: 'RUN_AT_START', flag: '--no-run-at-start', commands: ['daemon'], schema: bool, default: true, flagHelp: 'wait for the first scheduled time instead of running at once', help: 'daemon: also run once at start, not only on the schedule' }),
  backoffMs: row({ env: 'DUO_SECOPS_BACKOFF_MS', commands: [], schema: wholeNumber(1), internal: true, help: 'test hook: the first wait after a failed request to Duo, in ms (doubling; default 1000), and its jitter' }),
  failpoint: row({ env: 'DUO_SECOPS_FAILPOINT', commands: [], schema: text(), internal: true, help: 'test hook: `<point>:<n>` kills the process at the n-th time it reaches that step' }),
} as const;

export type SettingKey = keyof typeof SETTINGS;

/** Every setting's parsed value; unset optional settings are `undefined`. */
type Parsed = { [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> | (HasDefault<K> extends true ? never : undefined) };
type HasDefault<K extends SettingKey> = (typeof SETTINGS)[K] extends { default: unknown } ? true : false;

export interface Config extends Parsed {
  /** Empty when not set (commands that do not reach Duo). */
  ikey: string;
  apiHost: string;
  /** `apiUrl` resolved: `https://<apiHost>` unless DUO_API_URL was given. */
  apiUrl: string;
  /**
   * Where the checkpoint is written: `_state/<prefix>.json`, or STATE_KEY when it lies outside the
   * feed's prefix.
   */
  stateKey: string;
  /** True when STATE_KEY / --state-key was given. */
  stateKeyExplicit: boolean;
  /**
   * A state to carry on from, read and never written: the guide's `<prefix>/state.json`, or a STATE_KEY
   * inside the feed's prefix (the guide sets `STATE_KEY=duo-telephony/state.json`), whose every change
   * the feed would ingest as a log.
   */
  legacyStateKey: string | undefined;
  /** The selected streams (DUO_LOGS), in the stream table's order, each with where it writes. */
  stores: StreamStore[];
  /** The settings given explicitly (environment or flag), for messages such as "LOOKBACK_HOURS is ignored". */
  explicit: ReadonlySet<SettingKey>;
  entry: Entry;
}

/** Where one stream writes: its prefix, its checkpoint, and a state to carry on from (telephony: the guide's). */
export interface StreamStore {
  stream: StreamName;
  prefix: string;
  stateKey: string;
  legacyStateKey: string | undefined;
}

/** The setting that holds a stream's prefix. */
export function prefixSettingOf(stream: StreamName): SettingKey {
  const keys: Record<StreamName, SettingKey> = {
    telephony: 'prefix',
    authentication: 'prefixAuthentication',
    activity: 'prefixActivity',
    trust_monitor: 'prefixTrustMonitor',
    administrator: 'prefixAdministrator',
  };
  return keys[stream];
}

/**
 * Why the selected streams' prefixes cannot share one bucket, or nothing: two that are equal or nest
 * (one feed would ingest the other's logs), two checkpoints that would be one object, or a prefix
 * that would hold another stream's checkpoint.
 */
export function streamPrefixProblems(prefixes: ReadonlyArray<{ stream: StreamName; prefix: string }>): string[] {
  const problems: string[] = [];
  const named = (p: { stream: StreamName }): string => nameOf(prefixSettingOf(p.stream));
  for (const [i, a] of prefixes.entries()) {
    for (const b of prefixes.slice(i + 1)) {
      if (a.prefix === b.prefix || isUnderPrefix(`${a.prefix}/`, b.prefix) || isUnderPrefix(`${b.prefix}/`, a.prefix)) {
        problems.push(
          `${named(b)}: ${b.prefix || '(empty)'} overlaps ${named(a)} ${a.prefix || '(empty)'} of the ${a.stream} log: each stream needs a folder of its own, or one feed would ingest the other's logs`,
        );
      } else if (defaultStateKey(a.prefix) === defaultStateKey(b.prefix)) {
        problems.push(`${named(b)}: ${b.prefix} and ${named(a)} ${a.prefix} would share the checkpoint ${defaultStateKey(a.prefix)}: rename one`);
      }
    }
    for (const other of prefixes) {
      if (other !== a && a.prefix !== '' && isUnderPrefix(defaultStateKey(other.prefix), a.prefix)) {
        problems.push(`${named(a)}: ${a.prefix} would hold the checkpoint ${defaultStateKey(other.prefix)} of the ${other.stream} log, which its feed must not read: choose another prefix`);
      }
    }
  }
  return problems;
}

/** Flags as commander hands them over, keyed by setting. */
export type ConfigFlags = Partial<Record<string, string | boolean | number | undefined>>;

export interface LoadConfigOptions {
  /** Which entry point's defaults apply (default `cli`). */
  entry?: Entry;
  /** Require Duo credentials (collect, check, daemon, function). `state` doesn't. */
  needDuo?: boolean;
  /** The CLI on a terminal: the log level defaults to `warn`, as the progress display and summary say the rest. */
  terminal?: boolean;
}

/** `DUO_IKEY / --ikey`: how messages name a setting. */
export function nameOf(key: SettingKey): string {
  const r: SettingRow = SETTINGS[key];
  const flag = r.flag?.split(' ')[0];
  return [r.env, flag].filter(Boolean).join(' / ') || key;
}

/** Whether a problem about this setting was found already (a check across settings then says nothing more). */
function hasProblem(problems: readonly string[], key: SettingKey): boolean {
  return problems.some((p) => p.startsWith(`${nameOf(key)}:`));
}

/** Treat empty strings in the environment as unset (Cloud Run consoles leave them behind). */
function envValue(env: NodeJS.ProcessEnv, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/**
 * A setting's raw value from the environment (its variable, then its aliases; blank counts as unset),
 * for a command that validates it its own way (deploy) but must read it under the table's names.
 */
export function settingFromEnv(env: NodeJS.ProcessEnv, key: SettingKey): string | undefined {
  const r: SettingRow = SETTINGS[key];
  return [r.env, ...(r.envAliases ?? [])].map((name) => envValue(env, name)).find((v) => v !== undefined);
}

export function defaultFor(key: SettingKey, entry: Entry): unknown {
  const d: unknown = (SETTINGS[key] as SettingRow).default;
  if (typeof d === 'object' && d !== null && 'cli' in d && 'daemon' in d && 'function' in d) return (d as EntryDefaults<unknown>)[entry];
  return d;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}, opts: LoadConfigOptions = {}): Config {
  const entry = opts.entry ?? 'cli';
  if (flags['skey'] !== undefined) {
    // Never accepted as a flag: the value would be visible to every user in `ps`.
    throw new ConfigError(['the secret key cannot be given as a flag (it would show in `ps`): set DUO_SKEY or DUO_SKEY_SECRET']);
  }
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  const explicit = new Set<SettingKey>();
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const r: SettingRow = SETTINGS[key];
    let raw: unknown = flags[key];
    if (raw === undefined) raw = settingFromEnv(env, key);
    if (raw === undefined) {
      values[key] = key === 'logLevel' && opts.terminal && entry === 'cli' ? 'warn' : defaultFor(key, entry);
      continue;
    }
    explicit.add(key);
    const parsed = r.schema.safeParse(raw);
    if (parsed.success) values[key] = parsed.data;
    else for (const issue of parsed.error.issues) problems.push(`${nameOf(key)}: ${issue.message}`);
  }
  const c = values as Parsed;

  if (opts.needDuo) {
    if (c.ikey === undefined && !problems.some((p) => p.startsWith(nameOf('ikey')))) problems.push(`${nameOf('ikey')}: required (the Admin API application's integration key)`);
    if (c.apiHost === undefined && !problems.some((p) => p.startsWith(nameOf('apiHost')))) {
      problems.push(`${nameOf('apiHost')}: required (the API hostname, e.g. api-xxxxxxxx.duosecurity.com)`);
    }
    if (!explicit.has('skey') && !explicit.has('skeySecret')) problems.push('DUO_SKEY: required unless DUO_SKEY_SECRET names a Secret Manager version holding it');
  }
  // The default checkpoint must not land inside the feed's prefix (an explicit STATE_KEY there, as the
  // guide's `<prefix>/state.json`, is only warned about: configWarnings).
  if (c.stateKey === undefined && !hasProblem(problems, 'stateKey') && !hasProblem(problems, 'prefix')) {
    const stateKey = defaultStateKey(c.prefix);
    if (isUnderPrefix(stateKey, c.prefix)) {
      problems.push(
        c.prefix === ''
          ? `${nameOf('prefix')}: empty (or only /) would hold the checkpoint ${stateKey}: the feed would read the whole bucket, checkpoint included; name a folder such as duo-telephony`
          : `${nameOf('prefix')}: ${c.prefix} would hold the checkpoint ${stateKey}, which the feed must not read: choose another prefix, or set STATE_KEY outside it`,
      );
    }
  }
  if (c.stateKey !== undefined && c.prefix !== '' && isUnderPrefix(c.stateKey, c.prefix) && isUnderPrefix(defaultStateKey(c.prefix), c.prefix)) {
    // A STATE_KEY in the feed's prefix is only read; the checkpoint would go to the default key, inside it too.
    problems.push(`${nameOf('prefix')}: ${c.prefix} would hold the checkpoint ${defaultStateKey(c.prefix)}, which the feed must not read: choose another prefix`);
  }
  const selected = (c.logs ?? ['telephony']).map((stream) => ({ stream, prefix: String(c[prefixSettingOf(stream)] ?? '') }));
  if (!selected.some(({ stream }) => hasProblem(problems, prefixSettingOf(stream)))) problems.push(...streamPrefixProblems(selected));
  if (c.accounts !== undefined) {
    // Each child has its own checkpoint beside its own prefix: one STATE_KEY cannot name them all.
    if (c.stateKey !== undefined) problems.push(`${nameOf('stateKey')}: names one checkpoint; with ${nameOf('accounts')} every child account has its own (\`_state/<prefix>_<account_id>.json\`): unset it`);
    if (c.stdout) problems.push(`--stdout: not with ${nameOf('accounts')}; collect the child accounts into a bucket or a folder, where each has its own prefix`);
  } else {
    for (const key of ['accountsExclude', 'workTopic', 'accountFeeds'] as const) {
      if (c[key] !== undefined) problems.push(`${nameOf(key)}: only with ${nameOf('accounts')} (accounts mode)`);
    }
  }
  if (c.bucket !== undefined && c.stdout) problems.push('--stdout and GCS_BUCKET / --bucket exclude each other: choose one sink');
  // Google's storage client reads STORAGE_EMULATOR_HOST itself and sends JSON calls there while uploads
  // go to the configured endpoint: two different stores behind one client. Refuse rather than split.
  const emulator = envValue(env, 'STORAGE_EMULATOR_HOST')?.trim().replace(/\/+$/, '');
  if (emulator !== undefined && c.gcsApiEndpoint !== undefined && emulator !== c.gcsApiEndpoint) {
    problems.push(
      `${nameOf('gcsApiEndpoint')}: ${c.gcsApiEndpoint} differs from STORAGE_EMULATOR_HOST=${emulator}; Google's client would upload to the first and read from the second: unset one of them`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const apiHost = c.apiHost ?? '';
  // A STATE_KEY inside the feed's prefix is read as the guide's state and never written.
  const stateKeyInFeed = c.stateKey !== undefined && c.prefix !== '' && isUnderPrefix(c.stateKey, c.prefix);
  const stateKey = c.stateKey === undefined || stateKeyInFeed ? defaultStateKey(c.prefix) : c.stateKey;
  const legacy = c.stateKey === undefined ? legacyStateKey(c.prefix) : stateKeyInFeed ? c.stateKey : undefined;
  const stores = selected.map(({ stream, prefix }): StreamStore =>
    stream === 'telephony' ? { stream, prefix, stateKey, legacyStateKey: legacy } : { stream, prefix, stateKey: defaultStateKey(prefix), legacyStateKey: undefined },
  );
  return {
    ...c,
    apiHost,
    ikey: c.ikey ?? '',
    apiUrl: c.apiUrl ?? (apiHost ? `https://${apiHost}` : ''),
    stateKey,
    stateKeyExplicit: c.stateKey !== undefined,
    legacyStateKey: legacy,
    stores,
    explicit,
    entry,
  };
}

/** The checkpoint lives outside the data prefix: a GCS V2 feed ingests every object below it. */
export function defaultStateKey(prefix: string): string {
  return `_state/${prefix ? prefix.replace(/\//g, '_') : 'root'}.json`;
}

/** The guide's checkpoint location, carried on from when STATE_KEY is unset. */
export function legacyStateKey(prefix: string): string {
  return prefix ? `${prefix}/state.json` : 'state.json';
}

/** True when a key sits under the data prefix (and so would be ingested by the feed). */
export function isUnderPrefix(key: string, prefix: string): boolean {
  return prefix === '' || key.startsWith(`${prefix}/`);
}

/** Warnings about accepted-but-risky values, logged once at start. */
export function configWarnings(c: Config): string[] {
  const w: string[] = [];
  if (c.delaySeconds < 120) {
    w.push(`DELAY_SECONDS=${c.delaySeconds} is below Duo's 120 s: logs that arrive late may be missed (fine for a simulator)`);
  }
  if (c.stateKeyExplicit && c.prefix === '' && isUnderPrefix(c.stateKey, c.prefix)) {
    w.push(
      `STATE_KEY=${c.stateKey} is in the feed's reach: GCS_PREFIX is empty, so a SecOps GCS V2 feed reads the whole bucket and ingests it as a bogus log each time it changes; prefer a GCS_PREFIX such as duo-telephony`,
    );
  }
  if (c.stateKeyExplicit && c.legacyStateKey !== undefined) {
    w.push(
      `STATE_KEY=${c.legacyStateKey} is under the feed's prefix ${c.prefix}/, where a SecOps GCS V2 feed would ingest each change of it as a log: ` +
        `it is read as the guide's state and carried on from, never written; the checkpoint goes to ${c.stateKey}. Unset STATE_KEY to silence this`,
    );
  }
  return w;
}

// --- documentation derived from the table --------------------------------------------------------------

function valueDoc(r: SettingRow, v: unknown, code: (s: string) => string): string {
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  const shown = code(String(v));
  return v === 0 && r.zeroMeans ? `${shown} (${r.zeroMeans})` : shown;
}

/**
 * A setting's default as documentation shows it: for one entry point (`--help`), or for all of them
 * (the README), in Markdown when `markdown`.
 */
export function describeDefault(key: SettingKey, entry?: Entry, markdown = false): string | undefined {
  const r: SettingRow = SETTINGS[key];
  const code = (s: string): string => (markdown ? `\`${s}\`` : s);
  const d: unknown = r.default;
  if (typeof d === 'object' && d !== null && !Array.isArray(d)) {
    if (entry !== undefined) return valueDoc(r, defaultFor(key, entry), code);
    // Entry points that share a value are named together: "CLI and daemon `0` (no limit); function `540`".
    const byValue = new Map<unknown, string[]>();
    for (const [e, label] of [['cli', 'CLI'], ['daemon', 'daemon'], ['function', 'function']] as const) {
      const v = defaultFor(key, e);
      byValue.set(v, [...(byValue.get(v) ?? []), label]);
    }
    return [...byValue].map(([v, labels]) => `${labels.join(' and ')} ${valueDoc(r, v, code)}`).join('; ');
  }
  if (r.defaultText !== undefined) return markdown ? r.defaultText : r.defaultText.replace(/`/g, '');
  return d === undefined ? undefined : valueDoc(r, d, code);
}

/** The README's configuration table, generated from SETTINGS (internal rows left out). */
export function settingsTable(): string {
  const lines = ['| env | flag | default | meaning |', '|---|---|---|---|'];
  for (const key of Object.keys(SETTINGS) as SettingKey[]) {
    const r: SettingRow = SETTINGS[key];
    if (r.internal) continue;
    const env = [r.env, ...(r.envAliases ?? [])].filter(Boolean).map((e) => `\`${e}\``).join(' / ') || '—';
    const flag = r.flag ? `\`${r.flag.split(' ')[0]}\`` : '—';
    lines.push(`| ${env} | ${flag} | ${describeDefault(key, undefined, true) ?? '—'} | ${r.help} |`);
  }
  return lines.join('\n');
}
