/**
 * Build the collector's dependencies from a Config: the Duo client, the sink and the checkpoint store.
 * Drivers are loaded with `import()` so `@google-cloud/storage` and Secret Manager load only when used.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Sink } from '../sinks/types.js';
import type { CheckpointStore } from '../checkpoint/types.js';
import { runOnce, type RunProgress, type RunSettings, type RunSummary } from './run.js';
import type { Failpoint } from './failpoint.js';
import { ConfigError } from '../errors.js';
import { configWarnings } from '../config.js';
import { createDuoClient, type DuoClientOptions } from '../duo/client.js';

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
}

/** The sink and checkpoint store the configuration names: GCS bucket, stdout, or the local folder. */
export async function createStores(c: Config, opts: StoreOptions = {}): Promise<Stores> {
  // A state carried on from (the guide's), read only while our checkpoint does not exist yet.
  const legacyKey = c.legacyStateKey;
  if (c.bucket) {
    const [{ createStorage }, { createGcsSink }, { createGcsCheckpointStore }] = await Promise.all([
      import('../gcs/storage.js'),
      import('../sinks/gcs.js'),
      import('../checkpoint/gcs.js'),
    ]);
    const storage = await createStorage({ ...(c.gcsApiEndpoint ? { apiEndpoint: c.gcsApiEndpoint } : {}), timeoutMs: c.requestTimeoutSeconds * 1000 });
    return storesOf(
      createGcsSink({ storage, bucket: c.bucket, prefix: c.prefix }),
      createGcsCheckpointStore({ storage, bucket: c.bucket, key: c.stateKey, ...(legacyKey ? { legacyKey } : {}) }),
    );
  }
  const { createLocalCheckpointStore } = await import('../checkpoint/local.js');
  const checkpoints = createLocalCheckpointStore({
    path: join(c.outputDir, c.stateKey),
    ...(legacyKey ? { legacyPath: join(c.outputDir, legacyKey) } : {}),
  });
  if (c.stdout) {
    const { createStdoutSink, pipeCapacityOf } = await import('../sinks/stdout.js');
    const stream = opts.stdout ?? process.stdout;
    // The process's own stdout may be a pipe whose unread content a dying reader would lose.
    return storesOf(createStdoutSink({ stream, inFlightBytes: stream === process.stdout ? pipeCapacityOf(1) : 0 }), checkpoints);
  }
  const { createLocalSink } = await import('../sinks/local.js');
  return storesOf(createLocalSink({ root: c.outputDir }), checkpoints);
}

/** The secret key from DUO_SKEY, or from Secret Manager when DUO_SKEY_SECRET names a version. */
export async function resolveSecretKey(c: Config): Promise<string> {
  if (c.skey) return c.skey;
  if (!c.skeySecret) throw new ConfigError(['DUO_SKEY: required unless DUO_SKEY_SECRET names a Secret Manager version holding it']);
  const { readSecret } = await import('../secrets.js');
  return readSecret(c.skeySecret);
}

export function runSettings(c: Config): RunSettings {
  return {
    prefix: c.prefix,
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
  onProgress?: (p: RunProgress) => void;
  /** Overrides for the Duo client (tests scale the backoff down). */
  client?: Partial<DuoClientOptions>;
}

export interface Collector {
  readonly config: Config;
  /**
   * One run. `signal` stops it: a request to Duo in flight (or its backoff) is abandoned at once, a
   * page being stored is finished and committed. `hardSignal` also abandons storage I/O in flight.
   */
  run(signal?: AbortSignal, hardSignal?: AbortSignal): Promise<RunSummary>;
  close(): Promise<void>;
}

/** Everything a run needs, built once: reused across runs by the daemon and a warm function instance. */
export async function createCollector(c: Config, opts: CollectorOptions): Promise<Collector> {
  for (const w of configWarnings(c)) opts.logger.warn({ event: 'config.warning' }, w);
  const skey = await resolveSecretKey(c);
  const client = createDuoClient({
    ikey: c.ikey,
    skey,
    apiHost: c.apiHost,
    baseUrl: c.apiUrl,
    requestsPerMinute: c.requestsPerMinute,
    timeoutMs: c.requestTimeoutSeconds * 1000,
    signatureVersion: c.signatureVersion,
    logger: opts.logger,
    ...opts.client,
  });
  const stores = await createStores(c, opts.stdout ? { stdout: opts.stdout } : {});
  const settings = runSettings(c);
  return {
    config: c,
    run: (signal, hardSignal) =>
      runOnce(
        {
          client,
          sink: stores.sink,
          checkpoints: stores.checkpoints,
          settings,
          logger: opts.logger,
          ...(opts.now ? { now: opts.now } : {}),
          ...(opts.failpoint ? { failpoint: opts.failpoint } : {}),
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          ...(hardSignal ? { hardSignal } : {}),
        },
        signal,
      ),
    close: async () => {
      await client.close();
      await stores.close();
    },
  };
}
