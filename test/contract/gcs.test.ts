/**
 * The Sink and CheckpointStore contracts against the GCS drivers: on the local GCS test server (one
 * bucket per fixture), and on real GCS when GCS_TEST_BUCKET names a bucket the Application Default
 * Credentials may write to (each fixture then works under its own prefix and deletes it afterwards).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Storage } from '@google-cloud/storage';
import { createStorage } from '../../src/gcs/storage.js';
import { createGcsSink } from '../../src/sinks/gcs.js';
import { createGcsCheckpointStore } from '../../src/checkpoint/gcs.js';
import type { Sink } from '../../src/sinks/types.js';
import { startIsolatedGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { sinkContract } from './sink.contract.js';
import { checkpointContract } from './checkpoint.contract.js';

describe('GCS drivers on the local GCS test server', () => {
  let server: GcsTestServer;
  let seq = 0;

  beforeAll(async () => {
    server = await startIsolatedGcsTestServer();
  });
  afterAll(async () => {
    await server.close();
  });

  const newBucket = (): string => {
    seq += 1;
    const name = `contract-${seq}`;
    server.createBucket(name);
    return name;
  };
  // A client per instance: `another()` stands for another process or function instance.
  const client = (): Promise<Storage> => createStorage({ apiEndpoint: server.url, projectId: 'test' });

  sinkContract('gcs (test server)', async () => {
    const bucket = newBucket();
    return {
      sink: createGcsSink({ storage: await client(), bucket, prefix: 'duo-telephony' }),
      read: async (key) => server.objects(bucket).find((o) => o.name === key)?.data ?? null,
      another: async () => createGcsSink({ storage: await client(), bucket, prefix: 'duo-telephony' }),
      cleanup: async () => {},
      requests: () => server.requests().filter((r) => r.path.includes(`/b/${bucket}/`)).length,
    };
  });

  checkpointContract('gcs (test server)', async () => {
    const bucket = newBucket();
    const key = '_state/duo-telephony.json';
    return {
      store: createGcsCheckpointStore({ storage: await client(), bucket, key }),
      another: async () => createGcsCheckpointStore({ storage: await client(), bucket, key }),
      cleanup: async () => {},
    };
  });
});

const realBucket = process.env['GCS_TEST_BUCKET'];

if (!realBucket) {
  const reason = 'GCS_TEST_BUCKET is not set (set it to a bucket the Application Default Credentials can write to)';
  console.warn(`skipping the GCS contract on real Google Cloud Storage: ${reason}`);
  describe.skip(`GCS drivers on real Google Cloud Storage: skipped, ${reason}`, () => {
    it('runs the Sink and CheckpointStore contracts against gs://$GCS_TEST_BUCKET', () => {});
  });
} else {
  describe(`GCS drivers on real Google Cloud Storage (gs://${realBucket})`, () => {
    const bucket = realBucket;
    let storage: Storage;

    beforeAll(async () => {
      storage = await createStorage({});
    });

    /** Everything a fixture wrote lives under its own prefix, deleted afterwards. */
    const removePrefix = async (prefix: string): Promise<void> => {
      const [files] = await storage.bucket(bucket).getFiles({ prefix });
      // Conditional deletes: an unconditional one briefly turns the client's retries off for the instance.
      await Promise.all(files.map((f) => f.delete(f.metadata.generation === undefined ? {} : { ifGenerationMatch: f.metadata.generation }).catch(() => undefined)));
    };

    /** The contract's keys under the fixture's prefix; the driver itself is used unchanged. */
    const prefixed = (inner: Sink, root: string): Sink => ({
      location: inner.location,
      writePage: (obj, signal) => inner.writePage({ ...obj, key: `${root}/${obj.key}` }, signal),
      readPage: (key, signal) => inner.readPage(`${root}/${key}`, signal),
    });

    sinkContract('gcs (real)', async () => {
      const root = `duo-telephony-contract/${randomUUID()}`;
      const read = async (key: string): Promise<Buffer | null> => {
        const file = storage.bucket(bucket).file(`${root}/${key}`);
        const [exists] = await file.exists();
        return exists ? (await file.download())[0] : null;
      };
      return {
        sink: prefixed(createGcsSink({ storage, bucket, prefix: root }), root),
        read,
        another: async () => prefixed(createGcsSink({ storage: await createStorage({}), bucket, prefix: root }), root),
        cleanup: () => removePrefix(`${root}/`),
      };
    });

    checkpointContract('gcs (real)', async () => {
      const root = `duo-telephony-contract/${randomUUID()}`;
      const key = `${root}/_state/duo-telephony.json`;
      return {
        store: createGcsCheckpointStore({ storage, bucket, key }),
        another: async () => createGcsCheckpointStore({ storage: await createStorage({}), bucket, key }),
        cleanup: () => removePrefix(`${root}/`),
      };
    });
  });
}
