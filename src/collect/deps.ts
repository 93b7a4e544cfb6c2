/**
 * Build the collector's dependencies from a Config: the Duo client, the sink and the checkpoint store.
 * Drivers are loaded with `import()` so `@google-cloud/storage` and Secret Manager load only when used.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config, StreamStore } from '../config.js';
import type { Storage } from '@google-cloud/storage';
import type { Sink } from '../sinks/types.js';
import type { CheckpointStore } from '../checkpoint/types.js';
import { parseStoredCheckpoint, type Checkpoint } from '../checkpoint/codec.js';
import { runOnce, type RunProgress, type RunSettings } from './run.js';
import { createTurns, runStreams, type CollectionSummary } from './run-streams.js';
import { STREAMS, type StreamName } from '../duo/streams.js';
import type { Failpoint } from './failpoint.js';
import { ConfigError } from '../errors.js';
import { configWarnings, defaultStateKey } from '../config.js';
import type { DuoAccount } from '../duo/accounts.js';
import { collectAccountsInTurn, listChildren, refOf } from './accounts.js';
import { createDuoClient, type DuoClient, type DuoClientOptions } from '../duo/client.js';

export interface Stores {
  sink: Sink;
  checkpoints: CheckpointStore;
  /** Closes the sink and the checkpoint store (the stdout sink lets go of the stream). */
  close(): Promise<void>;
}

function storesOf(sink: Sink, checkpoints: CheckpointStore): Stores {
  return {
    sink,
    checkpoints,
    close: async () => {
      await sink.close?.();
      await checkpoints.close?.();
    },
  };
}

export interface StoreOptions {
  /** Where the stdout sink writes. */
  stdout?: NodeJS.WritableStream;
  /** Google's storage client to use (streams of one collection share one); made from the config otherwise. */
  storage?: Storage;
  /** Accounts mode: the child account whose objects these are; in a bucket its id and name go into every object's metadata. */
  account?: DuoAccount | undefined;
}

/** Google's storage client the configuration asks for (GCS_API_ENDPOINT, the request timeout). */
export async function storageFor(c: Config): Promise<Storage> {
  const { createStorage } = await import('../gcs/storage.js');
  return createStorage({ ...(c.gcsApiEndpoint ? { apiEndpoint: c.gcsApiEndpoint } : {}), timeoutMs: c.requestTimeoutSeconds * 1000 });
}

/**
 * The sink and checkpoint store of one stream (default: the first selected) where the configuration
 * names them: GCS bucket, stdout, or the local folder.
 */
export async function createStores(c: Config, store: StreamStore = c.stores[0]!, opts: StoreOptions = {}): Promise<Stores> {
  if (c.bucket) {
    const { createGcsSink } = await import('../sinks/gcs.js');
    const storage = opts.storage ?? (await storageFor(c));
    const account = opts.account;
    const metadata = account ? { metadata: { account_id: account.accountId, account_name: account.name } } : {};
    return storesOf(createGcsSink({ storage, bucket: c.bucket, prefix: store.prefix, ...metadata }), await createCheckpointStore(c, store, storage));
  }
  const checkpoints = await createCheckpointStore(c, store);
  if (c.stdout) {
    const { createStdoutSink, pipeCapacityOf } = await import('../sinks/stdout.js');
    const stream = opts.stdout ?? process.stdout;
    // The process's own stdout may be a pipe whose unread content a dying reader would lose.
    return storesOf(createStdoutSink({ stream, inFlightBytes: stream === process.stdout ? pipeCapacityOf(1) : 0 }), checkpoints);
  }
  const { createLocalSink } = await import('../sinks/local.js');
  return storesOf(createLocalSink({ root: c.outputDir }), checkpoints);
}

/** One stream's checkpoint store where the configuration names it (GCS bucket or the local folder). */
export async function createCheckpointStore(c: Config, store: StreamStore, storage?: Storage): Promise<CheckpointStore> {
  // A state carried on from (the guide's), read only while our checkpoint does not exist yet.
  const legacyKey = store.legacyStateKey;
  if (c.bucket) {
    const { createGcsCheckpointStore } = await import('../checkpoint/gcs.js');
    return createGcsCheckpointStore({ storage: storage ?? (await storageFor(c)), bucket: c.bucket, key: store.stateKey, ...(legacyKey ? { legacyKey } : {}) });
  }
  const { createLocalCheckpointStore } = await import('../checkpoint/local.js');
  return createLocalCheckpointStore({ path: join(c.outputDir, store.stateKey), ...(legacyKey ? { legacyPath: join(c.outputDir, legacyKey) } : {}) });
}

/**
 * One stream's checkpoint as it stands, read only (`check` and `verify` look at it; runs go through the
 * keeper), and where it is. Null when there is none yet.
 */
export async function loadCheckpoint(c: Config, store: StreamStore, storage?: Storage): Promise<{ checkpoint: Checkpoint | null; location: string }> {
  const checkpoints = await createCheckpointStore(c, store, storage);
  try {
    const stored = await checkpoints.load();
    return { checkpoint: stored ? parseStoredCheckpoint(stored) : null, location: checkpoints.location };
  } finally {
    await checkpoints.close?.();
  }
}

/** The Duo client the configuration asks for (keys, host, pace, timeout); `overrides` for `check` and tests. */
export async function duoClientFor(c: Config, logger: Logger, overrides: Partial<DuoClientOptions> = {}): Promise<DuoClient> {
  return createDuoClient({
    ikey: c.ikey,
    skey: await resolveSecretKey(c),
    apiHost: c.apiHost,
    baseUrl: c.apiUrl,
    requestsPerMinute: c.requestsPerMinute,
    timeoutMs: c.requestTimeoutSeconds * 1000,
    signatureVersion: c.signatureVersion,
    ...(c.backoffMs !== undefined ? { backoffBaseMs: c.backoffMs, jitterMs: c.backoffMs } : {}),
    logger,
    ...overrides,
  });
}

/** The secret key from DUO_SKEY, or from Secret Manager when DUO_SKEY_SECRET names a version. */
export async function resolveSecretKey(c: Config): Promise<string> {
  if (c.skey) return c.skey;
  if (!c.skeySecret) throw new ConfigError(['DUO_SKEY: required unless DUO_SKEY_SECRET names a Secret Manager version holding it']);
  const { readSecret } = await import('../secrets.js');
  return readSecret(c.skeySecret);
}

/** The run settings of one stream (default: the first selected), of a child account in accounts mode. */
export function runSettings(c: Config, store: StreamStore = c.stores[0]!, account?: DuoAccount): RunSettings {
  return {
    stream: STREAMS[store.stream],
    prefix: store.prefix,
    apiHost: account?.apiHostname ?? c.apiHost,
    ...(account ? { account: { id: account.accountId, name: account.name } } : {}),
    enrich: c.enrich,
    pageLimit: c.pageLimit,
    maxPages: c.maxPages,
    delayMs: c.delaySeconds * 1000,
    lookbackMs: c.lookbackHours * 3_600_000,
    lookbackExplicit: c.explicit.has('lookbackHours'),
    windowMaxMs: c.windowMaxHours * 3_600_000,
    budgetMs: c.runBudgetSeconds === 0 ? Number.POSITIVE_INFINITY : c.runBudgetSeconds * 1000,
  };
}

export interface CollectorOptions {
  logger: Logger;
  stdout?: NodeJS.WritableStream;
  now?: () => number;
  failpoint?: Failpoint;
  onProgress?: (p: RunProgress & { stream: StreamName }) => void;
  /** Overrides for the Duo client (tests scale the backoff down). */
  client?: Partial<DuoClientOptions>;
  /**
   * Accounts mode: the child account to collect, with the parent's keys. Its streams write under
   * `<prefix>/<account_id>` with checkpoints of their own (accountStore), and every line and object
   * carries its id and name.
   */
  account?: DuoAccount;
  /** Only these of the configured streams (a work message names one). */
  streams?: readonly StreamName[];
  /** The configuration's warnings were logged already (one per run, not one per child account). */
  warned?: boolean;
}

export interface Collector {
  readonly config: Config;
  /**
   * One collection: every selected stream side by side (run-streams.ts); a stream's failure is in its
   * result, never thrown. `signal` stops it: a request to Duo in flight (or its backoff) is abandoned
   * at once, a page being stored is finished and committed. `hardSignal` also abandons storage I/O.
   */
  run(signal?: AbortSignal, hardSignal?: AbortSignal): Promise<CollectionSummary>;
  close(): Promise<void>;
}

/**
 * Accounts mode in one process (collect, daemon, a function without WORK_TOPIC): each run lists the
 * children and collects them one after another (accounts.ts), each child with a collector of its own
 * that lives for its turn.
 */
function createAccountsCollector(c: Config, opts: CollectorOptions): Collector {
  const now = opts.now ?? Date.now;
  return {
    config: c,
    run: async (signal, hardSignal) => {
      const startMs = now();
      const { selected: accounts } = await listChildren(c, await resolveSecretKey(c), opts.logger, signal);
      const budgetMs = c.runBudgetSeconds === 0 ? Number.POSITIVE_INFINITY : c.runBudgetSeconds * 1000 - (now() - startMs);
      const runAccount = (account: DuoAccount, leftMs: number): Promise<CollectionSummary> =>
        collectChild({ ...c, runBudgetSeconds: Number.isFinite(leftMs) ? leftMs / 1000 : 0 }, { ...opts, account }, signal, hardSignal);
      const streams = await collectAccountsInTurn(accounts, c.stores.map((s) => s.stream), runAccount, { budgetMs, now, signal });
      return { streams, durationMs: now() - startMs };
    },
    close: async () => {},
  };
}

/**
 * One collection of a child account (its streams, or `opts.streams`) by a collector that lives for it:
 * a turn in accounts mode, or a work message of the fan-out. Its results carry the account.
 */
export async function collectChild(c: Config, opts: CollectorOptions & { account: DuoAccount }, signal?: AbortSignal, hardSignal?: AbortSignal): Promise<CollectionSummary> {
  const collector = await createCollector(c, { ...opts, warned: true });
  try {
    return await collector.run(signal, hardSignal);
  } finally {
    await collector.close();
  }
}

/**
 * Where one child account's stream writes in accounts mode: under `<prefix>/<account_id>`, so one feed
 * over the stream's prefix reads every account, with a checkpoint of its own beside the others.
 */
export function accountStore(store: StreamStore, accountId: string): StreamStore {
  const prefix = store.prefix ? `${store.prefix}/${accountId}` : accountId;
  return { stream: store.stream, prefix, stateKey: defaultStateKey(prefix), legacyStateKey: undefined };
}

/**
 * The Duo client of a child account: the parent's keys, the child's host signed into every request and
 * `account_id` sent with it. DUO_API_URL (a proxy, the simulator) still says where requests go.
 */
export function childClientOptions(c: Config, account: DuoAccount): Partial<DuoClientOptions> {
  return { apiHost: account.apiHostname, accountId: account.accountId, baseUrl: c.explicit.has('apiUrl') ? c.apiUrl : `https://${account.apiHostname}` };
}

/** Pages of different streams held at once when several streams are collected side by side. */
const PAGES_AT_ONCE = 1;

/** Everything a run needs, built once: reused across runs by the daemon and a warm function instance. */
export async function createCollector(c: Config, opts: CollectorOptions): Promise<Collector> {
  if (!opts.warned) for (const w of configWarnings(c)) opts.logger.warn({ event: 'config.warning' }, w);
  if (c.accounts !== undefined && opts.account === undefined) return createAccountsCollector(c, opts);
  const account = opts.account;
  // A child's every log line (requests, pages, run.finished) says whose it is.
  const logger = account ? opts.logger.child({ account_id: account.accountId }) : opts.logger;
  const client = await duoClientFor(c, logger, { ...(account ? childClientOptions(c, account) : {}), ...opts.client });
  // One storage client for every stream: one connection pool, one set of credentials.
  const storage = c.bucket ? await storageFor(c) : undefined;
  const selected = c.stores.filter((s) => opts.streams === undefined || opts.streams.includes(s.stream));
  const streams = await Promise.all(
    selected.map(async (configured) => {
      const store = account ? accountStore(configured, account.accountId) : configured;
      return {
        store,
        stores: await createStores(c, store, { ...(opts.stdout ? { stdout: opts.stdout } : {}), ...(storage ? { storage } : {}), account }),
        settings: { ...runSettings(c, store, account), readAhead: selected.length === 1 },
      };
    }),
  );
  // Several streams take turns per page (one page in memory at a time); one stream runs on its own.
  const takeTurn = streams.length > 1 ? createTurns(PAGES_AT_ONCE) : undefined;
  // A child's results say whose they are, wherever they are reported.
  const ref = account ? refOf(account) : undefined;
  const owned = (s: CollectionSummary): CollectionSummary => (ref ? { ...s, streams: s.streams.map((r) => ({ ...r, account: ref })) } : s);
  return {
    config: c,
    run: async (signal, hardSignal) =>
      owned(await runStreams(
        streams.map(({ store, stores, settings }) => {
          const stream = STREAMS[store.stream];
          const onProgress = opts.onProgress;
          return {
            stream: store.stream,
            run: () =>
              runOnce(
                {
                  client: {
                    getPage: (req, s) => client.getPage(stream, req, s),
                    stats: client.statsOf(stream),
                    rate: () => client.rateOf(stream),
                    seedRate: (learned) => client.seedRate(stream, learned),
                  },
                  sink: stores.sink,
                  checkpoints: stores.checkpoints,
                  settings,
                  logger,
                  ...(opts.now ? { now: opts.now } : {}),
                  ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
                  ...(onProgress ? { onProgress: (p: RunProgress) => onProgress({ ...p, stream: store.stream }) } : {}),
                  ...(hardSignal ? { hardSignal } : {}),
                  ...(takeTurn ? { takeTurn } : {}),
                },
                signal,
              ),
          };
        }),
        opts.now,
      )),
    close: async () => {
      await client.close();
      for (const s of streams) await s.stores.close();
    },
  };
}
