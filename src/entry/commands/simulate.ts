/**
 * `duo-secops simulate`: run the Duo Admin API simulator on loopback, serving every Duo log stream
 * (a seeded day of each by default; `--logs` chooses which get data), and print the environment a
 * collector needs to talk to it; with `--accounts <n>` the integration is also a parent (MSP) with n
 * child accounts, listed by the Accounts API and read with `account_id`. Runs until SIGINT/SIGTERM,
 * then closes and exits 0.
 *
 * The credentials printed are the simulator's own, generated for this run (or given with --ikey and
 * --skey); they open nothing but this process.
 */
import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { ConfigError } from '../../errors.js';
import { createLogger, type LogLevel } from '../../log.js';
import { parseStreamList, STREAM_NAMES, type StreamName } from '../../duo/streams.js';
import { MAX_DATASET_EVENTS, type DatasetOptions } from '../../simulator/dataset.js';
import { DEFAULT_END_AGO_MS, logOptions } from '../../simulator/default-logs.js';
import { ACCOUNTS_LIST_PATH, childAccounts, DEFAULT_CHILD_EVENTS, type SimAccount } from '../../simulator/accounts.js';
import {
  DEFAULT_API_HOST,
  randomIntegration,
  startSimulator,
  type FaultOptions,
  type MisbehaviourOptions,
  type Simulator,
  type SimulatorOptions,
} from '../../simulator/server.js';

export interface SimulateFlags {
  port?: string;
  host?: string;
  ikey?: string;
  skey?: string;
  apiHost?: string;
  events?: string;
  scale?: string;
  seed?: string;
  from?: string;
  to?: string;
  burstSize?: string;
  late?: string;
  lateDelaySeconds?: string;
  rpm?: string;
  bucketCapacity?: string;
  lastPageCursor?: string;
  faultRate?: string;
  /** commander's reading of `--no-permission`: false when given. */
  permission?: boolean;
  maxSkewSeconds?: string;
  clockOffsetSeconds?: string;
  latenessSeconds?: string;
  latenessRate?: string;
  missingIdRate?: string;
  rewindRate?: string;
  cycleRate?: string;
  repeatRate?: string;
  outOfOrderRate?: string;
  beyondMaxtimeRate?: string;
  logs?: string;
  accounts?: string;
  childLimit?: string;
  json?: boolean;
  logLevel?: string;
}

export interface SimulateSettings {
  port: number;
  host: string;
  ikey: string;
  skey: string;
  apiHost: string;
  events: number;
  /** The other streams' default sizes times this. */
  scale: number;
  seed: number;
  fromMs: number;
  toMs: number;
  burst: { atMs: number; count: number } | undefined;
  late: { count: number; delayMs: number } | undefined;
  rpm: number;
  /** How many requests the token bucket holds (1: each must keep the interval). */
  bucketCapacity: number;
  lastPageCursor: 'present' | 'absent';
  faultRate: number;
  readTelephony: boolean;
  maxSkewSeconds: number;
  /** How far the simulator's clock runs ahead of this machine's (negative: behind). */
  clockOffsetMs: number;
  lateness: { maxDelayMs: number; rate: number } | undefined;
  missingIdRate: number;
  /** The misbehaviour switches that are on, seeded with the data set's seed; undefined when none is. */
  misbehaviour: MisbehaviourOptions | undefined;
  /** The streams that get data (`--logs`); the others serve an empty log. */
  logs: StreamName[];
  /** Child accounts served (0: none, the integration is an ordinary one). */
  accounts: number;
  /** Whether a child's requests draw on its own token bucket or the parent integration's. */
  childLimit: 'per-child' | 'shared';
  json: boolean;
  logLevel: LogLevel;
}

const DEFAULT_EVENTS = 5000;
const DEFAULT_BURST_SIZE = 1000;
const DEFAULT_LATE_DELAY_SECONDS = 300;
const DEFAULT_MAX_SKEW_SECONDS = 300;
/** A year either way: far enough for any clock that is off, near enough to keep dates readable. */
const MAX_CLOCK_OFFSET_SECONDS = 365 * 86_400;
const HOUR_MS = 3_600_000;
/** Duo refuses mintime older than 180 days; a collector starts at most 179 days back. */
const MAX_LOOKBACK_HOURS = 179 * 24;
/** Enough children for a fan-out test; each holds a small data set per stream. */
const MAX_ACCOUNTS = 1000;
const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Parse the flags into settings, collecting every problem into one ConfigError.
 * `nowMs` fixes the default window, so tests get stable results.
 */
export function parseSimulateFlags(flags: SimulateFlags, nowMs: number): SimulateSettings {
  const problems: string[] = [];

  const integer = (name: string, raw: string | undefined, fallback: number, min: number, max: number): number => {
    if (raw === undefined) return fallback;
    const text = raw.trim();
    if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
      problems.push(`--${name} must be an integer from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return Number(text);
  };
  const signedInteger = (name: string, raw: string | undefined, fallback: number, limit: number): number => {
    if (raw === undefined) return fallback;
    const text = raw.trim();
    if (!/^[+-]?\d+$/.test(text) || Math.abs(Number(text)) > limit) {
      problems.push(`--${name} must be an integer from -${limit} to ${limit}, got "${raw}"`);
      return fallback;
    }
    return Number(text);
  };
  const probability = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const p = Number(raw.trim());
    if (raw.trim() === '' || !Number.isFinite(p) || p < 0 || p > 1) {
      problems.push(`--${name} must be a probability from 0 to 1, got "${raw}"`);
      return fallback;
    }
    return p;
  };
  const time = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const text = raw.trim();
    // A date-time without an offset would be read as local time by Date.parse: Duo's times are UTC.
    const withZone = /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(text) ? `${text}Z` : text;
    const ms = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(withZone) : Number.NaN;
    if (Number.isNaN(ms)) {
      problems.push(`--${name} must be an ISO 8601 date or date-time (UTC unless an offset is given), got "${raw}"`);
      return fallback;
    }
    return ms;
  };
  const text = (name: string, raw: string | undefined, fallback: string, check: (v: string) => boolean, rule: string): string => {
    if (raw === undefined) return fallback;
    if (!check(raw)) {
      problems.push(`--${name} ${rule}, got "${raw}"`);
      return fallback;
    }
    return raw;
  };

  const port = integer('port', flags.port, 0, 0, 65535);
  const host = text('host', flags.host, '127.0.0.1', (v) => v.trim() !== '', 'must not be empty');
  const generated = randomIntegration();
  const ikey = text('ikey', flags.ikey, generated.ikey, (v) => v !== '' && !v.includes(':') && !/\s/.test(v), 'must be non-empty, without ":" or spaces');
  const skey = text('skey', flags.skey, generated.skey, (v) => v !== '', 'must not be empty');
  const apiHost = text('api-host', flags.apiHost, DEFAULT_API_HOST, (v) => /^[A-Za-z0-9.-]+(:\d+)?$/.test(v), 'must be a host name such as api-xxxxxxxx.duosecurity.com');
  const events = integer('events', flags.events, DEFAULT_EVENTS, 0, MAX_DATASET_EVENTS);
  const seed = integer('seed', flags.seed, 1, 0, Number.MAX_SAFE_INTEGER);
  const scale = integer('scale', flags.scale, 1, 1, 400);

  const clockOffsetMs = signedInteger('clock-offset-seconds', flags.clockOffsetSeconds, 0, MAX_CLOCK_OFFSET_SECONDS) * 1000;
  // Ten minutes ago by the simulator's clock: the data set ends in Duo's past, wherever ours stands.
  const defaultTo = nowMs + clockOffsetMs - DEFAULT_END_AGO_MS;
  const toMs = time('to', flags.to, defaultTo);
  const fromMs = time('from', flags.from, (flags.to === undefined ? defaultTo : toMs) - 24 * HOUR_MS);
  if (toMs <= fromMs) problems.push(`--from (${new Date(fromMs).toISOString()}) must be before --to (${new Date(toMs).toISOString()})`);

  // Without an explicit size, a small data set keeps most of its events outside the burst.
  const burstSize =
    flags.burstSize === undefined ? Math.min(DEFAULT_BURST_SIZE, Math.floor(events / 5)) : integer('burst-size', flags.burstSize, 0, 0, MAX_DATASET_EVENTS);
  if (burstSize > events) problems.push(`--burst-size (${burstSize}) must not exceed --events (${events})`);
  // In the middle of the window, on a whole second plus a few ms, easy to spot in the output.
  const burst = burstSize > 0 ? { atMs: Math.floor((fromMs + (toMs - fromMs) / 2) / 1000) * 1000 + 123, count: burstSize } : undefined;

  const lateCount = integer('late', flags.late, 0, 0, MAX_DATASET_EVENTS);
  if (lateCount > events) problems.push(`--late (${lateCount}) must not exceed --events (${events})`);
  const lateDelaySeconds = integer('late-delay-seconds', flags.lateDelaySeconds, DEFAULT_LATE_DELAY_SECONDS, 0, 86_400);
  const late = lateCount > 0 ? { count: lateCount, delayMs: lateDelaySeconds * 1000 } : undefined;

  const rpm = integer('rpm', flags.rpm, 0, 0, 10_000_000);
  const bucketCapacity = integer('bucket-capacity', flags.bucketCapacity, 1, 1, 10_000);
  const lastPageCursor = text('last-page-cursor', flags.lastPageCursor, 'present', (v) => v === 'present' || v === 'absent', 'must be "present" or "absent"') as
    | 'present'
    | 'absent';
  const faultRate = probability('fault-rate', flags.faultRate, 0);

  const latenessSeconds = integer('lateness-seconds', flags.latenessSeconds, 0, 0, 86_400);
  const latenessRate = probability('lateness-rate', flags.latenessRate, 1);
  if (flags.latenessRate !== undefined && flags.latenessSeconds === undefined) problems.push('--lateness-rate needs --lateness-seconds (how late those events may be)');
  const lateness = latenessSeconds > 0 && latenessRate > 0 ? { maxDelayMs: latenessSeconds * 1000, rate: latenessRate } : undefined;
  const missingIdRate = probability('missing-id-rate', flags.missingIdRate, 0);

  const rates: Array<[keyof MisbehaviourOptions, number]> = [
    ['rewindRate', probability('rewind-rate', flags.rewindRate, 0)],
    ['cycleRate', probability('cycle-rate', flags.cycleRate, 0)],
    ['repeatRate', probability('repeat-rate', flags.repeatRate, 0)],
    ['outOfOrderRate', probability('out-of-order-rate', flags.outOfOrderRate, 0)],
    ['beyondMaxtimeRate', probability('beyond-maxtime-rate', flags.beyondMaxtimeRate, 0)],
  ];
  const cursorRates = rates.slice(0, 3).reduce((sum, [, p]) => sum + p, 0);
  if (cursorRates > 1 + 1e-9) problems.push(`--rewind-rate, --cycle-rate and --repeat-rate add up to ${Math.round(cursorRates * 1e6) / 1e6}, more than 1`);
  const on = rates.filter(([, p]) => p > 0);
  const misbehaviour: MisbehaviourOptions | undefined = on.length > 0 ? { seed, ...Object.fromEntries(on) } : undefined;

  const maxSkewSeconds = integer('max-skew-seconds', flags.maxSkewSeconds, DEFAULT_MAX_SKEW_SECONDS, 0, 10 * 365 * 86_400);
  let logs: StreamName[] = [...STREAM_NAMES];
  if (flags.logs !== undefined) {
    const parsed = parseStreamList(flags.logs);
    if ('problem' in parsed) problems.push(`--logs ${parsed.problem}, got "${flags.logs}"`);
    else logs = parsed.streams;
  }
  const accounts = integer('accounts', flags.accounts, 0, 0, MAX_ACCOUNTS);
  const childLimit = text('child-limit', flags.childLimit, 'per-child', (v) => v === 'per-child' || v === 'shared', 'must be "per-child" or "shared"') as
    | 'per-child'
    | 'shared';
  const logLevel = text('log-level', flags.logLevel, 'warn', (v) => (LOG_LEVELS as readonly string[]).includes(v), `must be one of ${LOG_LEVELS.join('|')}`) as LogLevel;

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    port,
    host,
    ikey,
    skey,
    apiHost,
    events,
    scale,
    seed,
    fromMs,
    toMs,
    burst,
    late,
    rpm,
    bucketCapacity,
    lastPageCursor,
    faultRate,
    readTelephony: flags.permission !== false,
    maxSkewSeconds,
    clockOffsetMs,
    lateness,
    missingIdRate,
    misbehaviour,
    logs,
    accounts,
    childLimit,
    json: flags.json === true,
    logLevel,
  };
}

/**
 * One --fault-rate spread over the failures a collector must survive. Weights follow what a real
 * deployment meets most: rate limiting, then server errors, then proxies and broken connections.
 */
export function faultsFromRate(rate: number, seed: number): FaultOptions {
  return {
    seed,
    rate429: rate * 0.25,
    rate500: rate * 0.2,
    rate503: rate * 0.15,
    rateHtml502: rate * 0.15,
    rateReset: rate * 0.15,
    rateTruncated: rate * 0.1,
  };
}

/**
 * The data of every stream with data but telephony: the default day's sizes and bursts (default-logs.ts)
 * over the window of --from/--to, with the lateness asked for. Telephony follows its own flags.
 */
export function otherLogsFrom(s: SimulateSettings): Partial<Record<StreamName, DatasetOptions>> {
  const logs: Partial<Record<StreamName, DatasetOptions>> = {};
  for (const stream of s.logs) {
    if (stream === 'telephony') continue;
    logs[stream] = { ...logOptions(stream, s.fromMs, s.toMs, s.seed, s.scale), ...(s.lateness && { lateness: s.lateness }) };
  }
  return logs;
}

/**
 * The children of `--accounts`: seeded by --seed, each with a small data set of every stream of --logs
 * over the window of --from/--to (so a collector that reaches the parent's data reaches theirs).
 */
export function accountsFrom(s: SimulateSettings): SimulatorOptions['accounts'] {
  return childAccounts(s.accounts, { seed: s.seed, logs: s.logs, fromMs: s.fromMs, toMs: s.toMs });
}

export function simulatorOptionsFrom(s: SimulateSettings): SimulatorOptions {
  return {
    port: s.port,
    host: s.host,
    apiHost: s.apiHost,
    integrations: [{ ikey: s.ikey, skey: s.skey, permissions: { readTelephony: s.readTelephony } }],
    events: s.logs.includes('telephony')
      ? {
          events: s.events,
          seed: s.seed,
          fromMs: s.fromMs,
          toMs: s.toMs,
          ...(s.burst && { bursts: [s.burst] }),
          ...(s.late && { late: s.late }),
          ...(s.lateness && { lateness: s.lateness }),
          ...(s.missingIdRate > 0 && { missingIdRate: s.missingIdRate }),
        }
      : [],
    logs: otherLogsFrom(s),
    lastPageCursor: s.lastPageCursor,
    ...(s.rpm > 0 && { rpm: s.rpm, burst: s.bucketCapacity }),
    maxSkewSeconds: s.maxSkewSeconds,
    ...(s.faultRate > 0 && { faults: faultsFromRate(s.faultRate, s.seed) }),
    ...(s.misbehaviour && { misbehaviour: s.misbehaviour }),
    ...(s.clockOffsetMs !== 0 && { clockOffsetMs: s.clockOffsetMs }),
    ...(s.accounts > 0 && { accounts: accountsFrom(s), childLimit: s.childLimit }),
  };
}

/** The environment a collector needs, in the names of the settings table (config.ts). */
export function collectorEnv(sim: Simulator, s: SimulateSettings, nowMs: number): Record<string, string> {
  const env: Record<string, string> = {
    DUO_API_URL: sim.url,
    DUO_API_HOST: s.apiHost,
    DUO_IKEY: s.ikey,
    DUO_SKEY: s.skey,
  };
  // Reach back to the start of the data set (the collector's default is 24 h, the data set's end lies in the past).
  const hours = Math.ceil((nowMs - s.fromMs) / HOUR_MS);
  if (hours > 24) env['LOOKBACK_HOURS'] = String(Math.min(hours, MAX_LOOKBACK_HOURS));
  if (s.rpm > 0) env['REQUESTS_PER_MINUTE'] = String(s.rpm);
  // The collector reads telephony alone unless told otherwise: name every stream that has data.
  if (s.logs.some((name) => name !== 'telephony')) env['DUO_LOGS'] = s.logs.join(',');
  // Accounts mode: the collector lists the children and collects each.
  if (s.accounts > 0) env['DUO_ACCOUNTS'] = 'all';
  return env;
}

/** A value as a POSIX shell reads it back: bare when it is made of safe characters, else in single quotes. */
export function shellQuote(v: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function waitForAbort(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/** The one JSON line `simulate --json` prints once it serves: what a script needs to collect from it. */
function simulateJson(sim: Simulator, s: SimulateSettings, env: Record<string, string>, window: { fromMs: number; toMs: number; from: string; to: string }) {
  return {
    url: sim.url,
    port: sim.port,
    apiHost: s.apiHost,
    ikey: s.ikey,
    skey: s.skey,
    events: sim.events.length,
    window,
    logs: logSummaries(sim, s),
    burst: s.burst ?? null,
    late: s.late ?? null,
    rpm: s.rpm,
    bucketCapacity: s.bucketCapacity,
    lastPageCursor: s.lastPageCursor,
    faultRate: s.faultRate,
    readTelephony: s.readTelephony,
    clockOffsetSeconds: s.clockOffsetMs / 1000,
    lateness: s.lateness ?? null,
    missingIdRate: s.missingIdRate,
    misbehaviour: s.misbehaviour ?? null,
    accounts: sim.accounts.map((a) => ({ ...a, events: childEvents(sim, a) })),
    childLimit: s.childLimit,
    env,
  };
}

/** A child's events over every stream. */
function childEvents(sim: Pick<Simulator, 'eventsOf'>, a: SimAccount): number {
  return STREAM_NAMES.reduce((sum, stream) => sum + sim.eventsOf(stream, a.accountId).length, 0);
}

/** The stderr lines naming each child: id, name, host, events; empty without children. */
export function accountLines(sim: Pick<Simulator, 'accounts' | 'eventsOf'>, s: Pick<SimulateSettings, 'childLimit'>): string[] {
  if (sim.accounts.length === 0) return [];
  const limit = s.childLimit === 'shared' ? "on the parent integration's rate limit" : 'each on a rate limit of its own';
  const nameWidth = Math.max(...sim.accounts.map((a) => a.name.length));
  return [
    `Child accounts (POST ${ACCOUNTS_LIST_PATH}; read each with account_id, signed for its host, ${limit}):`,
    ...sim.accounts.map((a) => `  ${a.accountId}  ${a.name.padEnd(nameWidth)}  ${a.apiHostname}  ${String(childEvents(sim, a)).padStart(5)} events`),
  ];
}

/** What one stream serves: its events, and its burst (in one millisecond; the administrator log's in one second). */
export interface LogSummary {
  events: number;
  burst: { atMs: number; count: number; unit: 'millisecond' | 'second' } | null;
}

/** Per stream, what the simulator serves (every stream, those without data with 0 events). */
export function logSummaries(sim: Pick<Simulator, 'eventsOf'>, s: SimulateSettings): Record<StreamName, LogSummary> {
  const others = otherLogsFrom(s);
  const out = {} as Record<StreamName, LogSummary>;
  for (const stream of STREAM_NAMES) {
    const events = sim.eventsOf(stream).length;
    const burst = stream === 'telephony' ? s.burst : others[stream]?.bursts?.[0];
    const served = events > 0 && burst !== undefined && burst.count > 0;
    out[stream] = { events, burst: served ? { ...burst, unit: stream === 'administrator' ? 'second' : 'millisecond' } : null };
  }
  return out;
}

/** One stderr line per stream: what it serves, aligned. */
export function logLines(summaries: Record<StreamName, LogSummary>): string[] {
  return STREAM_NAMES.map((stream) => {
    const { events, burst } = summaries[stream];
    const what =
      events === 0
        ? 'no data (answers 200 with no items)'
        : `${String(events).padStart(6)} events${burst ? `, a burst of ${burst.count} in the ${burst.unit} ${new Date(burst.atMs).toISOString()}` : ''}`;
    return `  ${stream.padEnd(15)} ${what}`;
  });
}

/** What a user should know about a Duo that misbehaves on purpose, one sentence each; empty when it behaves. */
export function misbehaviourNotes(s: SimulateSettings): string[] {
  const notes: string[] = [];
  if (s.clockOffsetMs !== 0) {
    const seconds = Math.abs(s.clockOffsetMs / 1000);
    const refused =
      seconds > s.maxSkewSeconds ? `, beyond the ${s.maxSkewSeconds} s it accepts: requests dated by this machine's clock get 401 40105` : '';
    notes.push(`Its clock runs ${seconds} s ${s.clockOffsetMs > 0 ? 'ahead of' : 'behind'} this machine's${refused}.`);
  }
  const percent = (p: number): string => `${Math.round(p * 1000) / 10} %`;
  if (s.lateness) notes.push(`${percent(s.lateness.rate)} of events are published up to ${s.lateness.maxDelayMs / 1000} s after their ts.`);
  if (s.missingIdRate > 0) notes.push(`${percent(s.missingIdRate)} of events have no telephony_id.`);
  if (s.misbehaviour) {
    const on = Object.entries(s.misbehaviour)
      .filter(([k]) => k !== 'seed')
      .map(([k, p]) => `${k.replace(/Rate$/, '')} ${String(p)}`);
    notes.push(`Misbehaving per page: ${on.join(', ')}.`);
  }
  return notes;
}

export type SimulateJson = ReturnType<typeof simulateJson>;

/** Start, print, serve until `signal` aborts, close. */
export async function runSimulate(s: SimulateSettings, io: CliIo, signal: AbortSignal): Promise<void> {
  const logger = createLogger({ level: s.logLevel, destination: io.stderr });
  let sim: Simulator;
  try {
    sim = await startSimulator({ ...simulatorOptionsFrom(s), logger });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE' || code === 'EADDRNOTAVAIL' || code === 'EACCES') {
      throw new ConfigError([`cannot listen on ${s.host}:${s.port} (${String(code)}): choose another --host/--port`]);
    }
    throw err;
  }
  try {
    const nowMs = Date.now();
    const env = collectorEnv(sim, s, nowMs);
    const window = { fromMs: s.fromMs, toMs: s.toMs, from: new Date(s.fromMs).toISOString(), to: new Date(s.toMs).toISOString() };
    if (s.json) {
      const summary = simulateJson(sim, s, env, window);
      io.stdout.write(`${JSON.stringify(summary)}\n`);
    } else {
      io.stderr.write(
        `Duo Admin API simulator on ${sim.url}: every log stream, from ${window.from} to ${window.to}. Stop with Ctrl-C.\n` +
          logLines(logSummaries(sim, s)).map((l) => `${l}\n`).join('') +
          misbehaviourNotes(s).map((n) => `${n}\n`).join('') +
          accountLines(sim, s).map((l) => `${l}\n`).join('') +
          'Paste these lines into another shell, then run `duo-secops check` and `duo-secops collect`:\n',
      );
      for (const [k, v] of Object.entries(env)) io.stdout.write(`export ${k}=${shellQuote(v)}\n`);
    }
    if (s.fromMs < nowMs - MAX_LOOKBACK_HOURS * HOUR_MS) {
      // Duo (and so the simulator) refuses a mintime older than 180 days: those events can never be read.
      io.stderr.write(`note: events before ${new Date(nowMs - MAX_LOOKBACK_HOURS * HOUR_MS).toISOString()} lie beyond the 179-day limit and cannot be collected.\n`);
    }
    await waitForAbort(signal);
  } finally {
    await sim.close();
  }
}

export function register(program: Command, io: CliIo): void {
  program
    .command('simulate')
    .description('Run a Duo Admin API simulator on loopback (every Duo log stream) and print the environment to collect from it.')
    .addOption(new Option('--port <n>', 'TCP port, 0 = any free one').default('0'))
    .addOption(new Option('--host <addr>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--ikey <ikey>', "the simulator's integration key (default: random)"))
    .addOption(new Option('--skey <skey>', "the simulator's own test secret key (default: random)"))
    .addOption(new Option('--api-host <host>', 'host name requests are signed for').default(DEFAULT_API_HOST))
    .addOption(new Option('--logs <streams>', `the streams that get data, comma-separated (default all: ${STREAM_NAMES.join(', ')}); the others serve an empty log`))
    .addOption(new Option('--events <n>', 'telephony events in the data set').default(String(DEFAULT_EVENTS)))
    .addOption(new Option('--scale <n>', 'the other streams hold n times their default sizes (authentication 12,000, activity 2,000, trust monitor 400, administrator 1,500), their bursts unchanged').default('1'))
    .addOption(new Option('--seed <n>', 'data set seed: the same seed gives the same events').default('1'))
    .addOption(new Option('--from <iso>', 'start of the data sets (default: 24 h before --to)'))
    .addOption(new Option('--to <iso>', 'end of the data sets (default: 10 minutes ago); a future end makes events appear as their time comes'))
    .addOption(new Option('--burst-size <n>', `telephony events in one burst inside a single millisecond, 0 = none (default ${DEFAULT_BURST_SIZE}, at most a fifth of --events)`))
    .addOption(new Option('--late <n>', 'telephony events that arrive late (visible only --late-delay-seconds after their ts)'))
    .addOption(new Option('--late-delay-seconds <s>', 'how late those events arrive').default(String(DEFAULT_LATE_DELAY_SECONDS)))
    .addOption(new Option('--rpm <n>', 'token bucket per integration and endpoint, requests per minute, 0 = unlimited'))
    .addOption(new Option('--bucket-capacity <n>', 'requests the token bucket holds after a pause (1: every request must keep the interval, the strictest reading of Duo)').default('1'))
    .addOption(new Option('--last-page-cursor <reading>', 'whether the page that ends a window carries a cursor').choices(['present', 'absent']).default('present'))
    .addOption(new Option('--fault-rate <p>', 'probability per request of 5xx, HTML 502, dropped connections, truncated bodies and 429'))
    .addOption(new Option('--no-permission', 'answer 403 40301, as for an integration without the telephony read permission'))
    .addOption(new Option('--max-skew-seconds <s>', 'Date header tolerance before 401 40105').default(String(DEFAULT_MAX_SKEW_SECONDS)))
    .addOption(new Option('--clock-offset-seconds <s>', "run the simulator's clock this far ahead of this machine's (negative: behind)"))
    .addOption(new Option('--lateness-seconds <s>', 'publish events of every stream late, each by a random delay up to this many seconds after its time'))
    .addOption(new Option('--lateness-rate <p>', 'the fraction of events published late (default 1, with --lateness-seconds)'))
    .addOption(new Option('--missing-id-rate <p>', 'the fraction of events without telephony_id'))
    .addOption(new Option('--rewind-rate <p>', 'probability per page that next_offset points back to an earlier event of the window'))
    .addOption(new Option('--cycle-rate <p>', 'probability per page that next_offset is one already returned in the window'))
    .addOption(new Option('--repeat-rate <p>', 'probability per page that next_offset is the one sent'))
    .addOption(new Option('--out-of-order-rate <p>', 'probability per page that its items come out of ts order'))
    .addOption(new Option('--beyond-maxtime-rate <p>', 'probability per page of one extra item from after maxtime or before mintime'))
    .addOption(
      new Option(
        '--accounts <n>',
        `also serve n child accounts of the integration (a parent, as an MSP's): listed by POST ${ACCOUNTS_LIST_PATH}, each with ${DEFAULT_CHILD_EVENTS} events per stream of --logs, read with account_id=<child> signed for the child's host`,
      ).default('0'),
    )
    .addOption(
      new Option('--child-limit <reading>', "whether a child's requests count against a rate limit of its own or the parent integration's (with --rpm)")
        .choices(['per-child', 'shared'])
        .default('per-child'),
    )
    .addOption(new Option('--log-level <level>', 'simulator log level on stderr').default('warn'))
    .addOption(new Option('--json', 'print one JSON object instead of export lines'))
    .action(async (flags: SimulateFlags) => {
      const settings = parseSimulateFlags(flags, Date.now());
      const controller = new AbortController();
      const stop = (): void => controller.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      try {
        await runSimulate(settings, io, controller.signal);
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
      io.setExitCode(0);
    });
}
