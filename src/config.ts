/**
 * One configuration schema, parsed once at the edge from environment and flags (flags win).
 * A bad value fails with one ConfigError listing every problem. Names follow design.md section 2 and
 * Google's guide (GCS_BUCKET, GCS_PREFIX, STATE_KEY, DUO_IKEY, DUO_SKEY, DUO_API_HOST, MAX_ITERATIONS).
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import type { LogLevel } from './log.js';

export const MAX_LOOKBACK_HOURS = 179 * 24;

export interface Config {
  ikey: string;
  /** Secret key; absent when it is to be read from Secret Manager (`skeySecret`). Never logged. */
  skey: string | undefined;
  skeySecret: string | undefined;
  apiHost: string;
  apiUrl: string;
  bucket: string | undefined;
  prefix: string;
  stateKey: string;
  /** True when STATE_KEY/--state-key was given (no legacy migration then). */
  stateKeyExplicit: boolean;
  outputDir: string;
  /** `stdout` sink instead of a folder or bucket. */
  stdout: boolean;
  /** Pages per run; 0 = unlimited. */
  maxPages: number;
  pageLimit: number;
  delaySeconds: number;
  lookbackHours: number;
  windowMaxHours: number;
  requestsPerMinute: number;
  runBudgetSeconds: number;
  enrich: boolean;
  logLevel: LogLevel;
  logPhone: 'masked' | 'full';
  /** GCS JSON API endpoint override (a test server); Google's default when undefined. */
  gcsApiEndpoint: string | undefined;
  /** Signature version sent to Duo. */
  signatureVersion: 2 | 5;
}

/** Flags as commander hands them over (camelCase, strings or booleans). */
export type ConfigFlags = Partial<Record<string, string | boolean | number | undefined>>;

export interface LoadConfigOptions {
  /** Require Duo credentials (collect, check, daemon, function). `state` and `udm` don't. */
  needDuo?: boolean;
}

const ENV_OF: Record<string, string> = {
  ikey: 'DUO_IKEY',
  skey: 'DUO_SKEY',
  skeySecret: 'DUO_SKEY_SECRET',
  apiHost: 'DUO_API_HOST',
  apiUrl: 'DUO_API_URL',
  bucket: 'GCS_BUCKET',
  prefix: 'GCS_PREFIX',
  stateKey: 'STATE_KEY',
  outputDir: 'OUTPUT_DIR',
  maxPages: 'MAX_ITERATIONS',
  pageLimit: 'PAGE_LIMIT',
  delaySeconds: 'DELAY_SECONDS',
  lookbackHours: 'LOOKBACK_HOURS',
  windowMaxHours: 'WINDOW_MAX_HOURS',
  requestsPerMinute: 'REQUESTS_PER_MINUTE',
  runBudgetSeconds: 'RUN_BUDGET_SECONDS',
  enrich: 'ENRICH',
  logLevel: 'LOG_LEVEL',
  logPhone: 'LOG_PHONE',
  gcsApiEndpoint: 'GCS_API_ENDPOINT',
  signatureVersion: 'DUO_SIGNATURE_VERSION',
};

/** The flag that sets each key, for messages. `skey` has none on purpose: it would show in `ps`. */
const FLAG_OF: Record<string, string | undefined> = {
  ikey: '--ikey',
  skeySecret: '--skey-secret',
  apiHost: '--api-host',
  apiUrl: '--api-url',
  bucket: '--bucket',
  prefix: '--prefix',
  stateKey: '--state-key',
  outputDir: '--out',
  maxPages: '--max-pages',
  pageLimit: '--page-limit',
  delaySeconds: '--delay-seconds',
  lookbackHours: '--lookback-hours',
  windowMaxHours: '--window-max-hours',
  requestsPerMinute: '--rpm',
  runBudgetSeconds: '--budget-seconds',
  enrich: '--no-enrich',
  logLevel: '--log-level',
  gcsApiEndpoint: '--gcs-endpoint',
};

const intIn = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ error: 'must be a number' })
    .refine((n) => Number.isInteger(n), 'must be a whole number')
    .refine((n) => n >= min && n <= max, `must be between ${min} and ${max === Number.MAX_SAFE_INTEGER ? 'any' : max}`);
const numAtLeast = (min: number, exclusive = false) =>
  z.coerce
    .number({ error: 'must be a number' })
    .refine((n) => Number.isFinite(n) && (exclusive ? n > min : n >= min), `must be ${exclusive ? 'greater than' : 'at least'} ${min}`);
const bool = z.preprocess((v) => {
  if (typeof v === 'boolean') return v;
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
  }, 'must be an http(s) URL');

const schema = z.object({
  ikey: z.string().trim().min(1, 'must not be empty').optional(),
  skey: z.string().min(1, 'must not be empty').optional(),
  skeySecret: z
    .string()
    .trim()
    .regex(/^projects\/[^/]+\/secrets\/[^/]+(\/versions\/[^/]+)?$/, 'must look like projects/P/secrets/S/versions/latest')
    .optional(),
  apiHost: hostname.optional(),
  apiUrl: httpUrl.optional(),
  bucket: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'must be a bucket name (lower case letters, digits, - _ .), without gs://')
    .optional(),
  prefix: z
    .string()
    .trim()
    .transform((p) => p.replace(/^\/+|\/+$/g, ''))
    .refine((p) => !p.split('/').some((s) => s === '..' || s === '.'), 'must not contain . or .. segments')
    .default('duo-telephony'),
  stateKey: z
    .string()
    .trim()
    .min(1)
    .refine((k) => !k.startsWith('/') && !k.split('/').some((s) => s === '..'), 'must be a relative key without ..')
    .optional(),
  outputDir: z.string().trim().min(1).default('./duo-secops-data'),
  stdout: bool.default(false),
  maxPages: intIn(0).default(0),
  pageLimit: intIn(1, 1000).default(1000),
  delaySeconds: numAtLeast(0).default(120),
  lookbackHours: numAtLeast(0, true)
    .refine((h) => h <= MAX_LOOKBACK_HOURS, `must be at most ${MAX_LOOKBACK_HOURS} (179 days: Duo keeps 180)`)
    .default(24),
  windowMaxHours: numAtLeast(0, true).default(24),
  requestsPerMinute: numAtLeast(0, true).default(30),
  runBudgetSeconds: numAtLeast(0, true).default(540),
  enrich: bool.default(true),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  logPhone: z.enum(['masked', 'full']).default('masked'),
  gcsApiEndpoint: httpUrl.optional(),
  signatureVersion: z.coerce
    .number()
    .refine((n) => n === 2 || n === 5, 'must be 2 or 5')
    .default(5),
});

function nameOf(key: string): string {
  const env = ENV_OF[key];
  const flag = FLAG_OF[key];
  return [env, flag].filter(Boolean).join(' / ') || key;
}

/** Treat empty strings in the environment as unset (Cloud Run consoles leave them behind). */
function envValue(env: NodeJS.ProcessEnv, name: string | undefined): string | undefined {
  if (!name) return undefined;
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}, opts: LoadConfigOptions = {}): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const fromFlag = flags[key];
    raw[key] = fromFlag !== undefined ? fromFlag : envValue(env, ENV_OF[key]);
  }
  // STORAGE_EMULATOR_HOST is what Google's clients honour; accept it as the endpoint too.
  if (raw.gcsApiEndpoint === undefined && envValue(env, 'STORAGE_EMULATOR_HOST')) {
    raw.gcsApiEndpoint = envValue(env, 'STORAGE_EMULATOR_HOST');
  }
  if ('skey' in flags && flags.skey !== undefined) {
    // Never accepted as a flag: the value would be visible to every user in `ps`.
    throw new ConfigError(['the secret key cannot be given as a flag (it would show in `ps`): set DUO_SKEY or DUO_SKEY_SECRET']);
  }

  const parsed = schema.safeParse(raw);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const key = String(issue.path[0] ?? '');
      // Never echo a secret's value back.
      problems.push(`${nameOf(key)}: ${issue.message}`);
    }
  }
  const c = parsed.success ? parsed.data : undefined;

  if (opts.needDuo) {
    if (raw.ikey === undefined) problems.push(`${nameOf('ikey')}: required (the Admin API application's integration key)`);
    if (raw.apiHost === undefined) problems.push(`${nameOf('apiHost')}: required (the API hostname, e.g. api-xxxxxxxx.duosecurity.com)`);
    if (raw.skey === undefined && raw.skeySecret === undefined) {
      problems.push('DUO_SKEY: required unless DUO_SKEY_SECRET names a Secret Manager version holding it');
    }
  }
  if (c && c.bucket && c.stdout) problems.push('--stdout and GCS_BUCKET / --bucket exclude each other: choose one sink');
  if (problems.length > 0 || !c) throw new ConfigError(problems);

  const apiHost = c.apiHost ?? '';
  const stateKeyExplicit = c.stateKey !== undefined;
  return {
    ikey: c.ikey ?? '',
    skey: c.skey,
    skeySecret: c.skeySecret,
    apiHost,
    apiUrl: (c.apiUrl ?? (apiHost ? `https://${apiHost}` : '')).replace(/\/+$/, ''),
    bucket: c.bucket,
    prefix: c.prefix,
    stateKey: c.stateKey ?? defaultStateKey(c.prefix),
    stateKeyExplicit,
    outputDir: c.outputDir,
    stdout: c.stdout,
    maxPages: c.maxPages,
    pageLimit: c.pageLimit,
    delaySeconds: c.delaySeconds,
    lookbackHours: c.lookbackHours,
    windowMaxHours: c.windowMaxHours,
    requestsPerMinute: c.requestsPerMinute,
    runBudgetSeconds: c.runBudgetSeconds,
    enrich: c.enrich,
    logLevel: c.logLevel,
    logPhone: c.logPhone,
    gcsApiEndpoint: c.gcsApiEndpoint,
    signatureVersion: c.signatureVersion as 2 | 5,
  };
}

/** The checkpoint lives outside the data prefix: a GCS V2 feed ingests every object below it. */
export function defaultStateKey(prefix: string): string {
  return `_state/${prefix ? prefix.replace(/\//g, '_') : 'root'}.json`;
}

/** The guide's checkpoint location, migrated once when STATE_KEY is unset. */
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
  if (c.stateKeyExplicit && isUnderPrefix(c.stateKey, c.prefix)) {
    w.push(`STATE_KEY=${c.stateKey} is under the data prefix ${c.prefix}/: a SecOps GCS V2 feed ingests it as a bogus log each time it changes; prefer _state/${c.prefix}.json`);
  }
  return w;
}
