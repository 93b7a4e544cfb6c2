/**
 * Child accounts of a parent ("MSP") integration, as Duo's Accounts API lists them: their options
 * (`SimAccountOptions`), the checks the server runs on them, and `childAccounts`, a seeded set of
 * children with small data sets for tests and `duo-secops simulate --accounts`.
 *
 * Pure: no server state here, so the server (server.ts) and tests share the same rules.
 */
import { ACCOUNT_ID, API_HOST } from '../duo/accounts.js';
import { STREAM_NAMES, type StreamName } from '../duo/streams.js';
import type { DatasetOptions, SimEvent } from './dataset.js';
import { DEFAULT_END_AGO_MS } from './default-logs.js';
import { createRng } from './rng.js';

export interface SimAccountOptions {
  /** `account_id`, e.g. `DA` + 18 upper-case letters or digits. */
  accountId: string;
  name: string;
  /** The child's own API host, distinct per child (e.g. `api-c0000001.duosecurity.com`): signed into its calls. */
  apiHostname: string;
  /** Each stream's data set, or how to generate it, as `SimulatorOptions.logs`. A stream without data serves an empty log. */
  logs?: Partial<Record<StreamName, SimEvent[] | DatasetOptions>>;
  /** Endpoints this child's edition lacks: 404 40401 there. */
  unsupported?: StreamName[];
  /** Every log endpoint of this child answers 403 40301. */
  denied?: boolean;
  /** Probability 0..1 that a request to this child answers 429 42901 (1: a storm), drawn from a seeded generator of its own. */
  rate429?: number;
}

/** What the Accounts API tells of a child. */
export interface SimAccount {
  accountId: string;
  name: string;
  apiHostname: string;
}

// The path and the rules for an id and a host are the collector's own (duo/accounts.ts): the simulator
// refuses what the collector would not accept.
export { ACCOUNTS_LIST_PATH } from '../duo/accounts.js';

/**
 * Refuse a child that could not be told apart from the others or the parent: its id and its host
 * must each be unique, because the server picks the child by id and verifies the signature for its host.
 */
export function validateAccount(a: SimAccountOptions, taken: { ids: ReadonlySet<string>; hosts: ReadonlySet<string> }): void {
  const where = `simulator account ${JSON.stringify(a.accountId)}`;
  if (typeof a.accountId !== 'string' || !ACCOUNT_ID.test(a.accountId)) throw new RangeError(`${where}: accountId must be 1 to 64 letters, digits, "_" or "-"`);
  // Ids key plain objects (stats.byAccount): `constructor` or `__proto__` would name the prototype's.
  if (a.accountId in Object.prototype) throw new RangeError(`${where}: accountId must not be the name of an Object property`);
  if (taken.ids.has(a.accountId)) throw new RangeError(`${where}: accountId is already a child of this simulator`);
  if (typeof a.name !== 'string') throw new RangeError(`${where}: name must be a string`);
  if (typeof a.apiHostname !== 'string' || !API_HOST.test(a.apiHostname)) throw new RangeError(`${where}: apiHostname must be a host name such as api-c0000001.duosecurity.com`);
  if (taken.hosts.has(a.apiHostname.toLowerCase())) throw new RangeError(`${where}: apiHostname ${a.apiHostname} is already the parent's or another child's host`);
  for (const name of Object.keys(a.logs ?? {})) assertStreamName(`${where}: logs`, name);
  for (const name of a.unsupported ?? []) assertStreamName(`${where}: unsupported`, name);
  if (a.rate429 !== undefined && !(a.rate429 >= 0 && a.rate429 <= 1)) throw new RangeError(`${where}: rate429 must be a probability in [0, 1], got ${a.rate429}`);
}

function assertStreamName(where: string, name: string): void {
  if (!(STREAM_NAMES as readonly string[]).includes(name)) throw new RangeError(`${where} names "${name}", not a Duo log stream (${STREAM_NAMES.join(', ')})`);
}

/** The Accounts API's answer: every current child, in the order given. */
export function accountListBody(accounts: readonly SimAccount[]): string {
  return JSON.stringify({ stat: 'OK', response: accounts.map((a) => ({ account_id: a.accountId, name: a.name, api_hostname: a.apiHostname })) });
}

/** FNV-1a of a string: a child's own seed from its id, whatever the order children are added in. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface ChildAccountsOptions {
  /** Default 1: the same seed gives the same children, ids and events. */
  seed?: number;
  /** The streams that get data (default every stream); the others serve an empty log. */
  logs?: StreamName[];
  /** Events per stream per child, default 50. */
  events?: number;
  /** The data sets span [fromMs, toMs); default the hour ending 10 minutes before `nowMs`, beyond Duo's delay. */
  fromMs?: number;
  toMs?: number;
  /** Default Date.now(); give the simulator clock's time when it is not real time. */
  nowMs?: number;
  /** Number of the first child (default 1): `Child 001`, `api-c0000001.duosecurity.com`. Another batch starts after the last. */
  first?: number;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const HOUR_MS = 3_600_000;
export const DEFAULT_CHILD_EVENTS = 50;

/**
 * `n` child accounts: ids `DA` + 18 upper-case letters or digits drawn from the seed, names `Child 001`…,
 * hosts `api-c0000001.duosecurity.com`… (by number, so distinct in one simulator), and per stream a
 * small data set generated by the simulator at start, each child with a seed of its own so their events differ.
 */
export function childAccounts(n: number, opts: ChildAccountsOptions = {}): SimAccountOptions[] {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`childAccounts: n must be a whole number, got ${n}`);
  const seed = opts.seed ?? 1;
  const events = opts.events ?? DEFAULT_CHILD_EVENTS;
  const first = opts.first ?? 1;
  if (!Number.isInteger(first) || first < 1) throw new RangeError(`childAccounts: first must be a whole number from 1, got ${first}`);
  const toMs = opts.toMs ?? (opts.nowMs ?? Date.now()) - DEFAULT_END_AGO_MS;
  const fromMs = opts.fromMs ?? toMs - HOUR_MS;
  const streams = opts.logs ?? [...STREAM_NAMES];
  for (const name of streams) assertStreamName('childAccounts: logs', name);
  const ids = new Set<string>();
  const out: SimAccountOptions[] = [];
  for (let i = 0; i < n; i++) {
    const number = first + i;
    // Drawn from the seed and the child's number alone: a later batch (`first`) extends an earlier one.
    const rng = createRng(seedOf(`${seed}:${number}`));
    let id: string;
    do {
      id = 'DA';
      for (let k = 0; k < 18; k++) id += ID_ALPHABET[rng.int(ID_ALPHABET.length)];
    } while (ids.has(id));
    ids.add(id);
    const childSeed = (Math.imul(seed >>> 0, 0x9e3779b1) ^ seedOf(id)) >>> 0;
    const logs: Partial<Record<StreamName, DatasetOptions>> = {};
    if (events > 0) for (const stream of streams) logs[stream] = { stream, events, seed: childSeed, fromMs, toMs };
    out.push({
      accountId: id,
      name: `Child ${String(number).padStart(3, '0')}`,
      apiHostname: `api-c${String(number).padStart(7, '0')}.duosecurity.com`,
      logs,
    });
  }
  return out;
}
