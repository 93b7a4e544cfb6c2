/**
 * The Duo Admin API simulator: a real HTTP server on loopback answering every Duo log endpoint
 * (telephony, authentication, activity, trust monitor, administrator; endpoints.ts says how they
 * differ) the way docs/duo-api.md says Duo does, with pacing, injectable faults and, on request, the
 * misbehaviour of a Duo that breaks its contract (misbehaviour.ts; telephony only).
 *
 * Order of processing, and why: route (404/405) → credentials (401) → permission (403) → token
 * bucket (429, needs the integration) → faults (so that a fault never hides an auth bug) → parameters
 * (400) → page. Pages are built by concatenating pre-serialised items.
 *
 * Child accounts (accounts.ts): a parent integration lists them with `POST /accounts/v1/account/list`
 * and reads a child's logs with `account_id=<child>` among the signed parameters. The account is
 * chosen first, from `account_id`, because it decides the host the signature must be made for (the
 * child's `apiHostname`) and, at the route step, which endpoints exist (the child's edition). An
 * `account_id` that names no current child is checked for credentials (the parent's host, or any
 * child's host, removed ones too, since their clients still sign for it) and the accounts permission,
 * then answers 400 40002: there is no child whose bucket or faults could apply.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { rfc2822Date } from '../duo/sign.js';
import { STREAM_NAMES, type StreamName } from '../duo/streams.js';
import { silentLogger, type Logger } from '../log.js';
import { createSimClock, type SimClock } from './clock.js';
import { generateDataset, type DatasetOptions, type SimEvent } from './dataset.js';
import { ADMINISTRATOR_MAX_EVENTS, administratorBody, cursorJson, ENDPOINTS, listBody, streamAt } from './endpoints.js';
import { emptyMisbehaviourCounts, Misbehaviour, validateMisbehaviour, type MisbehaviourKind, type MisbehaviourOptions } from './misbehaviour.js';
import { createRng, type Rng } from './rng.js';
import { cursorFor, EventStore, type PageQuery } from './store.js';
import {
  accountIdOf,
  bodyParams,
  failure,
  mayRead,
  mayUseAccounts,
  parseAdministratorQuery,
  parsePageQuery,
  parseQuery,
  verifyCredentials,
  type DuoFailure,
  type QueryParams,
  type SimIntegration,
} from './request.js';
import { ACCOUNTS_LIST_PATH, accountListBody, seedOf, validateAccount, type SimAccount, type SimAccountOptions } from './accounts.js';

export type { SimIntegration } from './request.js';
export type { SimAccount, SimAccountOptions } from './accounts.js';
export type { MisbehaviourKind, MisbehaviourOptions } from './misbehaviour.js';

export interface FaultOptions {
  /** Seed of the fault draws (default 1): the same request sequence meets the same faults. */
  seed?: number;
  /** Probability per request of 429 42901 regardless of the token bucket. */
  rate429?: number;
  /** 500 50001 with a Duo JSON body. */
  rate500?: number;
  /** 503 with an empty body, as a load balancer sends it. */
  rate503?: number;
  /** 502 with an HTML page from "a proxy". */
  rateHtml502?: number;
  /** The connection is destroyed before or in the middle of the response. */
  rateReset?: number;
  /** A 200 whose JSON body is cut: short but well-framed, or a Content-Length the body never reaches. */
  rateTruncated?: number;
  /** The response (whatever it is) is held back `delayMs`. Drawn independently of the other faults. */
  rateDelay?: number;
  /** Default 1000. */
  delayMs?: number;
}

export type FaultKind = '429' | '500' | '503' | 'html502' | 'reset' | 'truncated' | 'delay';

export interface SimulatorOptions {
  /** Default 0 (any free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Canonical host in signatures (the request's Host header is accepted too). */
  apiHost?: string;
  /** Default: one integration with random keys and the telephony read permission. */
  integrations?: SimIntegration[];
  /** The telephony data set, or how to generate it. Default: empty. Wins over `logs.telephony`. */
  events?: SimEvent[] | DatasetOptions;
  /**
   * Each stream's data set, or how to generate it (`stream` in the options is then implied). A stream
   * given no data serves an empty log: 200 and no items.
   */
  logs?: Partial<Record<StreamName, SimEvent[] | DatasetOptions>>;
  /** Endpoints this account lacks (its edition): they answer 404 40401, as an unknown path does. */
  unsupported?: StreamName[];
  /**
   * Whether the page that exhausts a window still carries a cursor (docs/duo-api.md lists this as
   * unknown). 'present' (default): every non-empty page has one, and the end is an empty page.
   */
  lastPageCursor?: 'present' | 'absent';
  /** Token bucket refill per minute, per integration and endpoint; unlimited when undefined or 0. */
  rpm?: number;
  /** `rpm` for some endpoints only (0: unlimited there). */
  rpmByStream?: Partial<Record<StreamName, number>>;
  /**
   * Token bucket capacity: how many requests may come at once after a pause. Default 1, the strictest
   * reading of Duo's limit (every request must keep the interval); `Simulator.setRateLimit` changes it.
   */
  burst?: number;
  /** Date header tolerance (default 300 s) before 401 40105. */
  maxSkewSeconds?: number;
  faults?: FaultOptions;
  /**
   * Child accounts of the parent integration (accounts.ts), listed by the Accounts API in this order
   * and read with `account_id`; `Simulator.addAccount/removeAccount` change them while it runs.
   */
  accounts?: SimAccountOptions[];
  /**
   * Token buckets of a child's endpoints: one per (integration, child, endpoint) ('per-child', the
   * default), or the parent integration's bucket of that endpoint ('shared'), as Duo may count every
   * child against the parent.
   */
  childLimit?: 'per-child' | 'shared';
  /** Called with the status of every answer as it is sent (0: a connection dropped without one). */
  onResponse?: (status: number) => void;
  /** Cursors that go back and odd items, from the first request (`Simulator.setMisbehaviour` changes them). */
  misbehaviour?: MisbehaviourOptions;
  /**
   * What the simulator decides by time (180-day rule, Date header and skew, what is visible yet)
   * follows this clock; also `Simulator.clock`. Default: a running clock on `now`.
   */
  clock?: SimClock;
  /** Real time of the default clock, epoch ms (default Date.now). Not together with `clock`. */
  now?: () => number;
  /**
   * Run the default clock this far ahead of real time (negative: behind), as a Duo whose clock is off
   * from the client's. Not together with `clock` (give that clock an `offsetMs` instead).
   */
  clockOffsetMs?: number;
  logger?: Logger;
}

export interface SimulatorStats {
  requests: number;
  /** Responses by HTTP status; 0 counts connections dropped without a status line. */
  byStatus: Record<number, number>;
  /** Complete 200 pages. */
  pagesServed: number;
  itemsServed: number;
  /** Requests that reached an endpoint (whatever their answer), and the items of its complete 200 pages. */
  byStream: Record<StreamName, { requests: number; itemsServed: number }>;
  /** Injected faults by kind (429s from the token bucket are not faults: see byStatus). */
  faults: Record<FaultKind, number>;
  /**
   * Misbehaviour in complete 200 pages: pages whose cursor was rewound, cycled or repeated, pages
   * shuffled out of order, extra items from outside the window, and items without `telephony_id`.
   */
  misbehaviour: Record<MisbehaviourKind, number>;
  /** Time spent handling requests (checks, page selection, serialisation), excluding injected delays. */
  handlerMs: number;
  /**
   * Per child account, current or removed: requests that named it in `account_id` (whatever their
   * answer), items of its complete 200 pages, answers by status. The totals above include them.
   */
  byAccount: Record<string, AccountStats>;
}

export interface AccountStats {
  requests: number;
  itemsServed: number;
  byStatus: Record<number, number>;
}

export interface Simulator {
  /** Base URL, e.g. `http://127.0.0.1:40123`. */
  url: string;
  port: number;
  apiHost: string;
  integrations: readonly SimIntegration[];
  /** The telephony data set, sorted by (tsMicros, id); includes events not visible yet. */
  readonly events: readonly SimEvent[];
  /** A stream's data set (a child's with `accountId`), sorted by (tsMicros, id); includes events not visible yet. */
  eventsOf(stream: StreamName, accountId?: string): readonly SimEvent[];
  /** The current child accounts, in the order the Accounts API lists them. */
  readonly accounts: readonly SimAccount[];
  /** A new child, listed last; throws on an id or host already in use. */
  addAccount(opts: SimAccountOptions): void;
  /** The child is no longer listed and its calls answer 400 40002 (its stats stay); false when there was none. */
  removeAccount(accountId: string): boolean;
  /** The simulator's time: freeze, advance or set it to make late events visible without waiting. */
  readonly clock: SimClock;
  stats: SimulatorStats;
  /** Replace the fault configuration (a new seed restarts the draws). */
  setFaults(f: FaultOptions): void;
  /** Replace the misbehaviour switches; null or `{}` behaves again (a new seed restarts the draws). */
  setMisbehaviour(m: MisbehaviourOptions | null): void;
  /**
   * Change the rate limit during a run: `rpm`, `rpmByStream` and `burst` as in the options (what is given
   * replaces what was). Buckets keep the tokens they hold and refill at the new rate from now on.
   */
  setRateLimit(limit: Pick<SimulatorOptions, 'rpm' | 'rpmByStream' | 'burst'>): void;
  /** Merge more events into a stream's data set (default telephony; a child's with `accountId`); they follow the usual visibility rules. */
  addEvents(e: SimEvent[], stream?: StreamName, accountId?: string): void;
  close(): Promise<void>;
}

export const DEFAULT_API_HOST = 'api-sim00000.duosecurity.com';
const DEFAULT_MAX_SKEW_SECONDS = 300;
const DEFAULT_DELAY_MS = 1000;

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz';

function randomString(length: number, alphabet: string): string {
  const bytes = randomBytes(length);
  let out = '';
  // 256 is not a multiple of the alphabet size: the slight bias is irrelevant for a test credential.
  for (const b of bytes) out += alphabet[b % alphabet.length];
  return out;
}

/** A fresh integration shaped like Duo's: `DI` + 18 upper-case characters, a 40-character secret. */
export function randomIntegration(readTelephony = true): SimIntegration {
  return {
    ikey: `DI${randomString(18, ALNUM.slice(0, 36))}`,
    skey: randomString(40, ALNUM),
    permissions: { readTelephony },
  };
}

const FAULT_RATE_KEYS = ['rate429', 'rate500', 'rate503', 'rateHtml502', 'rateReset', 'rateTruncated', 'rateDelay'] as const;

function validateFaults(f: FaultOptions): void {
  let exclusive = 0;
  for (const key of FAULT_RATE_KEYS) {
    const v = f[key];
    if (v === undefined) continue;
    if (!(v >= 0 && v <= 1)) throw new RangeError(`simulator faults: ${key} must be a probability in [0, 1], got ${v}`);
    if (key !== 'rateDelay') exclusive += v;
  }
  if (exclusive > 1 + 1e-9) throw new RangeError(`simulator faults: the rates other than rateDelay add up to ${exclusive}, more than 1`);
  if (f.delayMs !== undefined && !(Number.isFinite(f.delayMs) && f.delayMs >= 0)) {
    throw new RangeError(`simulator faults: delayMs must be >= 0, got ${f.delayMs}`);
  }
}

function validateRateLimit(opts: Pick<SimulatorOptions, 'rpm' | 'rpmByStream' | 'burst'>): void {
  if (opts.rpm !== undefined && !(Number.isFinite(opts.rpm) && opts.rpm >= 0)) throw new RangeError(`simulator: rpm must be >= 0, got ${opts.rpm}`);
  for (const [name, rpm] of Object.entries(opts.rpmByStream ?? {})) {
    assertStream('rpmByStream', name);
    if (!(Number.isFinite(rpm) && rpm >= 0)) throw new RangeError(`simulator: rpmByStream.${name} must be >= 0, got ${rpm}`);
  }
  if (opts.burst !== undefined && !(Number.isFinite(opts.burst) && opts.burst >= 1)) throw new RangeError(`simulator: burst must be >= 1, got ${opts.burst}`);
}

function validateOptions(opts: SimulatorOptions): void {
  validateRateLimit(opts);
  for (const name of Object.keys(opts.logs ?? {})) assertStream('logs', name);
  for (const name of opts.unsupported ?? []) assertStream('unsupported', name);
  if (opts.maxSkewSeconds !== undefined && !(Number.isFinite(opts.maxSkewSeconds) && opts.maxSkewSeconds >= 0)) {
    throw new RangeError(`simulator: maxSkewSeconds must be >= 0, got ${opts.maxSkewSeconds}`);
  }
  for (const i of opts.integrations ?? []) {
    // A colon would make `Basic base64(ikey:sig)` ambiguous; Duo's keys never contain one.
    if (!i.ikey || i.ikey.includes(':') || !i.skey) throw new RangeError('simulator: every integration needs a non-empty ikey without ":" and a non-empty skey');
    for (const name of i.permissions?.denied ?? []) assertStream('permissions.denied', name);
  }
  if (opts.faults) validateFaults(opts.faults);
  if (opts.childLimit !== undefined && opts.childLimit !== 'per-child' && opts.childLimit !== 'shared') {
    throw new RangeError(`simulator: childLimit must be 'per-child' or 'shared', got ${String(opts.childLimit)}`);
  }
  if (opts.misbehaviour) validateMisbehaviour(opts.misbehaviour);
  if (opts.clock && opts.now) throw new RangeError('simulator: give either clock or now, not both (now is the default clock’s source)');
  if (opts.clockOffsetMs !== undefined) {
    if (!Number.isFinite(opts.clockOffsetMs)) throw new RangeError(`simulator: clockOffsetMs must be a finite number of ms, got ${opts.clockOffsetMs}`);
    if (opts.clock) throw new RangeError('simulator: give either clock or clockOffsetMs, not both (createSimClock takes an offsetMs)');
  }
}

function assertStream(where: string, name: string): void {
  if (!(STREAM_NAMES as readonly string[]).includes(name)) throw new RangeError(`simulator: ${where} names "${name}", not a Duo log stream (${STREAM_NAMES.join(', ')})`);
}

/** The events of one stream from what the options give: the events themselves, or how to generate them. */
export function eventsFrom(stream: StreamName, given: SimEvent[] | DatasetOptions | undefined): SimEvent[] {
  if (given === undefined) return [];
  if (Array.isArray(given)) return given;
  if (given.stream !== undefined && given.stream !== stream) {
    throw new RangeError(`simulator: the data set options given for ${stream} are for the stream ${given.stream}`);
  }
  return generateDataset({ ...given, stream });
}

class TokenBucket {
  #tokens: number;
  #lastMs = performance.now();
  constructor(
    private capacity: number,
    private perMs: number,
  ) {
    this.#tokens = capacity;
  }
  take(): boolean {
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
  /** A new rate from now on: what has refilled so far counts at the old one. */
  change(capacity: number, perMs: number): void {
    this.#refill();
    this.capacity = capacity;
    this.perMs = perMs;
    this.#tokens = Math.min(this.#tokens, capacity);
  }
  #refill(): void {
    // Real elapsed time, not the simulator clock: tests freeze the clock but still expect refills.
    const t = performance.now();
    this.#tokens = Math.min(this.capacity, this.#tokens + (t - this.#lastMs) * this.perMs);
    this.#lastMs = t;
  }
}

const HTML_502 =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';

function failBody(f: DuoFailure): string {
  return JSON.stringify(
    f.detail === undefined
      ? { stat: 'FAIL', code: f.code, message: f.message }
      : { stat: 'FAIL', code: f.code, message: f.message, message_detail: f.detail },
  );
}

/** One account's state: the parent's own (id undefined) or a child's. */
interface Account {
  id: string | undefined;
  name: string;
  /** The host its signatures are made for. */
  apiHostname: string;
  stores: Record<StreamName, EventStore>;
  unsupported: ReadonlySet<StreamName>;
  denied: boolean;
  rate429: number;
  /** The child's own draws of `rate429`, so one child's storm does not move another's (or the global faults). */
  rng: Rng;
  stats: AccountStats | undefined;
}

function storesFrom(logs: Partial<Record<StreamName, SimEvent[] | DatasetOptions>> | undefined, telephony = logs?.telephony): Record<StreamName, EventStore> {
  return Object.fromEntries(STREAM_NAMES.map((name) => [name, new EventStore(eventsFrom(name, name === 'telephony' ? telephony : logs?.[name]))])) as Record<
    StreamName,
    EventStore
  >;
}

/** Largest POST body read (the Accounts API takes no parameters worth more). */
const MAX_BODY_BYTES = 1 << 20;

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  validateOptions(opts);
  const logger = opts.logger ?? silentLogger();
  const clock =
    opts.clock ??
    createSimClock({ ...(opts.now && { source: opts.now }), ...(opts.clockOffsetMs !== undefined && { offsetMs: opts.clockOffsetMs }) });
  const now = (): number => clock.now();
  const apiHost = opts.apiHost ?? DEFAULT_API_HOST;
  const integrations = opts.integrations && opts.integrations.length > 0 ? opts.integrations : [randomIntegration()];
  const byIkey = new Map(integrations.map((i) => [i.ikey, i]));
  const maxSkewSeconds = opts.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS;
  const lastPageCursor = opts.lastPageCursor ?? 'present';
  const childLimit = opts.childLimit ?? 'per-child';
  const parent: Account = {
    id: undefined,
    name: '',
    apiHostname: apiHost,
    stores: storesFrom(opts.logs, opts.events ?? opts.logs?.telephony),
    unsupported: new Set(opts.unsupported ?? []),
    denied: false,
    rate429: 0,
    rng: createRng(0),
    stats: undefined,
  };
  const stores = parent.stores;
  const store = stores.telephony;

  const stats: SimulatorStats = {
    requests: 0,
    byStatus: {},
    pagesServed: 0,
    itemsServed: 0,
    byStream: Object.fromEntries(STREAM_NAMES.map((name) => [name, { requests: 0, itemsServed: 0 }])) as SimulatorStats['byStream'],
    faults: { '429': 0, '500': 0, '503': 0, html502: 0, reset: 0, truncated: 0, delay: 0 },
    misbehaviour: emptyMisbehaviourCounts(),
    handlerMs: 0,
    byAccount: {},
  };

  // Children in insertion order (what the Accounts API lists). Every host a child ever had stays
  // known: a request naming a removed child, signed for its host, is then a 400, not a 401.
  const children = new Map<string, Account>();
  const childHosts = new Set<string>();
  const addAccount = (a: SimAccountOptions): void => {
    const hosts = new Set([apiHost.toLowerCase(), ...[...children.values()].map((c) => c.apiHostname.toLowerCase())]);
    validateAccount(a, { ids: new Set(children.keys()), hosts });
    const accountStats = (stats.byAccount[a.accountId] ??= { requests: 0, itemsServed: 0, byStatus: {} });
    children.set(a.accountId, {
      id: a.accountId,
      name: a.name,
      apiHostname: a.apiHostname,
      stores: storesFrom(a.logs),
      unsupported: new Set(a.unsupported ?? []),
      denied: a.denied === true,
      rate429: a.rate429 ?? 0,
      rng: createRng(seedOf(a.accountId)),
      stats: accountStats,
    });
    childHosts.add(a.apiHostname.toLowerCase());
  };
  for (const a of opts.accounts ?? []) addAccount(a);
  const accountOf = (accountId: string | undefined, where: string): Account => {
    if (accountId === undefined) return parent;
    const child = children.get(accountId);
    if (!child) throw new RangeError(`simulator: ${where} names the account "${accountId}", not a current child`);
    return child;
  };

  // One bucket per integration and endpoint, as Duo limits each endpoint on its own; a child's endpoint
  // has its own unless childLimit is 'shared'; the Accounts API has one per integration.
  type Limited = StreamName | 'accounts';
  let limit: Pick<SimulatorOptions, 'rpm' | 'rpmByStream' | 'burst'> = { rpm: opts.rpm, rpmByStream: opts.rpmByStream, burst: opts.burst };
  const rpmOf = (what: Limited): number => (what === 'accounts' ? undefined : limit.rpmByStream?.[what]) ?? limit.rpm ?? 0;
  const buckets = new Map<string, { what: Limited; bucket: TokenBucket }>();
  const bucketFor = (ikey: string, account: Account, what: Limited): TokenBucket => {
    const owner = account.id === undefined || childLimit === 'shared' ? '' : account.id;
    const key = `${ikey} ${owner} ${what}`;
    let b = buckets.get(key);
    if (!b) buckets.set(key, (b = { what, bucket: new TokenBucket(limit.burst ?? 1, rpmOf(what) / 60_000) }));
    return b.bucket;
  };
  const setRateLimit = (next: Pick<SimulatorOptions, 'rpm' | 'rpmByStream' | 'burst'>): void => {
    validateRateLimit(next);
    limit = { ...limit, ...next };
    for (const { what, bucket } of buckets.values()) bucket.change(limit.burst ?? 1, rpmOf(what) / 60_000);
  };

  let faults: FaultOptions = { ...opts.faults };
  let faultRng: Rng = createRng(faults.seed ?? 1);
  // Response shape choices (cursor key omitted vs null, total_objects form) get their own stream so
  // turning faults on does not change them.
  const shapeRng = createRng((faults.seed ?? 1) + 0x632be5ab);
  const misbehaviour = new Misbehaviour(opts.misbehaviour);

  const pendingDelays = new Set<NodeJS.Timeout>();
  let closed = false;
  // The child account a response answers for, so every status is also counted under it.
  const accountStatsOf = new WeakMap<ServerResponse, AccountStats>();

  const count = (res: ServerResponse, status: number): void => {
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    const a = accountStatsOf.get(res);
    if (a) a.byStatus[status] = (a.byStatus[status] ?? 0) + 1;
    opts.onResponse?.(status);
  };

  const send = (res: ServerResponse, status: number, body: string | Buffer, contentType = 'application/json'): void => {
    count(res, status);
    if (res.destroyed) return;
    const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    res.writeHead(status, {
      Date: rfc2822Date(now()),
      'Content-Type': contentType,
      'Content-Length': buf.length,
    });
    res.end(buf);
  };

  const sendFailure = (res: ServerResponse, f: DuoFailure): void => {
    send(res, f.status, failBody(f));
  };

  /** Cut the connection: before any byte, or after the status line and part of the body. */
  const reset = (res: ServerResponse, body: Buffer | undefined): void => {
    count(res, 0);
    stats.faults.reset++;
    if (body === undefined || faultRng.chance(0.5)) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(200, { Date: rfc2822Date(now()), 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
  };

  const truncate = (res: ServerResponse, body: Buffer): void => {
    count(res, 200);
    stats.faults.truncated++;
    const cut = Math.max(1, Math.floor(body.length * (0.2 + 0.6 * faultRng.next())));
    if (faultRng.chance(0.5)) {
      // Well-framed HTTP, broken JSON: only the parser notices.
      res.writeHead(200, { Date: rfc2822Date(now()), 'Content-Type': 'application/json', 'Content-Length': cut });
      res.end(body.subarray(0, cut));
    } else {
      // The promised length never arrives: the HTTP client sees the connection close early.
      res.writeHead(200, { Date: rfc2822Date(now()), 'Content-Type': 'application/json', 'Content-Length': body.length });
      res.write(body.subarray(0, cut), () => res.destroy());
    }
  };

  type Drawn = Exclude<FaultKind, 'delay'> | undefined;
  const drawFault = (): Drawn => {
    const r = faultRng.next();
    let acc = 0;
    const table: Array<[Exclude<FaultKind, 'delay'>, number | undefined]> = [
      ['429', faults.rate429],
      ['500', faults.rate500],
      ['503', faults.rate503],
      ['html502', faults.rateHtml502],
      ['reset', faults.rateReset],
      ['truncated', faults.rateTruncated],
    ];
    for (const [kind, p] of table) {
      acc += p ?? 0;
      if (r < acc) return kind;
    }
    return undefined;
  };

  /** A complete answer, or the fault drawn for it: a connection cut or a body cut short. Whether it counts as served. */
  const deliver = (res: ServerResponse, body: Buffer, fault: Drawn): boolean => {
    if (fault === 'reset') {
      reset(res, body);
      return false;
    }
    if (fault === 'truncated') {
      truncate(res, body);
      return false;
    }
    send(res, 200, body);
    return true;
  };

  /**
   * The faults step, then `serve`: the global faults (and a child's own 429s) answer instead of it,
   * and any answer may be held back. The global draws happen for every request, so a child's
   * `rate429` does not shift them.
   */
  const answer = (res: ServerResponse, account: Account, serve: (fault: Drawn) => void): void => {
    const delayed = faultRng.chance(faults.rateDelay ?? 0);
    let fault = drawFault();
    if (account.rng.chance(account.rate429)) fault = '429';
    const respond = (): void => {
      if (fault !== undefined && fault !== 'reset' && fault !== 'truncated') stats.faults[fault]++;
      switch (fault) {
        case '429':
          return sendFailure(res, failure(429, 42901, 'Too Many Requests'));
        case '500':
          return sendFailure(res, failure(500, 50001, 'Internal server error'));
        case '503':
          return send(res, 503, '');
        case 'html502':
          return send(res, 502, HTML_502, 'text/html');
        default:
          return serve(fault);
      }
    };
    if (!delayed) return respond();
    stats.faults.delay++;
    // Real time, like the token bucket: a delay models the network, and a frozen clock must not hang it.
    const timer = setTimeout(() => {
      pendingDelays.delete(timer);
      if (closed) return;
      const t0 = performance.now();
      respond();
      stats.handlerMs += performance.now() - t0;
    }, faults.delayMs ?? DEFAULT_DELAY_MS);
    pendingDelays.add(timer);
  };

  interface PageBody {
    body: string;
    items: number;
    /** The cursor returned, null for none (what the next request in this window may send). */
    cursor: string | null;
    injected: MisbehaviourKind[];
    missingIds: number;
  }

  /** A page of a window endpoint; misbehaviour (misbehaviour.ts) applies to the parent's telephony only. */
  const pageBody = (account: Account, stream: StreamName, query: PageQuery, nowMs: number): PageBody | DuoFailure => {
    const rules = ENDPOINTS[stream];
    const page = account.stores[stream].selectPage(query, nowMs);
    if (!page.found) return failure(400, 40002, 'Invalid request parameters', rules.cursorParam);
    const last = page.items[page.items.length - 1];
    const sendsCursor = lastPageCursor === 'present' || page.hasMore;
    const right = sendsCursor && last ? cursorFor(last) : null;
    const plan =
      stream === 'telephony' && account === parent ? misbehaviour.plan(store, query, page.items, right, nowMs) : { items: page.items, cursor: right, injected: [] };
    let meta: string;
    if (sendsCursor) {
      meta = `"next_offset":${cursorJson(rules, plan.cursor)}`;
    } else {
      // Both readings of "no more" occur in the wild: a null cursor and no cursor key at all.
      meta = shapeRng.chance(0.5) ? '"next_offset":null' : '';
    }
    const sep = meta === '' ? '' : ',';
    if (rules.totalObjects === 'either') {
      meta += sep + (shapeRng.chance(0.25) ? `"total_objects":${page.total}` : `"total_objects":{"relation":"eq","value":${page.total}}`);
    } else if (rules.totalObjects === 'integer') {
      meta += `${sep}"total_objects":${page.total}`;
    }
    let missingIds = 0;
    for (const e of plan.items) if (e.missingId === true) missingIds++;
    const body = listBody(rules, { events: plan.items, metadata: meta });
    return { body, items: plan.items.length, cursor: plan.cursor, injected: plan.injected, missingIds };
  };

  /** The administrator log: the 1000 earliest visible events from a mintime in seconds, a bare array. */
  const administratorPage = (account: Account, query: QueryParams, nowMs: number): PageBody | DuoFailure => {
    const parsed = parseAdministratorQuery(query);
    if (!parsed.ok) return parsed.failure;
    const items = account.stores.administrator.selectFrom(parsed.query.mintimeSeconds * 1_000_000, ADMINISTRATOR_MAX_EVENTS, nowMs);
    return { body: administratorBody(items), items: items.length, cursor: null, injected: [], missingIds: 0 };
  };

  const serve = (res: ServerResponse, account: Account, stream: StreamName, query: QueryParams, fault: Drawn): void => {
    const nowMs = now();
    let page: PageBody | DuoFailure;
    let window: PageQuery | undefined;
    if (stream === 'administrator') {
      page = administratorPage(account, query, nowMs);
    } else {
      const parsed = parsePageQuery(query, nowMs, ENDPOINTS[stream]);
      if (!parsed.ok) return sendFailure(res, parsed.failure);
      window = parsed.query;
      page = pageBody(account, stream, window, nowMs);
    }
    if (!('body' in page)) return sendFailure(res, page);
    if (!deliver(res, Buffer.from(page.body, 'utf8'), fault)) return;
    stats.pagesServed++;
    stats.itemsServed += page.items;
    stats.byStream[stream].itemsServed += page.items;
    if (account.stats) account.stats.itemsServed += page.items;
    if (stream === 'telephony' && account === parent) {
      stats.misbehaviour.missingId += page.missingIds;
      for (const kind of page.injected) stats.misbehaviour[kind]++;
      if (window) misbehaviour.served(window, page.cursor);
    }
    logger.debug(
      {
        event: 'page.served',
        stream,
        items: page.items,
        ...(account.id !== undefined && { account_id: account.id }),
        ...(window && { sort: window.sort }),
        ...(page.injected.length > 0 && { misbehaviour: page.injected }),
      },
      'page served',
    );
  };

  const rejected = (res: ServerResponse, f: DuoFailure): void => {
    logger.debug({ event: 'request.rejected', status: f.status, code: f.code }, f.message);
    sendFailure(res, f);
  };

  const handleLog = (req: IncomingMessage, res: ServerResponse, path: string, rawQuery: string, stream: StreamName): void => {
    const query = parseQuery(rawQuery);
    // The account first: it decides which endpoints exist and the host the signature is made for.
    const accountId = accountIdOf(query);
    const account = accountId === undefined ? parent : accountId === null ? undefined : children.get(accountId);
    const named = typeof accountId === 'string' && Object.hasOwn(stats.byAccount, accountId) ? stats.byAccount[accountId] : undefined;
    if (named) {
      named.requests++;
      accountStatsOf.set(res, named);
    }
    // An endpoint the account's edition lacks looks, to the client, like one that does not exist.
    if (account?.unsupported.has(stream) === true) return sendFailure(res, failure(404, 40401, 'Resource not found'));
    stats.byStream[stream].requests++;
    if (req.method !== 'GET') return sendFailure(res, failure(405, 40500, 'Method not allowed'));

    const auth = verifyCredentials({
      method: req.method,
      path,
      query,
      headers: req.headers,
      apiHost: account?.apiHostname ?? apiHost,
      ...(account === undefined && { extraHosts: childHosts }),
      integrations: byIkey,
      nowMs: now(),
      maxSkewSeconds,
    });
    if (!auth.ok) return rejected(res, auth.failure);
    if (accountId !== undefined && !mayUseAccounts(auth.integration)) return sendFailure(res, failure(403, 40301, 'Access forbidden'));
    if (account === undefined) return sendFailure(res, failure(400, 40002, 'Invalid request parameters', 'account_id'));
    if (!mayRead(auth.integration, stream) || account.denied) return sendFailure(res, failure(403, 40301, 'Access forbidden'));
    if (rpmOf(stream) > 0 && !bucketFor(auth.integration.ikey, account, stream).take()) return sendFailure(res, failure(429, 42901, 'Too Many Requests'));
    answer(res, account, (fault) => serve(res, account, stream, query, fault));
  };

  /** `POST /accounts/v1/account/list`, once its body is in: the current children, in order. */
  const handleAccountList = (req: IncomingMessage, res: ServerResponse, path: string, body: string): void => {
    const auth = verifyCredentials({
      method: 'POST',
      path,
      query: bodyParams(headerText(req.headers['content-type']), body),
      headers: req.headers,
      apiHost,
      integrations: byIkey,
      nowMs: now(),
      maxSkewSeconds,
      body,
    });
    if (!auth.ok) return rejected(res, auth.failure);
    if (!mayUseAccounts(auth.integration)) return sendFailure(res, failure(403, 40301, 'Access forbidden'));
    if (rpmOf('accounts') > 0 && !bucketFor(auth.integration.ikey, parent, 'accounts').take()) return sendFailure(res, failure(429, 42901, 'Too Many Requests'));
    answer(res, parent, (fault) => {
      const list = [...children.values()].map((c) => ({ accountId: c.id as string, name: c.name, apiHostname: c.apiHostname }));
      if (deliver(res, Buffer.from(accountListBody(list), 'utf8'), fault)) logger.debug({ event: 'accounts.listed', accounts: list.length }, 'accounts listed');
    });
  };

  /** A failure inside a handler shows up as a 500 the test can see, not as a hung request. */
  const guarded = (res: ServerResponse, run: () => void): void => {
    const t0 = performance.now();
    try {
      run();
    } catch (err) {
      logger.error({ event: 'request.failed', err }, 'simulator error');
      if (!res.headersSent) sendFailure(res, failure(500, 50001, 'Internal server error'));
      else res.destroy();
    }
    stats.handlerMs += performance.now() - t0;
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    stats.requests++;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const rawQuery = q < 0 ? '' : url.slice(q + 1);
    if (path === ACCOUNTS_LIST_PATH) {
      if (req.method !== 'POST') return sendFailure(res, failure(405, 40500, 'Method not allowed'));
      // The only endpoint with a body: read it whole, then check as for the others.
      // A client that goes away mid-body: nothing to answer, and no unhandled 'error' event.
      req.on('error', () => res.destroy());
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_BODY_BYTES) chunks.push(chunk);
      });
      req.on('end', () => {
        if (size > MAX_BODY_BYTES) return sendFailure(res, failure(413, 41300, 'Request entity too large'));
        guarded(res, () => handleAccountList(req, res, path, Buffer.concat(chunks).toString('utf8')));
      });
      return;
    }
    const stream = streamAt(path);
    if (stream === undefined) return sendFailure(res, failure(404, 40401, 'Resource not found'));
    handleLog(req, res, path, rawQuery, stream);
  };

  const server = createServer({ noDelay: true }, (req, res) => guarded(res, () => handle(req, res)));
  // Longer than undici's default keep-alive so the client, not the server, closes idle sockets.
  server.keepAliveTimeout = 65_000;

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const sizes = Object.fromEntries(STREAM_NAMES.map((name) => [name, stores[name].size]));
  logger.info(
    { event: 'simulator.started', url, apiHost, events: store.size, logs: sizes, ...(children.size > 0 && { accounts: children.size }) },
    'Duo API simulator listening',
  );

  return {
    url,
    port,
    apiHost,
    integrations,
    get events() {
      return store.events;
    },
    eventsOf(stream: StreamName, accountId?: string) {
      assertStream('eventsOf', stream);
      return accountOf(accountId, 'eventsOf').stores[stream].events;
    },
    get accounts() {
      return [...children.values()].map((c) => ({ accountId: c.id as string, name: c.name, apiHostname: c.apiHostname }));
    },
    addAccount,
    removeAccount(accountId: string) {
      return children.delete(accountId);
    },
    clock,
    stats,
    setFaults(f: FaultOptions) {
      validateFaults(f);
      faults = { ...f };
      if (f.seed !== undefined) faultRng = createRng(f.seed);
    },
    setMisbehaviour(m: MisbehaviourOptions | null) {
      misbehaviour.set(m);
    },
    setRateLimit,
    addEvents(e: SimEvent[], stream: StreamName = 'telephony', accountId?: string) {
      assertStream('addEvents', stream);
      accountOf(accountId, 'addEvents').stores[stream].add(e);
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of pendingDelays) clearTimeout(t);
      pendingDelays.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await done;
      logger.info({ event: 'simulator.closed', requests: stats.requests }, 'Duo API simulator closed');
    },
  };
}

function headerText(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
