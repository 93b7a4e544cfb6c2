/**
 * The GCS test server, driven by the official `@google-cloud/storage` client: if these pass, the
 * drivers' tests on it say something about real GCS. Each behaviour the drivers rely on (preconditions,
 * generations, checksums, error shapes per call path) is pinned here.
 */
import { createHash } from 'node:crypto';
import { Storage, CRC32C } from '@google-cloud/storage';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIsolatedGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';

const PRECONDITION_BODY =
  '{"error":{"code":412,"message":"At least one of the pre-conditions you specified did not hold.","errors":[{"domain":"global","reason":"conditionNotMet","message":"At least one of the pre-conditions you specified did not hold.","locationType":"header","location":"If-Match"}]}}';

let server: GcsTestServer;
let storage: Storage;
let bucketSeq = 0;

/** Client retries after 1 s (its floor: the upload retry waits at least that), not 1, 2, 4 … 64 s. */
const fastRetries = { maxRetryDelay: 1, retryDelayMultiplier: 1 };

function newBucket(): string {
  bucketSeq += 1;
  const name = `srv-${bucketSeq}`;
  server.createBucket(name);
  return name;
}

function md5(data: Buffer | string): string {
  return createHash('md5').update(data).digest('base64');
}

/** What the test needs of an error, whatever shape the client gave it. */
function errorFields(err: unknown): { code: unknown; status: unknown; responseStatus: unknown; reason: unknown; message: string } {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: unknown }; errors?: Array<{ reason?: unknown }>; message?: unknown };
  return { code: e.code, status: e.status, responseStatus: e.response?.status, reason: e.errors?.[0]?.reason, message: String(e.message) };
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  server = await startIsolatedGcsTestServer();
  storage = new Storage({ apiEndpoint: server.url, projectId: 'test', retryOptions: fastRetries });
});

afterAll(async () => {
  await server.close();
});

afterEach(() => {
  server.setFault(null);
  server.clearRequests();
});

describe('uploads and downloads', () => {
  it.each([false, true])('round-trips bytes, content type and custom metadata (resumable: %s)', async (resumable) => {
    const bucket = newBucket();
    const body = Buffer.from('{"a":1}\n{"b":"ünï"}\n', 'utf8');
    const file = storage.bucket(bucket).file('dir/x.json');
    await file.save(body, { resumable, contentType: 'application/x-ndjson', metadata: { metadata: { itemCount: '2', sha256: 'abc' } } });
    // The wire has a string; the client turns it into a number after a resumable upload only.
    expect(Number(file.metadata.size)).toBe(body.length);
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({
      kind: 'storage#object',
      name: 'dir/x.json',
      bucket,
      id: `${bucket}/dir/x.json/${meta.generation}`,
      size: String(body.length),
      contentType: 'application/x-ndjson',
      metadata: { itemCount: '2', sha256: 'abc' },
      metageneration: '1',
      md5Hash: md5(body),
    });
    expect(meta.generation).toMatch(/^\d{16}$/);
    expect(meta.selfLink).toContain(`/storage/v1/b/${bucket}/o/dir%2Fx.json`);
    expect(meta.mediaLink).toContain('alt=media');
    expect(Date.parse(meta.timeCreated as string)).not.toBeNaN();
    expect(meta.updated).toBe(meta.timeCreated);
    const [downloaded] = await file.download();
    expect(Buffer.compare(downloaded, body)).toBe(0);
    const stored = server.objects(bucket);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ name: 'dir/x.json', size: body.length, contentType: 'application/x-ndjson', metadata: { itemCount: '2', sha256: 'abc' } });
    expect(server.requests().some((r) => r.query['uploadType'] === (resumable ? 'resumable' : 'multipart'))).toBe(true);
  });

  it('sends a simple upload as one multipart request carrying the precondition', async () => {
    const bucket = newBucket();
    await storage.bucket(bucket).file('p.json').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const uploads = server.requests().filter((r) => r.path.startsWith('/upload/'));
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ method: 'POST', path: `/upload/storage/v1/b/${bucket}/o`, query: { uploadType: 'multipart', name: 'p.json', ifGenerationMatch: '0' } });
    expect(String(uploads[0]?.headers['content-type'])).toMatch(/^multipart\/related; boundary=/);
  });

  it('returns correct crc32c and md5Hash, so validation with either passes on upload and download', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('v.txt');
    // A published CRC-32C check value: "123456789" → 0xE3069283.
    await file.save('123456789', { resumable: false, validation: 'md5' });
    expect(file.metadata.crc32c).toBe(Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
    expect(file.metadata.md5Hash).toBe(md5('123456789'));
    await file.save('123456789', { resumable: true, validation: 'crc32c' });
    const big = Buffer.alloc(300_000, 'z');
    const crc = new CRC32C();
    crc.update(big);
    await file.save(big, { resumable: false, validation: 'crc32c' });
    expect(file.metadata.crc32c).toBe(crc.toString());
    for (const validation of ['crc32c', 'md5'] as const) {
      const [downloaded] = await file.download({ validation });
      expect(Buffer.compare(downloaded, big)).toBe(0);
    }
    expect(server.objects(bucket).map((o) => o.name)).toEqual(['v.txt']);
  });

  it('serves Range requests', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('r.txt');
    await file.save('0123456789', { resumable: false });
    const [part] = await file.download({ start: 2, end: 5 });
    expect(part.toString()).toBe('2345');
    expect(server.requests().at(-1)?.headers['range']).toBe('bytes=2-5');
  });

  it('uploads in 256 KiB chunks, answering 308 with Range until the total arrives', async () => {
    const bucket = newBucket();
    const body = Buffer.alloc(600 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) % 251;
    const file = storage.bucket(bucket).file('chunked.bin');
    await file.save(body, { resumable: true, chunkSize: 256 * 1024 });
    const puts = server.requests().filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.headers['content-range'])).toEqual(['bytes 0-262143/*', 'bytes 262144-524287/*', `bytes 524288-614399/${body.length}`]);
    const [downloaded] = await file.download();
    expect(Buffer.compare(downloaded, body)).toBe(0);
  });

  it('answers with the download headers the client validates and the drivers read', async () => {
    const bucket = newBucket();
    const stored = server.putObject(bucket, 'h.json', '{"x":1}', { contentType: 'application/json' });
    const res = await fetch(`${server.url}/storage/v1/b/${bucket}/o/h.json?alt=media`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-goog-generation')).toBe(stored.generation);
    expect(res.headers.get('x-goog-metageneration')).toBe('1');
    expect(res.headers.get('x-goog-hash')).toBe(`crc32c=${(() => {
      const c = new CRC32C();
      c.update(Buffer.from('{"x":1}'));
      return c.toString();
    })()},md5=${md5('{"x":1}')}`);
    expect(res.headers.get('x-goog-stored-content-encoding')).toBe('identity');
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.text()).toBe('{"x":1}');
  });
});

describe('preconditions and generations', () => {
  it('refuses a second create with ifGenerationMatch 0: simple upload → ApiError code 412', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('once.json');
    await file.save('first', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const err = await caught(storage.bucket(bucket).file('once.json').save('second', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(errorFields(err)).toMatchObject({ code: 412, reason: 'conditionNotMet', message: 'At least one of the pre-conditions you specified did not hold.' });
    expect(server.objects(bucket)[0]?.data.toString()).toBe('first');
  });

  it('refuses a second create with ifGenerationMatch 0: resumable → no numeric code, status 412', async () => {
    const bucket = newBucket();
    await storage.bucket(bucket).file('once.json').save('first', { resumable: false });
    const err = await caught(storage.bucket(bucket).file('once.json').save('second', { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } }));
    const f = errorFields(err);
    expect(f.code).toBeUndefined();
    expect(f.status).toBe(412);
    expect(f.responseStatus).toBe(412);
    expect(server.objects(bucket)[0]?.data.toString()).toBe('first');
  });

  it('checks a resumable upload’s precondition again when it is finalised', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('late.json');
    const [uri] = await file.createResumableUpload({ preconditionOpts: { ifGenerationMatch: 0 } });
    // Someone else creates the object after the session was opened.
    server.putObject(bucket, 'late.json', 'theirs');
    const err = await caught(
      new Promise<void>((resolve, reject) => {
        file.createWriteStream({ uri, resumable: true }).on('error', reject).on('finish', resolve).end('mine');
      }),
    );
    // The final PUT's 412 surfaces as the bare JSON error: `code` 412, no `status`.
    expect(errorFields(err)).toMatchObject({ code: 412, reason: 'conditionNotMet' });
    expect(server.objects(bucket)[0]?.data.toString()).toBe('theirs');
  });

  it('gives every write a new, larger generation and honours ifGenerationMatch as compare-and-swap', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('cas.json');
    await file.save('v1', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    const g1 = String(file.metadata.generation);
    await file.save('v2', { resumable: false, preconditionOpts: { ifGenerationMatch: g1 } });
    const g2 = String(file.metadata.generation);
    expect(BigInt(g2) > BigInt(g1)).toBe(true);
    const err = await caught(file.save('v3', { resumable: false, preconditionOpts: { ifGenerationMatch: g1 } }));
    expect(errorFields(err).code).toBe(412);
    const [meta] = await file.getMetadata();
    expect(String(meta.generation)).toBe(g2);
    expect((await file.download())[0].toString()).toBe('v2');
  });

  it('lets exactly one of many concurrent creates win', async () => {
    const bucket = newBucket();
    const clients = Array.from({ length: 8 }, () => new Storage({ apiEndpoint: server.url, projectId: 'test' }));
    const settled = await Promise.allSettled(
      clients.map((c, i) => c.bucket(bucket).file('race.json').save(`writer ${i}`, { resumable: i % 2 === 0, preconditionOpts: { ifGenerationMatch: 0 } })),
    );
    expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const objects = server.objects(bucket);
    expect(objects).toHaveLength(1);
    const winner = settled.findIndex((r) => r.status === 'fulfilled');
    expect(objects[0]?.data.toString()).toBe(`writer ${winner}`);
  });

  it('answers GCS’s exact 412 body on the wire', async () => {
    const bucket = newBucket();
    server.putObject(bucket, 'w.json', 'x');
    const res = await fetch(`${server.url}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=w.json&ifGenerationMatch=0`, { method: 'POST', body: 'y' });
    expect(res.status).toBe(412);
    expect(await res.text()).toBe(PRECONDITION_BODY);
  });

  it('patches metadata with metagenerations and ifMetagenerationMatch', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('m.json');
    await file.save('{}', { resumable: false, contentType: 'application/json', metadata: { metadata: { a: '1', b: '2' } } });
    const generation = String(file.metadata.generation);
    const [patched] = await file.setMetadata({ metadata: { a: null, c: '3' } }, { ifMetagenerationMatch: 1 });
    expect(patched).toMatchObject({ metageneration: '2', generation, metadata: { b: '2', c: '3' }, contentType: 'application/json' });
    expect(patched.metadata).not.toHaveProperty('a');
    const err = await caught(file.setMetadata({ metadata: { d: '4' } }, { ifMetagenerationMatch: 1 }));
    expect(errorFields(err).code).toBe(412);
    await file.setMetadata({ contentType: 'text/plain' }, { ifGenerationMatch: generation });
    const [meta] = await file.getMetadata();
    expect(meta).toMatchObject({ contentType: 'text/plain', metageneration: '3', generation });
  });

  it('deletes only when the precondition holds', async () => {
    const bucket = newBucket();
    const file = storage.bucket(bucket).file('d.json');
    await file.save('x', { resumable: false });
    const generation = String(file.metadata.generation);
    expect(errorFields(await caught(file.delete({ ifGenerationMatch: Number(generation) + 1 }))).code).toBe(412);
    expect(server.objects(bucket)).toHaveLength(1);
    await file.delete({ ifGenerationMatch: generation });
    expect(server.objects(bucket)).toHaveLength(0);
    expect(errorFields(await caught(file.delete())).code).toBe(404);
  });

  it('reads a given generation only while it is the live one', async () => {
    const bucket = newBucket();
    const first = server.putObject(bucket, 'g.json', 'one');
    await expect(storage.bucket(bucket).file('g.json', { generation: first.generation }).download()).resolves.toEqual([Buffer.from('one')]);
    server.putObject(bucket, 'g.json', 'two');
    expect(errorFields(await caught(storage.bucket(bucket).file('g.json', { generation: first.generation }).download())).code).toBe(404);
  });
});

describe('listing', () => {
  it('lists more than 1000 objects under a prefix across pages', async () => {
    const bucket = newBucket();
    for (let i = 0; i < 1100; i++) server.putObject(bucket, `many/${String(i).padStart(4, '0')}.json`, `${i}`);
    server.putObject(bucket, 'other/x.json', 'x');
    server.putObject(bucket, 'many', 'not under the prefix many/');
    const [files] = await storage.bucket(bucket).getFiles({ prefix: 'many/' });
    expect(files).toHaveLength(1100);
    expect(files[0]?.name).toBe('many/0000.json');
    expect(files.at(-1)?.name).toBe('many/1099.json');
    const lists = server.requests().filter((r) => r.method === 'GET' && r.path.endsWith('/o'));
    expect(lists).toHaveLength(2);
    expect(lists[1]?.query['pageToken']).toBeTruthy();
  });

  it('pages with maxResults and collapses names into prefixes with a delimiter', async () => {
    const bucket = newBucket();
    for (const n of ['p/2026/01/a.json', 'p/2026/01/b.json', 'p/2026/02/c.json', 'p/top1.json', 'p/top2.json', 'p/2027/x.json', 'q/z.json']) server.putObject(bucket, n, n);
    const seenFiles: string[] = [];
    const seenPrefixes: string[] = [];
    let query: Record<string, unknown> | null = { prefix: 'p/', delimiter: '/', maxResults: 2, autoPaginate: false };
    let pages = 0;
    while (query) {
      const [files, next, raw] = (await storage.bucket(bucket).getFiles(query)) as unknown as [Array<{ name: string }>, Record<string, unknown> | null, { prefixes?: string[] }];
      seenFiles.push(...files.map((f) => f.name));
      seenPrefixes.push(...(raw.prefixes ?? []));
      expect(files.length + (raw.prefixes?.length ?? 0)).toBeLessThanOrEqual(2);
      query = next;
      pages += 1;
    }
    expect(pages).toBe(2);
    expect(seenPrefixes).toEqual(['p/2026/', 'p/2027/']);
    expect(seenFiles).toEqual(['p/top1.json', 'p/top2.json']);
    const [all] = await storage.bucket(bucket).getFiles({ prefix: 'p/2026/', maxResults: 100 });
    expect(all.map((f) => f.name)).toEqual(['p/2026/01/a.json', 'p/2026/01/b.json', 'p/2026/02/c.json']);
  });
});

describe('buckets, missing things and endpoint forms', () => {
  it('creates, gets and lists buckets; a second create is a 409', async () => {
    const [created] = await storage.createBucket('made-by-client');
    expect(created.name).toBe('made-by-client');
    const [exists] = await storage.bucket('made-by-client').exists();
    expect(exists).toBe(true);
    const [buckets] = await storage.getBuckets();
    expect(buckets.map((b) => b.name)).toContain('made-by-client');
    expect(errorFields(await caught(storage.createBucket('made-by-client'))).code).toBe(409);
    expect((await storage.bucket('never-made').exists())[0]).toBe(false);
  });

  it('answers 404 with GCS’s bodies for a missing bucket and a missing object', async () => {
    const bucket = newBucket();
    const noBucket = errorFields(await caught(storage.bucket('no-such-bucket').file('x').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } })));
    expect(noBucket).toMatchObject({ code: 404, reason: 'notFound', message: 'The specified bucket does not exist.' });
    const noObject = errorFields(await caught(storage.bucket(bucket).file('missing.json').getMetadata()));
    expect(noObject).toMatchObject({ code: 404, reason: 'notFound', message: `No such object: ${bucket}/missing.json` });
    // A download puts the raw JSON body in `message`.
    const download = errorFields(await caught(storage.bucket(bucket).file('missing.json').download()));
    expect(download.code).toBe(404);
    expect(JSON.parse(download.message)).toMatchObject({ error: { code: 404, message: `No such object: ${bucket}/missing.json` } });
  });

  it('serves STORAGE_EMULATOR_HOST clients, whose JSON calls have no /storage/v1', async () => {
    const bucket = newBucket();
    const saved = process.env['STORAGE_EMULATOR_HOST'];
    process.env['STORAGE_EMULATOR_HOST'] = server.url;
    let emulated: Storage;
    try {
      emulated = new Storage({ projectId: 'test' });
    } finally {
      if (saved === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
      else process.env['STORAGE_EMULATOR_HOST'] = saved;
    }
    const file = emulated.bucket(bucket).file('e/m.json');
    await file.save('emulated', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    await file.save('emulated 2', { resumable: true, preconditionOpts: { ifGenerationMatch: String(file.metadata.generation) } });
    expect((await file.download())[0].toString()).toBe('emulated 2');
    const [files] = await emulated.bucket(bucket).getFiles({ prefix: 'e/' });
    expect(files.map((f) => f.name)).toEqual(['e/m.json']);
    const paths = server.requests().map((r) => `${r.method} ${r.path}`);
    expect(paths).toContain(`GET /b/${bucket}/o/e%2Fm.json`);
    expect(paths).toContain(`GET /b/${bucket}/o`);
    expect(paths).toContain(`POST /upload/storage/v1/b/${bucket}/o`);
    expect(paths.some((p) => p.includes('/storage/v1/b/') && !p.includes('/upload/'))).toBe(false);
  });
});

describe('fault injection', () => {
  // A Storage instance per test: see the last test for why a shared one can lose its retries.
  const fresh = (): Storage => new Storage({ apiEndpoint: server.url, projectId: 'test', retryOptions: fastRetries });

  it('a 503 on a conditional create is retried by the client and succeeds', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'status', status: 503, match: { method: 'POST', path: '/upload/' } });
    await fresh().bucket(bucket).file('f.json').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(server.requests().filter((r) => r.path.startsWith('/upload/'))).toHaveLength(2);
    expect(server.objects(bucket)).toHaveLength(1);
  });

  it('a lost answer to a create that landed makes the client’s own retry fail with 412', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'reset', after: true, match: { method: 'POST', path: '/upload/' } });
    const err = await caught(fresh().bucket(bucket).file('lost.json').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(errorFields(err).code).toBe(412);
    expect(server.objects(bucket).map((o) => o.data.toString())).toEqual(['x']);
  });

  it('a dropped connection before the write leaves nothing behind and the retry creates the object', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'reset', match: { method: 'POST', path: '/upload/' } });
    await fresh().bucket(bucket).file('r.json').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(server.requests().filter((r) => r.path.startsWith('/upload/'))).toHaveLength(2);
    expect(server.objects(bucket)).toHaveLength(1);
  });

  it('a resumable upload recovers from a 503 on its data request', async () => {
    const bucket = newBucket();
    server.setFault({ kind: 'status', status: 503, match: { method: 'PUT' } });
    const file = fresh().bucket(bucket).file('res.json');
    await file.save(Buffer.alloc(1000, 1), { resumable: true, preconditionOpts: { ifGenerationMatch: 0 } });
    expect(server.objects(bucket)[0]?.size).toBe(1000);
    // The data PUT, a status check (`bytes */*`), then the data again.
    expect(server.requests().filter((r) => r.method === 'PUT').map((r) => r.headers['content-range'])).toEqual(['bytes 0-*/*', 'bytes */*', 'bytes 0-*/*']);
  });

  it('client quirk: one unconditional simple save turns retries off for the whole Storage instance', async () => {
    const bucket = newBucket();
    const shared = fresh();
    // save() without a generation precondition sets storage.retryOptions.autoRetry = false and, on the
    // simple-upload path, never restores it. The drivers always send a precondition and own their instance.
    await shared.bucket(bucket).file('unconditional.json').save('x', { resumable: false });
    expect(shared.retryOptions.autoRetry).toBe(false);
    server.setFault({ kind: 'status', status: 503, match: { method: 'POST', path: '/upload/' } });
    const err = await caught(shared.bucket(bucket).file('then.json').save('x', { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }));
    expect(errorFields(err).code).toBe(503);
  });
});
