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
import { configWarnings } from '../config.js';
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
    return storesOf(createGcsSink({ storage, bucket: c.bucket, prefix: store.prefix }), await createCheckpointStore(c, store, storage));
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

/** The run settings of one stream (default: the first selected). */
export function runSettings(c: Config, store: StreamStore = c.stores[0]!): RunSettings {
  return {
    stream: STREAMS[store.stream],
    prefix: store.prefix,
    apiHost: c.apiHost,
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

/** Pages of different streams held at once when several streams are collected side by side. */
const PAGES_AT_ONCE = 1;

/** Everything a run needs, built once: reused across runs by the daemon and a warm function instance. */
export async function createCollector(c: Config, opts: CollectorOptions): Promise<Collector> {
  for (const w of configWarnings(c)) opts.logger.warn({ event: 'config.warning' }, w);
  const client = await duoClientFor(c, opts.logger, opts.client);
  // One storage client for every stream: one connection pool, one set of credentials.
  const storage = c.bucket ? await storageFor(c) : undefined;
  const streams = await Promise.all(
    c.stores.map(async (store) => ({
      store,
      stores: await createStores(c, store, { ...(opts.stdout ? { stdout: opts.stdout } : {}), ...(storage ? { storage } : {}) }),
      settings: { ...runSettings(c, store), readAhead: c.stores.length === 1 },
    })),
  );
  // Several streams take turns per page (one page in memory at a time); one stream runs on its own.
  const takeTurn = streams.length > 1 ? createTurns(PAGES_AT_ONCE) : undefined;
  return {
    config: c,
    run: (signal, hardSignal) =>
      runStreams(
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
                  logger: opts.logger,
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
      ),
    close: async () => {
      await client.close();
      for (const s of streams) await s.stores.close();
    },
  };
}
