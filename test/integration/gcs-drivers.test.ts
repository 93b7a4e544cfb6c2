/**
 * GCS-specific behaviour of the drivers beyond the shared contracts: the guide's state.json migration,
 * what a page object looks like in the bucket, conflicts, races, retries whose first answer was lost,
 * reads and their failures, and the messages a missing bucket or a missing permission produce.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Storage } from '@google-cloud/storage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, gcsStatus, isPreconditionFailed, toStorageError } from '../../src/gcs/storage.js';
import { createGcsSink } from '../../src/sinks/gcs.js';
import { createGcsCheckpointStore } from '../../src/checkpoint/gcs.js';
import { AbortedError, CheckpointConflictError, ObjectConflictError, StorageError } from '../../src/errors.js';
import type { PageObject } from '../../src/sinks/types.js';
import { startGcsTestServer, startIsolatedGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';

let server: GcsTestServer;
let seq = 0;

beforeAll(async () => {
  server = await startIsolatedGcsTestServer();
});
afterAll(async () => {
  await server.close();
});
afterEach(() => {
  server.setFault(null);
  server.clearRequests();
});

function newBucket(): string {
  seq += 1;
  const name = `drivers-${seq}`;
  server.createBucket(name);
  return name;
}

/** A client whose retries wait 1 s (the client's floor) instead of 1, 2, 4 … s. */
function fastClient(maxRetries = 3): Storage {
  return new Storage({ apiEndpoint: server.url, projectId: 'test', retryOptions: { maxRetryDelay: 1, retryDelayMultiplier: 1, maxRetries } });
}

const client = (): Promise<Storage> => createStorage({ apiEndpoint: server.url, projectId: 'test' });

function page(key: string, body: string): PageObject {
  const buf = Buffer.from(body, 'utf8');
  return {
    key,
    body: buf,
    sha256: createHash('sha256').update(buf).digest('hex'),
    itemCount: body.split('\n').filter(Boolean).length,
    firstTs: '2026-11-23T02:00:00.000001+00:00',
    lastTs: '2026-11-23T02:59:59.999999+00:00',
  };
}

const KEY = 'duo-telephony/2026/11/23/telephony_1795399200000_1795402800000_p00001.json';
const BODY = '{"telephony_id":"a","ts":"2026-11-23T02:00:00.000001+00:00"}\n{"telephony_id":"b","ts":"2026-11-23T02:59:59.999999+00:00"}\n';

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('GCS sink', () => {
  it('stores a page create-only, as NDJSON, with its count, first/last ts and sha256 as metadata', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket, prefix: 'duo-telephony' });
    expect(sink.location).toBe(`gs://${bucket}/duo-telephony/`);
    const p = page(KEY, BODY);
    await expect(sink.writePage(p)).resolves.toBe('created');
    const [stored] = server.objects(bucket);
    expect(stored).toMatchObject({
      name: KEY,
      contentType: 'application/x-ndjson',
      metadata: { itemCount: '2', firstTs: p.firstTs, lastTs: p.lastTs, sha256: p.sha256 },
    });
    expect(stored?.data.toString()).toBe(BODY);
    const upload = server.requests().find((r) => r.path.startsWith('/upload/'));
    expect(upload?.query).toMatchObject({ uploadType: 'multipart', ifGenerationMatch: '0', name: KEY });
  });

  it('answers `exists` from the metadata alone when the sha256 and md5 agree', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket });
    expect(sink.location).toBe(`gs://${bucket}/`);
    await sink.writePage(page(KEY, BODY));
    server.clearRequests();
    await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('exists');
    expect(server.requests().some((r) => r.query['alt'] === 'media')).toBe(false);
  });

  it('hashes the content when the object has no sha256 metadata (written by something else)', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket });
    server.putObject(bucket, KEY, BODY, { contentType: 'application/x-ndjson' });
    await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('exists');
    expect(server.requests().some((r) => r.query['alt'] === 'media')).toBe(true);
    server.putObject(bucket, 'other.json', 'something else\n');
    await expect(sink.writePage(page('other.json', BODY))).rejects.toBeInstanceOf(ObjectConflictError);
  });

  it('does not trust a sha256 in metadata that the stored bytes contradict', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket });
    const p = page(KEY, BODY);
    server.putObject(bucket, KEY, 'tampered\n', { metadata: { sha256: p.sha256 } });
    await expect(sink.writePage(p)).rejects.toBeInstanceOf(ObjectConflictError);
    expect(server.objects(bucket)[0]?.data.toString()).toBe('tampered\n');
  });

  it('rejects different content with an ObjectConflictError naming the object, both hashes and what to check', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket });
    const original = page(KEY, BODY);
    const other = page(KEY, `${BODY}{"telephony_id":"c"}\n`);
    await sink.writePage(original);
    const err = await rejection(sink.writePage(other));
    expect(err).toBeInstanceOf(ObjectConflictError);
    const message = (err as Error).message;
    expect(message).toContain(`gs://${bucket}/${KEY} exists with different content`);
    expect(message).toContain(`sha256 ${original.sha256} in the bucket vs ${other.sha256}`);
    expect(message).toContain('nothing is overwritten or skipped');
    expect((err as ObjectConflictError).exitCode).toBe(5);
    expect(server.objects(bucket)[0]?.data.toString()).toBe(BODY);
  });

  it('lets exactly one of 4 sinks on 4 clients create the same object; the others see `exists`', async () => {
    const bucket = newBucket();
    const sinks = await Promise.all([1, 2, 3, 4].map(async () => createGcsSink({ storage: await client(), bucket })));
    const outcomes = await Promise.all(sinks.map((s) => s.writePage(page(KEY, BODY))));
    expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'exists')).toHaveLength(3);
    expect(server.objects(bucket)).toHaveLength(1);
  });

  it('reports `exists` when its own create landed but the answer was lost and the client’s retry got 412', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: fastClient(), bucket });
    server.setFault({ kind: 'reset', after: true, match: { method: 'POST', path: '/upload/' } });
    await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('exists');
    const uploads = server.requests().filter((r) => r.path.startsWith('/upload/'));
    expect(uploads).toHaveLength(2);
    expect(server.objects(bucket)).toHaveLength(1);
  });

  it('creates the page after a transient 503 (retried by the client because the write is conditional)', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: fastClient(), bucket });
    server.setFault({ kind: 'status', status: 503, match: { path: '/upload/' } });
    await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('created');
  });

  it('does not start a write once aborted', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket });
    const controller = new AbortController();
    controller.abort();
    await expect(sink.writePage(page(KEY, BODY), controller.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(server.objects(bucket)).toHaveLength(0);
  });
});

interface StubGcs {
  url: string;
  /** `METHOD path?query` of each request received. */
  requests: string[];
  close(): Promise<void>;
}

/** A stand-in for GCS that gives the answers the test server does not: `answer` replies to every request. */
async function startStubGcs(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<StubGcs> {
  const requests: string[] = [];
  const stub = createServer((req, res) => {
    requests.push(`${req.method ?? 'GET'} ${req.url ?? '/'}`);
    answer(req, res);
  });
  await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(stub.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        stub.close((err) => (err ? reject(err) : resolve()));
        stub.closeAllConnections();
      }),
  };
}

/** How GCS answers a media download it refuses: status and a plain-text body (not the JSON error). */
function plainText(status: number, text: string): (req: IncomingMessage, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(status, { 'Content-Type': 'text/html; charset=UTF-8', 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  };
}

describe('GCS sink reads', () => {
  it('downloads the live object in one request and returns its bytes, whoever wrote it', async () => {
    const bucket = newBucket();
    const sink = createGcsSink({ storage: await client(), bucket, prefix: 'duo-telephony' });
    await sink.writePage(page(KEY, BODY));
    const foreign = 'duo-telephony/2026/11/23/telephony_1795399200000_1795402800000_p00001_s1.json';
    server.putObject(bucket, foreign, '{"written":"by hand"}\n');
    server.clearRequests();
    expect((await sink.readPage(KEY))?.toString()).toBe(BODY);
    expect((await sink.readPage(foreign))?.toString()).toBe('{"written":"by hand"}\n');
    expect(server.requests().map((r) => `${r.method} ${r.query['alt'] ?? ''}`)).toEqual(['GET media', 'GET media']);
  });

  it('answers null for a missing object: the test server answers the download with 404, as GCS does', async () => {
    const bucket = newBucket();
    const storage = await client();
    const sink = createGcsSink({ storage, bucket });
    await expect(sink.readPage(KEY)).resolves.toBeNull();
    // What the client itself reports for that download, as GCS's answer produces it.
    const raw = await rejection(storage.bucket(bucket).file(KEY).download());
    expect(gcsStatus(raw)).toBe(404);
    expect(toStorageError(raw, { bucket, key: KEY, action: 'read' }).message).toContain(`No such object: ${bucket}/${KEY}`);
    expect(server.requests().filter((r) => r.query['alt'] === 'media')).toHaveLength(2);
  });

  it('reads GCS’s own plain-text 404 bodies: null for the object, STORAGE_NOT_FOUND for the bucket', async () => {
    const noObject = await startStubGcs(plainText(404, `No such object: b/${KEY}`));
    const noBucket = await startStubGcs(plainText(404, 'The specified bucket does not exist.'));
    try {
      const storageOf = (url: string): Storage => new Storage({ apiEndpoint: url, projectId: 'test', retryOptions: { autoRetry: false } });
      await expect(createGcsSink({ storage: storageOf(noObject.url), bucket: 'b' }).readPage(KEY)).resolves.toBeNull();
      expect(noObject.requests).toEqual([`GET /storage/v1/b/b/o/${encodeURIComponent(KEY)}?alt=media`]);
      const err = await rejection(createGcsSink({ storage: storageOf(noBucket.url), bucket: 'b' }).readPage(KEY));
      expect(err).toMatchObject({ code: 'STORAGE_NOT_FOUND', exitCode: 2 });
      expect((err as Error).message).toMatch(/^bucket b does not exist or is in another project/);
    } finally {
      await Promise.all([noObject.close(), noBucket.close()]);
    }
  });

  it('a missing bucket is STORAGE_NOT_FOUND naming the bucket, never null', async () => {
    const err = await rejection(createGcsSink({ storage: await client(), bucket: 'no-such-bucket' }).readPage(KEY));
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'STORAGE_NOT_FOUND', exitCode: 2, retryable: false });
    expect((err as Error).message).toMatch(/^bucket no-such-bucket does not exist or is in another project/);
    expect((err as Error).message).toContain(`to read gs://no-such-bucket/${KEY}`);
  });

  it('403 and 401: STORAGE_DENIED naming the object and what to check, as for writes', async () => {
    const bucket = newBucket();
    server.putObject(bucket, KEY, BODY);
    server.setFault({ kind: 'status', status: 403, times: Infinity, message: `test@test.iam.gserviceaccount.com does not have storage.objects.get access to the Google Cloud Storage object.` });
    const denied = await rejection(createGcsSink({ storage: await client(), bucket }).readPage(KEY));
    expect(denied).toMatchObject({ code: 'STORAGE_DENIED', exitCode: 2 });
    const message = (denied as Error).message;
    expect(message).toContain(`GCS denied permission to read gs://${bucket}/${KEY} (HTTP 403)`);
    expect(message).toContain('storage.objects.get access');
    expect(message).toContain('roles/storage.objectUser');
    server.setFault({ kind: 'status', status: 401, times: Infinity });
    const unauthenticated = await rejection(createGcsSink({ storage: await client(), bucket }).readPage(KEY));
    expect(unauthenticated).toMatchObject({ code: 'STORAGE_DENIED' });
    expect((unauthenticated as Error).message).toContain('Application Default Credentials');
  });

  it('reads through a transient 503 (the client retries a download itself)', async () => {
    const bucket = newBucket();
    server.putObject(bucket, KEY, BODY);
    server.setFault({ kind: 'status', status: 503, match: { method: 'GET' } });
    await expect(createGcsSink({ storage: fastClient(), bucket }).readPage(KEY)).resolves.toEqual(Buffer.from(BODY));
    expect(server.requests().filter((r) => r.query['alt'] === 'media')).toHaveLength(2);
  });

  it('503 after the client’s retries: STORAGE_UNAVAILABLE, retryable, exit code 4', async () => {
    const bucket = newBucket();
    server.putObject(bucket, KEY, BODY);
    server.setFault({ kind: 'status', status: 503, times: Infinity });
    const err = await rejection(createGcsSink({ storage: fastClient(1), bucket }).readPage(KEY));
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true, exitCode: 4 });
    expect((err as Error).message).toContain(`GCS is unavailable to read gs://${bucket}/${KEY} (HTTP 503)`);
    expect(server.requests().filter((r) => r.query['alt'] === 'media')).toHaveLength(2);
  });

  it('refuses bytes that do not match the CRC32C GCS sent with them (validation is on)', async () => {
    const stub = await startStubGcs((_req, res) => {
      const body = Buffer.from(BODY);
      res.writeHead(200, {
        'Content-Type': 'application/x-ndjson',
        'Content-Length': String(body.length),
        // The hashes of other bytes: a transfer corrupted on the way.
        'x-goog-hash': 'crc32c=AAAAAA==,md5=1B2M2Y8AsgTpgAmY7PhCfg==',
        'x-goog-stored-content-encoding': 'identity',
        'x-goog-generation': '1',
      });
      res.end(body);
    });
    try {
      const storage = new Storage({ apiEndpoint: stub.url, projectId: 'test', retryOptions: { autoRetry: false } });
      const err = await rejection(createGcsSink({ storage, bucket: 'b' }).readPage(KEY));
      expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
      expect((err as Error).message).toContain(`gs://b/${KEY}`);
    } finally {
      await stub.close();
    }
  });

  it('does not start a read once aborted, and abandons one under way when aborted', async () => {
    const bucket = newBucket();
    server.putObject(bucket, KEY, BODY);
    const controller = new AbortController();
    controller.abort();
    await expect(createGcsSink({ storage: await client(), bucket }).readPage(KEY, controller.signal)).rejects.toBeInstanceOf(AbortedError);
    expect(server.requests()).toHaveLength(0);

    // A server that never answers: the read ends when the signal fires, not when an answer comes.
    let arrived!: () => void;
    const requestSeen = new Promise<void>((resolve) => (arrived = resolve));
    const silent = await startStubGcs(() => arrived());
    try {
      const storage = new Storage({ apiEndpoint: silent.url, projectId: 'test', retryOptions: { autoRetry: false } });
      const during = new AbortController();
      const read = createGcsSink({ storage, bucket: 'b' }).readPage(KEY, during.signal);
      await requestSeen;
      during.abort();
      await expect(read).rejects.toBeInstanceOf(AbortedError);
    } finally {
      await silent.close();
    }
  });
});

describe('GCS checkpoint store', () => {
  const STATE = '_state/duo-telephony.json';
  const LEGACY = 'duo-telephony/state.json';
  const legacyState = Buffer.from('{"last_offset":null,"last_timestamp_ms":1795399200000}');

  it('carries on from the guide’s state.json: loads it with version null, the first save creates the new key, the legacy object stays', async () => {
    const bucket = newBucket();
    const legacy = server.putObject(bucket, LEGACY, legacyState, { contentType: 'application/json' });
    const store = createGcsCheckpointStore({ storage: await client(), bucket, key: STATE, legacyKey: LEGACY });
    expect(store.location).toBe(`gs://${bucket}/${STATE}`);
    const loaded = await store.load();
    expect(loaded).toEqual({ data: legacyState, version: null, location: `gs://${bucket}/${LEGACY}` });

    const next = Buffer.from('{"version":1,"source":"telephony","nextMintimeMs":1795399200000}\n');
    const version = await store.save(next, null);
    const after = await store.load();
    expect(after).toEqual({ data: next, version, location: `gs://${bucket}/${STATE}` });
    const objects = server.objects(bucket);
    expect(objects.map((o) => o.name).sort()).toEqual([STATE, LEGACY].sort());
    const kept = objects.find((o) => o.name === LEGACY);
    expect(kept?.generation).toBe(legacy.generation);
    expect(kept?.data.equals(legacyState)).toBe(true);
    expect(objects.find((o) => o.name === STATE)?.contentType).toBe('application/json');

    // A second run that still believes in the legacy data (version null) cannot overwrite the new key.
    await expect(store.save(next, null)).rejects.toBeInstanceOf(CheckpointConflictError);
  });

  it('prefers the new key over the legacy one, and returns null when neither exists', async () => {
    const bucket = newBucket();
    const store = createGcsCheckpointStore({ storage: await client(), bucket, key: STATE, legacyKey: LEGACY });
    await expect(store.load()).resolves.toBeNull();
    server.putObject(bucket, LEGACY, legacyState);
    const current = server.putObject(bucket, STATE, '{"version":1}');
    await expect(store.load()).resolves.toEqual({ data: Buffer.from('{"version":1}'), version: current.generation, location: `gs://${bucket}/${STATE}` });
  });

  it('loads bytes and generation from one response', async () => {
    const bucket = newBucket();
    const stored = server.putObject(bucket, STATE, '{"version":1}');
    const store = createGcsCheckpointStore({ storage: await client(), bucket, key: STATE });
    await expect(store.load()).resolves.toMatchObject({ version: stored.generation });
    expect(server.requests().map((r) => `${r.method} ${r.query['alt'] ?? ''}`)).toEqual(['GET media']);
  });

  it('lets exactly one of 4 concurrent compare-and-swap saves from 4 clients win', async () => {
    const bucket = newBucket();
    const first = createGcsCheckpointStore({ storage: await client(), bucket, key: STATE });
    const v1 = await first.save(Buffer.from('{"n":0}'), null);
    const stores = await Promise.all([1, 2, 3, 4].map(async () => createGcsCheckpointStore({ storage: await client(), bucket, key: STATE })));
    const settled = await Promise.allSettled(stores.map((s, i) => s.save(Buffer.from(`{"n":${i + 1}}`), v1)));
    const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of settled) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(CheckpointConflictError);
    const loaded = await first.load();
    expect(loaded?.data.toString()).toBe(`{"n":${(won[0] as number) + 1}}`);
  });

  it('names the checkpoint and the expected generation in a conflict', async () => {
    const bucket = newBucket();
    const store = createGcsCheckpointStore({ storage: await client(), bucket, key: STATE });
    const v1 = await store.save(Buffer.from('{}'), null);
    await store.save(Buffer.from('{"a":1}'), v1);
    const err = await rejection(store.save(Buffer.from('{"b":1}'), v1));
    expect(err).toBeInstanceOf(CheckpointConflictError);
    expect((err as Error).message).toContain(`gs://${bucket}/${STATE} changed since it was loaded (expected generation ${v1})`);
    expect((err as CheckpointConflictError).exitCode).toBe(0);
  });

  it('reports a save whose answer was lost and whose retry met its own write as a conflict; the next load sees that write', async () => {
    const bucket = newBucket();
    const store = createGcsCheckpointStore({ storage: fastClient(), bucket, key: STATE });
    const v1 = await store.save(Buffer.from('{"n":1}'), null);
    server.setFault({ kind: 'reset', after: true, match: { method: 'POST', path: '/upload/' } });
    await expect(store.save(Buffer.from('{"n":2}'), v1)).rejects.toBeInstanceOf(CheckpointConflictError);
    const loaded = await store.load();
    expect(loaded?.data.toString()).toBe('{"n":2}');
    expect(loaded?.version).not.toBe(v1);
  });
});

describe('failures become StorageErrors that say what to check', () => {
  it('a missing bucket: STORAGE_NOT_FOUND naming the bucket, for writes, loads and saves', async () => {
    const storage = await client();
    const sinkErr = await rejection(createGcsSink({ storage, bucket: 'no-such-bucket' }).writePage(page(KEY, BODY)));
    expect(sinkErr).toBeInstanceOf(StorageError);
    expect(sinkErr).toMatchObject({ code: 'STORAGE_NOT_FOUND', exitCode: 2, retryable: false });
    expect((sinkErr as Error).message).toMatch(/^bucket no-such-bucket does not exist or is in another project/);
    expect((sinkErr as Error).message).toContain(`gs://no-such-bucket/${KEY}`);

    const store = createGcsCheckpointStore({ storage, bucket: 'no-such-bucket', key: '_state/x.json', legacyKey: 'x/state.json' });
    // Not "no checkpoint yet": a first run must not start over because the bucket name is wrong.
    await expect(store.load()).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND', message: expect.stringContaining('bucket no-such-bucket does not exist') });
    await expect(store.save(Buffer.from('{}'), null)).rejects.toMatchObject({ code: 'STORAGE_NOT_FOUND' });
  });

  it('403: STORAGE_DENIED naming the object and the roles the service account needs', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'status', status: 403, times: Infinity });
    const err = await rejection(createGcsSink({ storage: await client(), bucket }).writePage(page(KEY, BODY)));
    expect(err).toMatchObject({ code: 'STORAGE_DENIED', exitCode: 2 });
    const message = (err as Error).message;
    expect(message).toContain(`gs://${bucket}/${KEY}`);
    expect(message).toContain('HTTP 403');
    expect(message).toContain('roles/storage.objectUser');
    expect(message).toContain('storage.objects.delete');
    expect(message).toContain('Storage Object User');
    const loadErr = await rejection(createGcsCheckpointStore({ storage: await client(), bucket, key: 'k.json' }).load());
    expect(loadErr).toMatchObject({ code: 'STORAGE_DENIED' });
  });

  it('401: STORAGE_DENIED pointing at Application Default Credentials', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'status', status: 401, times: Infinity });
    const err = await rejection(createGcsCheckpointStore({ storage: await client(), bucket, key: 'k.json' }).save(Buffer.from('{}'), null));
    expect(err).toMatchObject({ code: 'STORAGE_DENIED' });
    expect((err as Error).message).toContain('Application Default Credentials');
  });

  it('503 after the client’s retries: STORAGE_UNAVAILABLE, retryable, exit code 4', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'status', status: 503, times: Infinity });
    const err = await rejection(createGcsSink({ storage: fastClient(1), bucket }).writePage(page(KEY, BODY)));
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true, exitCode: 4 });
    expect((err as Error).message).toContain(`gs://${bucket}/${KEY}`);
    expect(server.requests().filter((r) => r.path.startsWith('/upload/'))).toHaveLength(2);
  });

  it('a refused connection: STORAGE_UNAVAILABLE', async () => {
    const closed = await startGcsTestServer();
    const url = closed.url;
    await closed.close();
    const storage = new Storage({ apiEndpoint: url, projectId: 'test', retryOptions: { autoRetry: false } });
    const err = await rejection(createGcsCheckpointStore({ storage, bucket: 'b', key: 'k.json' }).load());
    expect(err).toMatchObject({ code: 'STORAGE_UNAVAILABLE', retryable: true });
    expect((err as Error).message).toContain('network error');
  });

  it('reads the status from every error shape the client produces', () => {
    const body = '{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"reason":"conditionNotMet"}]}}';
    const shapes: unknown[] = [
      { code: 412, errors: [{ reason: 'conditionNotMet' }] }, // ApiError (JSON calls, simple upload)
      { status: 412, response: { status: 412 } }, // GaxiosError (resumable initiation)
      { code: 412, message: 'At least one…', errors: [{ reason: 'conditionNotMet' }] }, // bare object (resumable final chunk)
      { errors: [{ reason: 'conditionNotMet' }] },
      { code: 412, message: body }, // download: the body as message
      { message: body },
    ];
    for (const shape of shapes) {
      expect(gcsStatus(shape)).toBe(412);
      expect(isPreconditionFailed(shape)).toBe(true);
    }
    expect(isPreconditionFailed({ code: 404 })).toBe(false);
    expect(gcsStatus({ code: 'ECONNRESET' })).toBeUndefined();
  });

  it('never carries credentials into the message or the cause', () => {
    const leaky = Object.assign(new Error('Request failed with status code 403: Bearer ya29.secret-token'), {
      status: 403,
      response: { status: 403 },
      config: { headers: { Authorization: 'Bearer ya29.secret-token' }, url: 'https://storage.googleapis.com/upload?access_token=ya29.secret-token' },
    });
    const err = toStorageError(leaky, { bucket: 'b', key: 'k', action: 'write', writing: true });
    expect(err.code).toBe('STORAGE_DENIED');
    const everything = `${err.message} ${JSON.stringify(err.cause)} ${JSON.stringify(Object.entries(err.cause as object))} ${String((err.cause as Error).message)}`;
    expect(everything).not.toContain('ya29.secret-token');
    expect(err.cause).not.toHaveProperty('config');
  });
});

describe('createStorage', () => {
  it('authenticates to an https endpoint but not to a local http one', async () => {
    const local = (await createStorage({ apiEndpoint: server.url })) as unknown as { useAuthWithCustomEndpoint?: boolean; apiEndpoint: string };
    expect(local.apiEndpoint).toBe(server.url);
    expect(local.useAuthWithCustomEndpoint).toBe(false);
    const psc = (await createStorage({ apiEndpoint: 'https://storage-example.p.googleapis.com' })) as unknown as { useAuthWithCustomEndpoint?: boolean };
    expect(psc.useAuthWithCustomEndpoint).toBe(true);
  });

  // An endpoint that disagrees with STORAGE_EMULATOR_HOST is refused where settings are read (config.test.ts).
  it('works through STORAGE_EMULATOR_HOST alone, as a user of an emulator configures it', async () => {
    const saved = process.env['STORAGE_EMULATOR_HOST'];
    try {
      process.env['STORAGE_EMULATOR_HOST'] = server.url;
      const bucket = newBucket();
      // Through STORAGE_EMULATOR_HOST alone, as a user of an emulator would configure it.
      const storage = await createStorage({});
      const sink = createGcsSink({ storage, bucket });
      await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('created');
      await expect(sink.writePage(page(KEY, BODY))).resolves.toBe('exists');
      const store = createGcsCheckpointStore({ storage, bucket, key: 'k.json' });
      const version = await store.save(Buffer.from('{}'), null);
      await expect(store.load()).resolves.toMatchObject({ version });
      // JSON calls without /storage/v1, uploads with it.
      const paths = server.requests().map((r) => `${r.method} ${r.path}`);
      expect(paths).toContain(`GET /b/${bucket}/o/${encodeURIComponent(KEY)}`);
      expect(paths).toContain(`GET /b/${bucket}/o/k.json`);
      expect(paths).toContain(`POST /upload/storage/v1/b/${bucket}/o`);
      expect(server.objects(bucket).map((o) => o.name)).toEqual([KEY, 'k.json']);
    } finally {
      if (saved === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
      else process.env['STORAGE_EMULATOR_HOST'] = saved;
    }
  });
});
