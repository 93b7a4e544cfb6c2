/**
 * An in-memory Google Cloud Storage JSON API server for tests, spoken to by the official
 * `@google-cloud/storage` 7.x client (`apiEndpoint: url` or `STORAGE_EMULATOR_HOST=url`).
 *
 * Why hand-written: exactly-once collection rests on generation preconditions (`ifGenerationMatch: 0`
 * for pages, compare-and-swap on the checkpoint), and no emulator that can be installed here honours
 * them: the Firebase Storage emulator needs Java 21 and ignores `ifGenerationMatch`, gcloud has no
 * storage emulator, and fake-gcs-server or the Python emulators cannot be installed. So this server
 * implements the part of the JSON API the client uses, with GCS's semantics and answers:
 *
 * - buckets insert/get/list/delete; objects get (metadata or `alt=media` with `Range`), patch/update,
 *   delete, list (`prefix`, `delimiter`, `maxResults` ≤ 1000, `pageToken`, `startOffset`, `endOffset`);
 * - uploads at `/upload/storage/v1/b/{b}/o`: `media`, `multipart` (`multipart/related`), `resumable`
 *   (initiate → `Location`; `PUT` chunks with `Content-Range`; 308 + `Range` until the total is reached;
 *   `bytes 0-*\/*` is final; `bytes *\/*` asks the status);
 * - monotonic generations (a new one on every write), metagenerations (bumped by patch);
 * - `ifGenerationMatch` (0 = must not exist), `ifGenerationNotMatch`, `ifMetagenerationMatch`,
 *   `ifMetagenerationNotMatch` on uploads, reads, patch and delete, with GCS's exact 412 body. A request
 *   is read in full first; its check-and-set then runs in one synchronous step, so concurrent requests
 *   see the preconditions atomically;
 * - `crc32c` and `md5Hash` in every object resource and in `x-goog-hash` (the client validates them
 *   and deletes the object when they are wrong or missing);
 * - JSON calls under `/storage/v1/b/...` (apiEndpoint) and `/b/...` (STORAGE_EMULATOR_HOST);
 * - fault injection (an HTTP status, a dropped connection before or after the write, a delay) and a
 *   log of the requests received, so tests can see exactly what the client sent.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { CRC32C } from '@google-cloud/storage';

export interface GcsObjectSnapshot {
  name: string;
  generation: string;
  metageneration: string;
  size: number;
  contentType: string;
  metadata: Record<string, string>;
  data: Buffer;
}

export interface GcsFaultMatch {
  /** HTTP method, e.g. `POST`. */
  method?: string;
  /** Tested against the path and query string (`/upload/storage/v1/b/x/o?uploadType=multipart&…`). */
  path?: string | RegExp;
}

export type GcsFault =
  /** Answer with this status and a GCS-shaped error body, without touching any state. */
  | { kind: 'status'; status: number; times?: number; match?: GcsFaultMatch; message?: string; reason?: string }
  /**
   * Drop the connection without an answer. `after: true` first carries the request out (an upload is
   * stored), then drops the answer: the client sees a network error for a write that succeeded.
   */
  | { kind: 'reset'; times?: number; match?: GcsFaultMatch; after?: boolean }
  /** Wait before handling the request. */
  | { kind: 'delay'; ms: number; times?: number; match?: GcsFaultMatch };

export interface RecordedRequest {
  method: string;
  /** Path as received, still percent-encoded. */
  path: string;
  query: Record<string, string>;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
}

export interface GcsTestServerOptions {
  port?: number;
  /** Faults active from the start (see `setFault`). */
  faults?: GcsFault[];
}

export interface GcsTestServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  close(): Promise<void>;
  createBucket(name: string): void;
  /** Objects of a bucket, sorted by name (empty when the bucket does not exist). */
  objects(bucket: string): GcsObjectSnapshot[];
  /** Store an object directly (fast seeding for tests); returns it as stored. */
  putObject(bucket: string, name: string, data: Buffer | string, opts?: { contentType?: string; metadata?: Record<string, string> }): GcsObjectSnapshot;
  /**
   * Replace the active faults (`null` or nothing clears them). Each fault applies to the next
   * `times` matching requests (default 1; `Infinity` for all).
   */
  setFault(...faults: Array<GcsFault | null>): void;
  /** Requests received so far, oldest first. */
  requests(): RecordedRequest[];
  clearRequests(): void;
}

interface StoredObject {
  name: string;
  generation: number;
  metageneration: number;
  data: Buffer;
  contentType: string;
  contentEncoding: string | undefined;
  cacheControl: string | undefined;
  contentDisposition: string | undefined;
  contentLanguage: string | undefined;
  customTime: string | undefined;
  metadata: Record<string, string> | undefined;
  crc32c: string;
  md5Hash: string;
  timeCreated: string;
  updated: string;
}

interface StoredBucket {
  name: string;
  timeCreated: string;
  objects: Map<string, StoredObject>;
}

interface ResumableSession {
  bucket: string;
  name: string;
  resource: ObjectResourceInput;
  preconditions: Preconditions;
  expectedSize: number | undefined;
  chunks: Buffer[];
  received: number;
  /** The object resource once finalised: later status checks answer it again. */
  finalResource: Record<string, unknown> | undefined;
}

/** Writable object fields as the client sends them in JSON metadata. */
interface ObjectResourceInput {
  contentType?: string;
  contentEncoding?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  customTime?: string;
  metadata?: Record<string, string>;
  crc32c?: string;
  md5Hash?: string;
}

interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
  ifMetagenerationNotMatch?: number;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | Record<string, unknown>;
}

const PRECONDITION_MESSAGE = 'At least one of the pre-conditions you specified did not hold.';
const RESUMABLE_CHUNK_MULTIPLE = 256 * 1024;
const MAX_LIST_RESULTS = 1000;

class HttpError extends Error {
  constructor(
    readonly reply: Reply,
  ) {
    super(`HTTP ${reply.status}`);
  }
}

/** GCS's JSON error body: `{"error":{"code","message","errors":[{message,domain,reason}]}}`. */
function errorReply(code: number, message: string, reason: string): Reply {
  return { status: code, body: { error: { code, message, errors: [{ message, domain: 'global', reason }] } } };
}

function fail(code: number, message: string, reason: string): never {
  throw new HttpError(errorReply(code, message, reason));
}

function preconditionFailed(): never {
  throw new HttpError({
    status: 412,
    body: {
      error: {
        code: 412,
        message: PRECONDITION_MESSAGE,
        errors: [{ domain: 'global', reason: 'conditionNotMet', message: PRECONDITION_MESSAGE, locationType: 'header', location: 'If-Match' }],
      },
    },
  });
}

const DEFAULT_FAULT_TEXT: Record<number, [string, string]> = {
  400: ['Invalid argument.', 'invalid'],
  401: ['Anonymous caller does not have storage.objects.get access to the Google Cloud Storage object.', 'required'],
  403: [
    "test@test.iam.gserviceaccount.com does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).",
    'forbidden',
  ],
  404: ['Not Found', 'notFound'],
  408: ['Request Timeout', 'requestTimeout'],
  429: ['The rate of change requests to the object is too high. Please slow down.', 'rateLimitExceeded'],
  500: ['Internal Error', 'internalError'],
  502: ['Bad Gateway', 'badGateway'],
  503: ['Backend Error', 'backendError'],
  504: ['Gateway Timeout', 'gatewayTimeout'],
};

function bucketNotFound(): never {
  fail(404, 'The specified bucket does not exist.', 'notFound');
}

function objectNotFound(bucket: string, name: string): never {
  fail(404, `No such object: ${bucket}/${name}`, 'notFound');
}

function crc32cOf(data: Buffer): string {
  const crc = new CRC32C();
  crc.update(data);
  return crc.toString();
}

function md5Of(data: Buffer): string {
  return createHash('md5').update(data).digest('base64');
}

/** GCS orders names by their UTF-8 bytes. */
function compareNames(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function parseIntParam(query: URLSearchParams, key: string): number | undefined {
  const raw = query.get(key);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d+$/.test(raw)) fail(400, `Invalid argument: ${key}=${raw}`, 'invalid');
  return Number(raw);
}

function parsePreconditions(query: URLSearchParams): Preconditions {
  const p: Preconditions = {};
  const keys = ['ifGenerationMatch', 'ifGenerationNotMatch', 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'] as const;
  for (const key of keys) {
    const v = parseIntParam(query, key);
    if (v !== undefined) p[key] = v;
  }
  return p;
}

/**
 * Whether the `…Match` and the `…NotMatch` preconditions hold against the live object. Generation 0
 * stands for "no live object", as in GCS.
 */
function evaluatePreconditions(obj: StoredObject | undefined, p: Preconditions): { match: boolean; notMatch: boolean } {
  const generation = obj?.generation ?? 0;
  let match = true;
  let notMatch = true;
  if (p.ifGenerationMatch !== undefined && generation !== p.ifGenerationMatch) match = false;
  if (p.ifMetagenerationMatch !== undefined && (obj === undefined || obj.metageneration !== p.ifMetagenerationMatch)) match = false;
  if (p.ifGenerationNotMatch !== undefined && generation === p.ifGenerationNotMatch) notMatch = false;
  if (p.ifMetagenerationNotMatch !== undefined && obj !== undefined && obj.metageneration === p.ifMetagenerationNotMatch) notMatch = false;
  return { match, notMatch };
}

/** Writes and deletes: any failed precondition is a 412. */
function requirePreconditions(obj: StoredObject | undefined, p: Preconditions): void {
  const { match, notMatch } = evaluatePreconditions(obj, p);
  if (!match || !notMatch) preconditionFailed();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJsonBody(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    fail(400, 'Parse Error', 'parseError');
  }
  if (!isRecord(parsed)) fail(400, 'Invalid JSON payload: expected an object.', 'invalid');
  return parsed;
}

function optionalString(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') fail(400, `Invalid value for ${field}.`, 'invalid');
  return v;
}

/** Custom metadata values are strings in GCS; scalars are accepted and stored as text. */
function customMetadata(v: unknown): Record<string, string> | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isRecord(v)) fail(400, 'Invalid value for metadata.', 'invalid');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val === null || val === undefined) continue;
    if (typeof val === 'object') fail(400, `Invalid value for metadata.${k}.`, 'invalid');
    out[k] = String(val);
  }
  return out;
}

function resourceInput(json: Record<string, unknown>): ObjectResourceInput {
  const input: ObjectResourceInput = {};
  const strings = ['contentType', 'contentEncoding', 'cacheControl', 'contentDisposition', 'contentLanguage', 'customTime', 'crc32c', 'md5Hash'] as const;
  for (const key of strings) {
    const v = optionalString(json[key], key);
    if (v !== undefined) input[key] = v;
  }
  const metadata = customMetadata(json['metadata']);
  if (metadata !== undefined) input.metadata = metadata;
  return input;
}

/** Splits a `multipart/related` body (RFC 2046) into parts with lower-cased headers. */
function parseMultipart(body: Buffer, contentType: string): Array<{ headers: Record<string, string>; body: Buffer }> {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary) fail(400, 'Missing multipart boundary.', 'invalid');
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Array<{ headers: Record<string, string>; body: Buffer }> = [];
  let pos = body.indexOf(delimiter);
  if (pos < 0) fail(400, 'Malformed multipart body.', 'invalid');
  for (;;) {
    let start = pos + delimiter.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    if (body.subarray(start, start + 2).toString() === '\r\n') start += 2;
    const next = body.indexOf(Buffer.from(`\r\n--${boundary}`), start);
    if (next < 0) fail(400, 'Malformed multipart body: no closing boundary.', 'invalid');
    const part = body.subarray(start, next);
    const headerEnd = part.indexOf('\r\n\r\n');
    const headerText = headerEnd < 0 ? '' : part.subarray(0, headerEnd).toString('utf8');
    const headers: Record<string, string> = {};
    for (const line of headerText.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: headerEnd < 0 ? part : part.subarray(headerEnd + 4) });
    pos = next + 2;
  }
  return parts;
}

/** Parses `X-Goog-Hash: crc32c=…,md5=…`. */
function parseGoogHash(header: string | string[] | undefined): { crc32c?: string; md5?: string } {
  const out: { crc32c?: string; md5?: string } = {};
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const pair of value.split(',')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const k = pair.slice(0, eq).trim().toLowerCase();
      const v = pair.slice(eq + 1).trim();
      if (k === 'crc32c') out.crc32c = v;
      if (k === 'md5') out.md5 = v;
    }
  }
  return out;
}

function verifyChecksums(data: Buffer, expected: { crc32c?: string | undefined; md5?: string | undefined }): void {
  if (expected.crc32c !== undefined) {
    const actual = crc32cOf(data);
    if (actual !== expected.crc32c) fail(400, `Provided CRC32C "${expected.crc32c}" doesn't match calculated CRC32C "${actual}".`, 'invalid');
  }
  if (expected.md5 !== undefined) {
    const actual = md5Of(data);
    if (actual !== expected.md5) fail(400, `Provided MD5 hash "${expected.md5}" doesn't match calculated MD5 hash "${actual}".`, 'invalid');
  }
}

function snapshot(o: StoredObject): GcsObjectSnapshot {
  return {
    name: o.name,
    generation: String(o.generation),
    metageneration: String(o.metageneration),
    size: o.data.length,
    contentType: o.contentType,
    metadata: { ...(o.metadata ?? {}) },
    data: Buffer.from(o.data),
  };
}

function faultMatches(fault: GcsFault, method: string, pathAndQuery: string): boolean {
  const match = fault.match;
  if (!match) return true;
  if (match.method !== undefined && match.method.toUpperCase() !== method) return false;
  if (match.path !== undefined) {
    if (typeof match.path === 'string' ? !pathAndQuery.includes(match.path) : !match.path.test(pathAndQuery)) return false;
  }
  return true;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function headerValue(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export async function startGcsTestServer(opts: GcsTestServerOptions = {}): Promise<GcsTestServer> {
  const buckets = new Map<string, StoredBucket>();
  const sessions = new Map<string, ResumableSession>();
  const log: RecordedRequest[] = [];
  let faults: Array<{ fault: GcsFault; left: number }> = [];
  let lastGeneration = 0;

  /** Monotonic, microsecond-like like GCS's, and new on every write. */
  const nextGeneration = (): number => {
    lastGeneration = Math.max(lastGeneration + 1, Date.now() * 1000);
    return lastGeneration;
  };

  const setFaults = (list: Array<GcsFault | null>): void => {
    faults = list.filter((f): f is GcsFault => f !== null).map((fault) => ({ fault, left: fault.times ?? 1 }));
  };
  setFaults(opts.faults ?? []);

  const takeFault = (method: string, pathAndQuery: string): GcsFault | undefined => {
    const active = faults.find((f) => f.left > 0 && faultMatches(f.fault, method, pathAndQuery));
    if (!active) return undefined;
    active.left -= 1;
    return active.fault;
  };

  const getBucket = (name: string): StoredBucket => buckets.get(name) ?? bucketNotFound();

  const bucketResource = (origin: string, b: StoredBucket): Record<string, unknown> => ({
    kind: 'storage#bucket',
    selfLink: `${origin}/storage/v1/b/${encodeURIComponent(b.name)}`,
    id: b.name,
    name: b.name,
    projectNumber: '0',
    metageneration: '1',
    location: 'US',
    storageClass: 'STANDARD',
    etag: 'CAE=',
    timeCreated: b.timeCreated,
    updated: b.timeCreated,
  });

  const objectResource = (origin: string, bucket: string, o: StoredObject): Record<string, unknown> => {
    const encoded = encodeURIComponent(o.name);
    const resource: Record<string, unknown> = {
      kind: 'storage#object',
      id: `${bucket}/${o.name}/${o.generation}`,
      selfLink: `${origin}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encoded}`,
      mediaLink: `${origin}/download/storage/v1/b/${encodeURIComponent(bucket)}/o/${encoded}?generation=${o.generation}&alt=media`,
      name: o.name,
      bucket,
      generation: String(o.generation),
      metageneration: String(o.metageneration),
      contentType: o.contentType,
      storageClass: 'STANDARD',
      size: String(o.data.length),
      md5Hash: o.md5Hash,
      crc32c: o.crc32c,
      etag: Buffer.from(`${o.generation}/${o.metageneration}`).toString('base64'),
      timeCreated: o.timeCreated,
      updated: o.updated,
      timeStorageClassUpdated: o.timeCreated,
    };
    if (o.contentEncoding !== undefined) resource['contentEncoding'] = o.contentEncoding;
    if (o.cacheControl !== undefined) resource['cacheControl'] = o.cacheControl;
    if (o.contentDisposition !== undefined) resource['contentDisposition'] = o.contentDisposition;
    if (o.contentLanguage !== undefined) resource['contentLanguage'] = o.contentLanguage;
    if (o.customTime !== undefined) resource['customTime'] = o.customTime;
    if (o.metadata !== undefined && Object.keys(o.metadata).length > 0) resource['metadata'] = { ...o.metadata };
    return resource;
  };

  /**
   * The single place objects are written: preconditions, checksum check and the write happen in one
   * synchronous step, which makes them atomic on the event loop.
   */
  const commitObject = (bucketName: string, name: string, data: Buffer, input: ObjectResourceInput, p: Preconditions, hashes: { crc32c?: string | undefined; md5?: string | undefined } = {}): StoredObject => {
    const bucket = getBucket(bucketName);
    if (name === '') fail(400, 'Required: object name.', 'required');
    requirePreconditions(bucket.objects.get(name), p);
    verifyChecksums(data, { crc32c: hashes.crc32c ?? input.crc32c, md5: hashes.md5 ?? input.md5Hash });
    const now = new Date().toISOString();
    const obj: StoredObject = {
      name,
      generation: nextGeneration(),
      metageneration: 1,
      data,
      contentType: input.contentType ?? 'application/octet-stream',
      contentEncoding: input.contentEncoding,
      cacheControl: input.cacheControl,
      contentDisposition: input.contentDisposition,
      contentLanguage: input.contentLanguage,
      customTime: input.customTime,
      metadata: input.metadata,
      crc32c: crc32cOf(data),
      md5Hash: md5Of(data),
      timeCreated: now,
      updated: now,
    };
    bucket.objects.set(name, obj);
    return obj;
  };

  // ---- buckets -------------------------------------------------------------------------------

  const insertBucket = (origin: string, body: Buffer): Reply => {
    const json = parseJsonBody(body);
    const name = json['name'];
    if (typeof name !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(name)) fail(400, 'Invalid bucket name.', 'invalid');
    if (buckets.has(name)) fail(409, 'Your previous request to create the named bucket succeeded and you already own it.', 'conflict');
    const bucket: StoredBucket = { name, timeCreated: new Date().toISOString(), objects: new Map() };
    buckets.set(name, bucket);
    return { status: 200, body: bucketResource(origin, bucket) };
  };

  const listBuckets = (origin: string, query: URLSearchParams): Reply => {
    const prefix = query.get('prefix') ?? '';
    const items = [...buckets.values()].filter((b) => b.name.startsWith(prefix)).sort((a, b) => compareNames(a.name, b.name)).map((b) => bucketResource(origin, b));
    return { status: 200, body: items.length > 0 ? { kind: 'storage#buckets', items } : { kind: 'storage#buckets' } };
  };

  const deleteBucket = (name: string): Reply => {
    const bucket = getBucket(name);
    if (bucket.objects.size > 0) fail(409, 'The bucket you tried to delete is not empty.', 'conflict');
    buckets.delete(name);
    return { status: 204 };
  };

  // ---- objects -------------------------------------------------------------------------------

  const liveObject = (bucketName: string, name: string, query: URLSearchParams): StoredObject => {
    const obj = getBucket(bucketName).objects.get(name);
    if (!obj) objectNotFound(bucketName, name);
    const generation = parseIntParam(query, 'generation');
    // Only the live generation is kept (a bucket without versioning): an older one is gone.
    if (generation !== undefined && generation !== obj.generation) objectNotFound(bucketName, name);
    return obj;
  };

  const getObject = (req: IncomingMessage, origin: string, bucketName: string, name: string, query: URLSearchParams, media: boolean): Reply => {
    const obj = liveObject(bucketName, name, query);
    const { match, notMatch } = evaluatePreconditions(obj, parsePreconditions(query));
    if (!match) preconditionFailed();
    // GCS answers a failed "not match" on a read with 304, as HTTP caches expect.
    if (!notMatch) return { status: 304 };
    if (!media) return { status: 200, body: objectResource(origin, bucketName, obj) };
    return mediaReply(req, obj);
  };

  const mediaReply = (req: IncomingMessage, obj: StoredObject): Reply => {
    const headers: Record<string, string> = {
      'Content-Type': obj.contentType,
      'Cache-Control': 'no-cache, no-store, max-age=0, must-revalidate',
      ETag: `"${Buffer.from(obj.md5Hash, 'base64').toString('hex')}"`,
      'Last-Modified': new Date(obj.updated).toUTCString(),
      'Accept-Ranges': 'bytes',
      'x-goog-generation': String(obj.generation),
      'x-goog-metageneration': String(obj.metageneration),
      'x-goog-hash': `crc32c=${obj.crc32c},md5=${obj.md5Hash}`,
      'x-goog-stored-content-encoding': obj.contentEncoding ?? 'identity',
      'x-goog-stored-content-length': String(obj.data.length),
      'x-goog-storage-class': 'STANDARD',
    };
    let data = obj.data;
    if (obj.contentEncoding === 'gzip') {
      // Decompressive transcoding: gzip is served as stored only to clients that accept it.
      if (/\bgzip\b/.test(headerValue(req, 'accept-encoding') ?? '')) headers['Content-Encoding'] = 'gzip';
      else data = gunzipSync(obj.data);
    }
    const range = headerValue(req, 'range');
    if (range !== undefined && data.length > 0) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (m) {
        const size = data.length;
        let start: number;
        let end: number;
        if (m[1] === '' && m[2] !== '') {
          start = Math.max(0, size - Number(m[2]));
          end = size - 1;
        } else {
          start = Number(m[1] || 0);
          end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
        }
        if (start >= size || start > end) {
          return { status: 416, headers: { 'Content-Range': `bytes */${size}` }, body: errorReply(416, 'The requested range cannot be satisfied.', 'requestedRangeNotSatisfiable').body };
        }
        headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
        return { status: 206, headers, body: data.subarray(start, end + 1) };
      }
    }
    return { status: 200, headers, body: data };
  };

  const patchObject = (origin: string, bucketName: string, name: string, query: URLSearchParams, body: Buffer, replace: boolean): Reply => {
    const obj = liveObject(bucketName, name, query);
    const json = parseJsonBody(body);
    requirePreconditions(obj, parsePreconditions(query));
    const fields = ['contentType', 'contentEncoding', 'cacheControl', 'contentDisposition', 'contentLanguage', 'customTime'] as const;
    const next: StoredObject = { ...obj };
    for (const field of fields) {
      if (field in json || replace) {
        const v = optionalString(json[field], field);
        if (field === 'contentType') next.contentType = v ?? 'application/octet-stream';
        else next[field] = v;
      }
    }
    if ('metadata' in json || replace) {
      const raw = json['metadata'];
      if (raw === null || raw === undefined) next.metadata = undefined;
      else if (!isRecord(raw)) fail(400, 'Invalid value for metadata.', 'invalid');
      else {
        // Patch semantics: keys set to null are removed, others are set; `update` replaces all.
        const merged: Record<string, string> = replace ? {} : { ...(obj.metadata ?? {}) };
        for (const [k, v] of Object.entries(raw)) {
          if (v === null) delete merged[k];
          else if (typeof v === 'object') fail(400, `Invalid value for metadata.${k}.`, 'invalid');
          else merged[k] = String(v);
        }
        next.metadata = merged;
      }
    }
    next.metageneration = obj.metageneration + 1;
    next.updated = new Date().toISOString();
    getBucket(bucketName).objects.set(name, next);
    return { status: 200, body: objectResource(origin, bucketName, next) };
  };

  const deleteObject = (bucketName: string, name: string, query: URLSearchParams): Reply => {
    const obj = liveObject(bucketName, name, query);
    requirePreconditions(obj, parsePreconditions(query));
    getBucket(bucketName).objects.delete(name);
    return { status: 204 };
  };

  const listObjects = (origin: string, bucketName: string, query: URLSearchParams): Reply => {
    const bucket = getBucket(bucketName);
    const prefix = query.get('prefix') ?? '';
    const delimiter = query.get('delimiter') ?? '';
    const startOffset = query.get('startOffset') ?? '';
    const endOffset = query.get('endOffset') ?? '';
    const pageToken = query.get('pageToken');
    const requested = parseIntParam(query, 'maxResults');
    if (requested !== undefined && requested < 0) fail(400, 'Invalid argument: maxResults.', 'invalid');
    const maxResults = Math.min(requested === undefined || requested === 0 ? MAX_LIST_RESULTS : requested, MAX_LIST_RESULTS);
    const after = pageToken ? Buffer.from(pageToken, 'base64url').toString('utf8') : undefined;

    // Entries in name order; names sharing a prefix up to the delimiter collapse into one entry.
    // Names under one prefix are contiguous in that order, so "key > token" resumes a page exactly.
    const names = [...bucket.objects.keys()]
      .filter((n) => n.startsWith(prefix))
      .filter((n) => startOffset === '' || compareNames(n, startOffset) >= 0)
      .filter((n) => endOffset === '' || compareNames(n, endOffset) < 0)
      .sort(compareNames);
    const entries: Array<{ key: string; prefix: boolean }> = [];
    for (const n of names) {
      const cut = delimiter === '' ? -1 : n.indexOf(delimiter, prefix.length);
      if (cut >= 0) {
        const p = n.slice(0, cut + delimiter.length);
        if (entries.at(-1)?.key !== p) entries.push({ key: p, prefix: true });
      } else {
        entries.push({ key: n, prefix: false });
      }
    }
    const remaining = after === undefined ? entries : entries.filter((e) => compareNames(e.key, after) > 0);
    const page = remaining.slice(0, maxResults);
    const items = page.filter((e) => !e.prefix).map((e) => objectResource(origin, bucketName, bucket.objects.get(e.key) as StoredObject));
    const prefixes = page.filter((e) => e.prefix).map((e) => e.key);
    const out: Record<string, unknown> = { kind: 'storage#objects' };
    if (remaining.length > page.length) out['nextPageToken'] = Buffer.from(page.at(-1)?.key ?? '', 'utf8').toString('base64url');
    if (prefixes.length > 0) out['prefixes'] = prefixes;
    if (items.length > 0) out['items'] = items;
    return { status: 200, body: out };
  };

  // ---- uploads -------------------------------------------------------------------------------

  const upload = (req: IncomingMessage, origin: string, bucketName: string, query: URLSearchParams, body: Buffer): Reply => {
    const method = req.method ?? 'GET';
    const uploadId = query.get('upload_id');
    if (uploadId !== null) return resumableChunk(req, origin, uploadId, body);
    if (method !== 'POST') fail(400, `Unsupported upload request: ${method}.`, 'invalid');
    const uploadType = query.get('uploadType');
    const p = parsePreconditions(query);
    switch (uploadType) {
      case 'media': {
        getBucket(bucketName);
        const name = query.get('name') ?? fail(400, 'Required: name.', 'required');
        const contentType = headerValue(req, 'content-type');
        const input: ObjectResourceInput = contentType ? { contentType } : {};
        const obj = commitObject(bucketName, name, body, input, p, parseGoogHash(req.headers['x-goog-hash']));
        return { status: 200, body: objectResource(origin, bucketName, obj) };
      }
      case 'multipart': {
        getBucket(bucketName);
        const parts = parseMultipart(body, headerValue(req, 'content-type') ?? '');
        const [metaPart, mediaPart] = parts;
        if (parts.length !== 2 || !metaPart || !mediaPart) fail(400, 'A multipart upload needs exactly two parts: metadata, then media.', 'invalid');
        const json = parseJsonBody(metaPart.body);
        const input = resourceInput(json);
        if (input.contentType === undefined && mediaPart.headers['content-type']) input.contentType = mediaPart.headers['content-type'];
        const name = query.get('name') ?? optionalString(json['name'], 'name') ?? fail(400, 'Required: name.', 'required');
        const obj = commitObject(bucketName, name, mediaPart.body, input, p, parseGoogHash(req.headers['x-goog-hash']));
        return { status: 200, body: objectResource(origin, bucketName, obj) };
      }
      case 'resumable': {
        const bucket = getBucket(bucketName);
        const json = parseJsonBody(body);
        const input = resourceInput(json);
        const headerType = headerValue(req, 'x-upload-content-type');
        if (input.contentType === undefined && headerType) input.contentType = headerType;
        const name = query.get('name') ?? optionalString(json['name'], 'name') ?? fail(400, 'Required: name.', 'required');
        // Checked here and again when the upload is finalised, as GCS does.
        requirePreconditions(bucket.objects.get(name), p);
        const lengthHeader = headerValue(req, 'x-upload-content-length');
        const id = randomUUID().replace(/-/g, '');
        sessions.set(id, {
          bucket: bucketName,
          name,
          resource: input,
          preconditions: p,
          expectedSize: lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined,
          chunks: [],
          received: 0,
          finalResource: undefined,
        });
        const location = `${origin}/upload/storage/v1/b/${encodeURIComponent(bucketName)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`;
        return { status: 200, headers: { Location: location, 'X-GUploader-UploadID': id }, body: '' };
      }
      default:
        fail(400, 'Upload requests must include an uploadType URL parameter and a URL-encoded object name.', 'invalid');
    }
  };

  const incomplete = (session: ResumableSession): Reply =>
    session.received > 0 ? { status: 308, headers: { Range: `bytes=0-${session.received - 1}` } } : { status: 308 };

  const finalise = (req: IncomingMessage, origin: string, id: string, session: ResumableSession): Reply => {
    const data = Buffer.concat(session.chunks);
    try {
      const obj = commitObject(session.bucket, session.name, data, session.resource, session.preconditions, parseGoogHash(req.headers['x-goog-hash']));
      session.finalResource = objectResource(origin, session.bucket, obj);
      session.chunks = [];
      return { status: 200, body: session.finalResource };
    } catch (err) {
      // A failed precondition or checksum ends the session: the upload cannot be completed any more.
      sessions.delete(id);
      throw err;
    }
  };

  const resumableChunk = (req: IncomingMessage, origin: string, id: string, body: Buffer): Reply => {
    const session = sessions.get(id);
    if (!session) fail(404, 'No such upload session (it was completed, cancelled or never existed).', 'notFound');
    const method = req.method ?? 'GET';
    if (method === 'DELETE') {
      sessions.delete(id);
      return { status: 499, body: '' };
    }
    if (method !== 'PUT' && method !== 'POST') fail(400, `Unsupported method for an upload session: ${method}.`, 'invalid');
    if (session.finalResource) return { status: 200, body: session.finalResource };

    const contentRange = headerValue(req, 'content-range');
    if (contentRange === undefined) {
      // No Content-Range: the body is the whole (remaining) object.
      session.chunks.push(body);
      session.received += body.length;
      return finalise(req, origin, id, session);
    }
    const status = /^bytes \*\/(\*|\d+)$/.exec(contentRange.trim());
    if (status) {
      // A status check (`bytes */*`), or finalising once every byte is in (`bytes */TOTAL`).
      if (status[1] !== '*' && Number(status[1]) === session.received) return finalise(req, origin, id, session);
      return incomplete(session);
    }
    const m = /^bytes (\d+)-(\d+|\*)\/(\d+|\*)$/.exec(contentRange.trim());
    if (!m) fail(400, `Invalid Content-Range: ${contentRange}`, 'invalid');
    const start = Number(m[1]);
    const total = m[3] === '*' ? undefined : Number(m[3]);
    if (start > session.received) {
      fail(400, `Invalid request. According to the Content-Range header, the upload offset is ${start} byte(s), which exceeds already uploaded size of ${session.received} byte(s).`, 'invalid');
    }
    if (m[2] !== '*' && Number(m[2]) - start + 1 !== body.length) fail(400, `Content-Range ${contentRange} does not match the ${body.length} byte(s) sent.`, 'invalid');
    // Bytes the server already has (a client resending after a lost answer) are not stored twice.
    const fresh = body.subarray(Math.min(body.length, session.received - start));
    const isLast = total !== undefined ? start + body.length >= total : m[2] === '*';
    if (!isLast && body.length % RESUMABLE_CHUNK_MULTIPLE !== 0) {
      fail(400, `Invalid request. The chunk size ${body.length} is not a multiple of 256 KiB; only the last chunk may be smaller.`, 'invalid');
    }
    session.chunks.push(fresh);
    session.received += fresh.length;
    if (total !== undefined && session.received > total) {
      sessions.delete(id);
      fail(400, `Invalid request. ${session.received} byte(s) were sent for an object of ${total} byte(s).`, 'invalid');
    }
    if (session.expectedSize !== undefined && total !== undefined && total !== session.expectedSize) {
      fail(400, `Content-Range total ${total} differs from X-Upload-Content-Length ${session.expectedSize}.`, 'invalid');
    }
    return isLast ? finalise(req, origin, id, session) : incomplete(session);
  };

  // ---- routing -------------------------------------------------------------------------------

  const route = (req: IncomingMessage, url: URL, body: Buffer): Reply => {
    const method = req.method ?? 'GET';
    const origin = `http://${headerValue(req, 'host') ?? '127.0.0.1'}`;
    const query = url.searchParams;
    let path = url.pathname;
    let forceMedia = false;
    let isUpload = false;
    if (path.startsWith('/upload/storage/v1/')) {
      path = path.slice('/upload/storage/v1'.length);
      isUpload = true;
    } else if (path.startsWith('/download/storage/v1/')) {
      path = path.slice('/download/storage/v1'.length);
      forceMedia = true;
    } else if (path === '/storage/v1' || path.startsWith('/storage/v1/')) {
      path = path.slice('/storage/v1'.length);
    }
    const segments = path.split('/').slice(1);
    if (segments[0] !== 'b') fail(404, `Not Found: ${method} ${url.pathname}`, 'notFound');
    const bucketName = segments[1] === undefined || segments[1] === '' ? undefined : decodeURIComponent(segments[1]);

    if (isUpload) {
      if (bucketName === undefined || segments[2] !== 'o' || segments.length !== 3) fail(404, `Not Found: ${method} ${url.pathname}`, 'notFound');
      return upload(req, origin, bucketName, query, body);
    }
    if (bucketName === undefined) {
      if (method === 'POST') return insertBucket(origin, body);
      if (method === 'GET') return listBuckets(origin, query);
      fail(405, `Method not allowed: ${method} /b`, 'methodNotAllowed');
    }
    if (segments.length === 2) {
      if (method === 'GET') return { status: 200, body: bucketResource(origin, getBucket(bucketName)) };
      if (method === 'DELETE') return deleteBucket(bucketName);
      fail(501, `Not implemented by the test server: ${method} /b/{bucket}`, 'notImplemented');
    }
    if (segments[2] !== 'o') fail(501, `Not implemented by the test server: ${method} ${url.pathname}`, 'notImplemented');
    if (segments.length === 3 || (segments.length === 4 && segments[3] === '')) {
      if (method === 'GET') return listObjects(origin, bucketName, query);
      fail(501, `Not implemented by the test server: ${method} /b/{bucket}/o`, 'notImplemented');
    }
    // Object names arrive percent-encoded (`/` as %2F); accept literal slashes as well.
    const name = decodeURIComponent(segments.slice(3).join('/'));
    const media = forceMedia || query.get('alt') === 'media';
    switch (method) {
      case 'GET':
        return getObject(req, origin, bucketName, name, query, media);
      case 'PATCH':
        return patchObject(origin, bucketName, name, query, body, false);
      case 'PUT':
        return patchObject(origin, bucketName, name, query, body, true);
      case 'DELETE':
        return deleteObject(bucketName, name, query);
      default:
        fail(501, `Not implemented by the test server: ${method} /b/{bucket}/o/{object}`, 'notImplemented');
    }
  };

  const send = (res: ServerResponse, reply: Reply): void => {
    const headers: Record<string, string> = { ...(reply.headers ?? {}) };
    let payload: Buffer | undefined;
    if (Buffer.isBuffer(reply.body)) payload = reply.body;
    else if (typeof reply.body === 'string') payload = Buffer.from(reply.body);
    else if (reply.body !== undefined) {
      payload = Buffer.from(JSON.stringify(reply.body));
      headers['Content-Type'] ??= 'application/json; charset=UTF-8';
    }
    if (reply.status === 204 || reply.status === 304) payload = undefined;
    headers['Content-Length'] = String(payload?.length ?? 0);
    res.writeHead(reply.status, headers);
    res.end(payload);
  };

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const body = await readBody(req);
    log.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...req.headers },
      bodyBytes: body.length,
    });
    const fault = takeFault(method, `${url.pathname}${url.search}`);
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (fault?.kind === 'status') {
      const [defaultMessage, defaultReason] = DEFAULT_FAULT_TEXT[fault.status] ?? ['Injected fault', 'backendError'];
      send(res, errorReply(fault.status, fault.message ?? defaultMessage, fault.reason ?? defaultReason));
      return;
    }
    if (fault?.kind === 'reset' && !fault.after) {
      req.socket.destroy();
      return;
    }
    let reply: Reply;
    try {
      reply = route(req, url, body);
    } catch (err) {
      reply = err instanceof HttpError ? err.reply : errorReply(500, `Test server error: ${err instanceof Error ? err.message : String(err)}`, 'internalError');
    }
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    send(res, reply);
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, errorReply(500, `Test server error: ${err instanceof Error ? err.message : String(err)}`, 'internalError'));
      else res.destroy();
    });
  });
  // Node's default. Not shorter: a client agent frees a socket one second before the server's
  // advertised `Keep-Alive: timeout=N`, so 1 s would close every connection after one request (GCS keeps
  // them). `close()` closes idle connections itself.
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    createBucket(name: string): void {
      if (!buckets.has(name)) buckets.set(name, { name, timeCreated: new Date().toISOString(), objects: new Map() });
    },
    objects(bucket: string): GcsObjectSnapshot[] {
      const b = buckets.get(bucket);
      if (!b) return [];
      return [...b.objects.values()].sort((x, y) => compareNames(x.name, y.name)).map(snapshot);
    },
    putObject(bucket, name, data, putOpts = {}) {
      if (!buckets.has(bucket)) throw new Error(`putObject: bucket ${bucket} does not exist on the test server (call createBucket first)`);
      const input: ObjectResourceInput = { contentType: putOpts.contentType ?? 'application/octet-stream' };
      if (putOpts.metadata) input.metadata = { ...putOpts.metadata };
      return snapshot(commitObject(bucket, name, Buffer.from(data), input, {}));
    },
    setFault(...list: Array<GcsFault | null>): void {
      setFaults(list);
    },
    requests: () => log.map((r) => ({ ...r, query: { ...r.query }, headers: { ...r.headers } })),
    clearRequests(): void {
      log.length = 0;
    },
  };
}

/**
 * The test server for clients pointed at it with `apiEndpoint`, with STORAGE_EMULATOR_HOST unset while it
 * runs: set, it would send those clients' JSON calls (reads, metadata, lists) elsewhere. `close()` puts
 * the variable back.
 */
export async function startIsolatedGcsTestServer(opts: GcsTestServerOptions = {}): Promise<GcsTestServer> {
  const saved = process.env['STORAGE_EMULATOR_HOST'];
  const restore = (): void => {
    if (saved !== undefined) process.env['STORAGE_EMULATOR_HOST'] = saved;
  };
  delete process.env['STORAGE_EMULATOR_HOST'];
  let server: GcsTestServer;
  try {
    server = await startGcsTestServer(opts);
  } catch (err) {
    restore();
    throw err;
  }
  return {
    ...server,
    close: async () => {
      try {
        await server.close();
      } finally {
        restore();
      }
    },
  };
}
