/**
 * One stream's `verify`, as the CLI, the daemon and the function run it: what the stream's checkpoint
 * says is settled is compared (verify.ts); the rest of the range is left out and said so.
 */
import type { Config, StreamStore } from '../config.js';
import type { DuoAccount } from '../duo/accounts.js';
import type { Storage } from '@google-cloud/storage';
import { createStores, loadCheckpoint, runSettings, storageFor } from '../collect/deps.js';
import type { DuoClient } from '../duo/client.js';
import { STREAMS, type StreamName } from '../duo/streams.js';
import { verifyStream, type RepairReport, type Verdict, type VerifyProgress } from './verify.js';
import { enrichmentOf } from '../collect/run.js';
import { gcsLister, localLister, type ObjectLister } from './listing.js';

/** How verify reaches the store, built once for every stream: its listing and the storage client they share. */
export interface StoreAccess {
  list: ObjectLister;
  storage?: Storage | undefined;
}

export async function storeAccessFor(config: Config): Promise<StoreAccess> {
  if (!config.bucket) return { list: localLister(config.outputDir) };
  const storage = await storageFor(config);
  return { list: gcsLister(storage, config.bucket), storage };
}

/** One stream's result, as `--json` prints it. */
export interface VerifyJson {
  stream: StreamName;
  /** `verify --account`: the child account verified. */
  accountId?: string;
  /** The range compared, ISO times; `to` is where it ended (see `leftOut`). */
  from: string;
  to: string;
  duo: number;
  stored: number;
  missing: number;
  doubled: number;
  unknown: number;
  ids: Verdict['ids'];
  /** Missing events that were most likely in an object deleted from the store. */
  inDeleted: number;
  /** The part of the asked range not compared, and why. */
  leftOut: { from: string; to: string; reason: string } | null;
  /** With --repair: what the first pass found, and what was written. */
  before?: Omit<Verdict, 'ids'> | undefined;
  repair?: RepairReport | undefined;
}

export interface VerifyStoreOptions {
  config: Config;
  /** The stream's store: a child account's (deps.ts accountStore) with `account`. */
  store: StreamStore;
  /** A child account (`verify --account`): its lines carry its id and name, and so does what --repair writes. */
  account?: DuoAccount | undefined;
  client: DuoClient;
  access: StoreAccess;
  range: { fromMs: number; toMs: number };
  repair: boolean;
  includeDeleted: boolean;
  signal?: AbortSignal;
  onProgress?: (p: VerifyProgress) => void;
}

export async function verifyStore(o: VerifyStoreOptions): Promise<VerifyJson> {
  const { config, store } = o;
  const stream = STREAMS[store.stream];
  // Where the collector stands: what it has not closed yet is not compared.
  const { checkpoint: cp, location } = await loadCheckpoint(config, store, o.access.storage);
  o.client.seedRate(stream, cp?.learnedRate);
  const duoNowMs = Date.now() + (cp?.clockOffsetMs ?? 0);
  const limits: Array<{ atMs: number; reason: string }> = [{ atMs: duoNowMs - config.delaySeconds * 1000, reason: "newer than Duo's clock minus DELAY_SECONDS" }];
  if (cp) limits.push({ atMs: cp.open ? cp.open.mintimeMs : cp.nextMintimeMs, reason: cp.open ? 'inside the window the collector is still paging' : 'not collected yet' });
  else limits.push({ atMs: o.range.fromMs, reason: `not collected yet (no checkpoint at ${location})` });
  const limit = limits.reduce((a, b) => (b.atMs < a.atMs ? b : a));
  const fromMs = o.range.fromMs;
  const toMs = Math.max(fromMs, Math.min(o.range.toMs, limit.atMs));
  const leftOut = toMs < o.range.toMs ? { from: new Date(toMs).toISOString(), to: new Date(o.range.toMs).toISOString(), reason: limit.reason } : null;

  const stores = await createStores(config, store, { ...(o.access.storage ? { storage: o.access.storage } : {}), account: o.account });
  try {
    const result = await verifyStream(
      {
        client: o.client,
        sink: stores.sink,
        list: o.access.list,
        stream,
        prefix: store.prefix,
        // Repairs are written as the collector writes its lines: the same run settings say how.
        enrich: enrichmentOf(runSettings(config, store, o.account), stream),
        ...(o.onProgress ? { onProgress: o.onProgress } : {}),
      },
      { fromMs, toMs, repair: o.repair, includeDeleted: o.includeDeleted, ...(o.signal ? { signal: o.signal } : {}) },
    );
    const before = result.before ? withoutIds(result.before) : undefined;
    return {
      stream: store.stream,
      ...(o.account ? { accountId: o.account.accountId } : {}),
      from: new Date(fromMs).toISOString(),
      to: new Date(toMs).toISOString(),
      duo: result.verdict.duo,
      stored: result.verdict.stored,
      missing: result.verdict.missing,
      doubled: result.verdict.doubled,
      unknown: result.verdict.unknown,
      ids: result.verdict.ids,
      inDeleted: result.verdict.inDeleted,
      leftOut,
      ...(before ? { before } : {}),
      ...(result.repair ? { repair: result.repair } : {}),
    };
  } finally {
    await stores.close();
  }
}

function withoutIds(v: Verdict): Omit<Verdict, 'ids'> {
  const { ids: _ids, ...rest } = v;
  return rest;
}

/** Whether a result found nothing missing, doubled or unknown. */
export const isClean = (r: Pick<VerifyJson, 'missing' | 'doubled' | 'unknown'>): boolean => r.missing + r.doubled + r.unknown === 0;
