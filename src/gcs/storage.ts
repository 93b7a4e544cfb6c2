/**
 * The Google Cloud Storage client and the translation of its failures into the collector's errors.
 *
 * `@google-cloud/storage` is loaded with `import()` on first use, so the CLI, the local sink and the UDM
 * tools never pay for it. Its errors come in several shapes depending on the call path (7.x):
 * a JSON API call or a simple upload rejects with an `ApiError` (`code` = HTTP status, `errors[].reason`);
 * a resumable upload rejects with a `GaxiosError` (`status`, `response.status`, no numeric `code`) or,
 * when the final chunk is refused, with the bare JSON error object; a download replaces `message` with
 * the raw JSON body. The helpers here read all of them.
 */
import type { Storage } from '@google-cloud/storage';
import { AbortedError, StorageError } from '../errors.js';

export type { Storage } from '@google-cloud/storage';

export interface CreateStorageOptions {
  /** `http://127.0.0.1:PORT` for a local server; unset for Google Cloud (STORAGE_EMULATOR_HOST also works). */
  apiEndpoint?: string;
  projectId?: string;
  /**
   * How long one HTTP request may take (REQUEST_TIMEOUT_SECONDS), stalls included. The client retries a
   * request that timed out (at most twice here), so one operation waits at most about three times this.
   */
  timeoutMs?: number;
}

/** Retries of one operation by Google's client (its default is 3, within 600 s). */
const MAX_RETRIES = 2;

export async function createStorage(opts: CreateStorageOptions = {}): Promise<Storage> {
  // STORAGE_EMULATOR_HOST, which the client also reads itself, is checked against the endpoint where the
  // settings are read (config.ts): both set and different would split reads from uploads.
  const { Storage: StorageClient } = await import('@google-cloud/storage');
  return new StorageClient({
    ...(opts.apiEndpoint
      ? {
          apiEndpoint: opts.apiEndpoint,
          // The client sends no credentials to a custom endpoint unless told to. A local server over
          // plain http needs none; an https endpoint is Google's (Private Service Connect, a proxy) and does.
          useAuthWithCustomEndpoint: opts.apiEndpoint.startsWith('https://'),
        }
      : {}),
    ...(opts.projectId ? { projectId: opts.projectId } : {}),
    ...(opts.timeoutMs !== undefined
      ? { timeout: opts.timeoutMs, retryOptions: { maxRetries: MAX_RETRIES, totalTimeout: Math.ceil(((MAX_RETRIES + 1) * opts.timeoutMs) / 1000) + 10 } }
      : {}),
  });
}

/**
 * `work`, or an AbortedError as soon as `signal` aborts. Google's client takes no AbortSignal for
 * uploads: an abandoned request runs on until its own timeout, its outcome ignored. That is safe for
 * create-only objects and compare-and-swap saves: a write that lands after all is found identical, or
 * found moved, by the next run.
 */
export async function abandonOnAbort<T>(work: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) throw new AbortedError(`aborted before ${what}`);
  let onAbort!: () => void;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new AbortedError(`aborted while ${what}`));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  // The work's own failure after an abort must not surface as an unhandled rejection.
  work.catch(() => {});
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** `gs://bucket/key`, or `gs://bucket/` for the bucket itself. */
export function gsUri(bucket: string, key?: string): string {
  return `gs://${bucket}/${key ?? ''}`;
}

/** Statuses GCS expresses only as a reason in some error shapes. */
const REASON_STATUS: Record<string, number> = {
  conditionNotMet: 412,
  notFound: 404,
  forbidden: 403,
  required: 401,
  authError: 401,
  rateLimitExceeded: 429,
  backendError: 503,
  internalError: 500,
};

/** Network failures worth another attempt (Node and undici codes, node-fetch messages). */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // The client's own check that the stored object matches what was sent (crc32c/md5).
  'FILE_NO_UPLOAD',
  'FILE_NO_UPLOAD_DELETE',
  'CONTENT_DOWNLOAD_MISMATCH',
]);

function prop(v: unknown, key: string): unknown {
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[key] : undefined;
}

function asStatus(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599) return v;
  if (typeof v === 'string' && /^[1-5]\d\d$/.test(v)) return Number(v);
  return undefined;
}

/** The first `errors[].reason` of a GCS error, wherever the shape put it. */
export function gcsReason(err: unknown): string | undefined {
  const lists = [prop(err, 'errors'), prop(prop(err, 'error'), 'errors'), prop(prop(prop(prop(err, 'response'), 'data'), 'error'), 'errors')];
  for (const list of lists) {
    if (!Array.isArray(list)) continue;
    for (const e of list) {
      const reason = prop(e, 'reason');
      if (typeof reason === 'string' && reason !== '') return reason;
    }
  }
  const fromBody = parseJsonError(prop(err, 'message'));
  return fromBody?.reason;
}

/** The HTTP status of a client error, from whichever field this call path filled. */
export function gcsStatus(err: unknown): number | undefined {
  const direct =
    asStatus(prop(err, 'code')) ??
    asStatus(prop(err, 'status')) ??
    asStatus(prop(prop(err, 'response'), 'status')) ??
    asStatus(prop(prop(err, 'response'), 'statusCode')) ??
    asStatus(prop(prop(err, 'error'), 'code')) ??
    parseJsonError(prop(err, 'message'))?.code;
  if (direct !== undefined) return direct;
  const reason = gcsReason(err);
  return reason === undefined ? undefined : REASON_STATUS[reason];
}

export function isPreconditionFailed(err: unknown): boolean {
  return gcsStatus(err) === 412 || gcsReason(err) === 'conditionNotMet';
}

export function isNotFound(err: unknown): boolean {
  return gcsStatus(err) === 404;
}

/** A 404 about the bucket itself rather than an object in it (GCS: "The specified bucket does not exist."). */
export function isBucketNotFound(err: unknown): boolean {
  return isNotFound(err) && /bucket does not exist/i.test(gcsMessage(err));
}

/** A failure another attempt may cure: 408, 429, 5xx, a network error, a corrupted transfer. */
export function isTransient(err: unknown): boolean {
  const status = gcsStatus(err);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  const code = prop(err, 'code');
  if (typeof code === 'string' && NETWORK_CODES.has(code.toUpperCase())) return true;
  const message = gcsMessage(err);
  return /socket hang up|network|timed? ?out|Retry (total time )?limit exceeded|ECONNRESET|ECONNREFUSED/i.test(message);
}

function parseJsonError(message: unknown): { code?: number; message?: string; reason?: string } | undefined {
  if (typeof message !== 'string' || !message.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    const error = prop(parsed, 'error');
    if (typeof error !== 'object' || error === null) return undefined;
    const errors = prop(error, 'errors');
    const first: unknown = Array.isArray(errors) ? errors[0] : undefined;
    const out: { code?: number; message?: string; reason?: string } = {};
    const code = asStatus(prop(error, 'code'));
    if (code !== undefined) out.code = code;
    const text = prop(error, 'message');
    if (typeof text === 'string') out.message = text;
    const reason = prop(first, 'reason');
    if (typeof reason === 'string') out.reason = reason;
    return out;
  } catch {
    return undefined;
  }
}

/**
 * GCS's own words for the failure, trimmed, with anything that looks like a credential removed
 * (GCS does not echo tokens, but a proxy or a future client version might).
 */
export function gcsMessage(err: unknown): string {
  const raw = prop(err, 'message');
  let text = typeof raw === 'string' ? raw : err instanceof Error ? err.message : typeof err === 'string' ? err : '';
  const fromBody = parseJsonError(text);
  if (fromBody?.message) text = fromBody.message;
  text = text
    .replace(/Bearer\s+[A-Za-z0-9._~+/=-]+/gi, 'Bearer [redacted]')
    .replace(/(access_token|token|key|signature)=([^&\s"]+)/gi, '$1=[redacted]')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/**
 * A copy of the client error safe to keep as `cause`: the original carries the request configuration,
 * headers included, which holds the OAuth access token when real credentials are in use.
 */
function safeCause(err: unknown): Error {
  const cause = new Error(gcsMessage(err) || 'GCS request failed');
  const name = prop(err, 'name');
  if (typeof name === 'string') cause.name = name;
  const extra: Record<string, unknown> = {};
  const status = gcsStatus(err);
  if (status !== undefined) extra['status'] = status;
  const reason = gcsReason(err);
  if (reason !== undefined) extra['reason'] = reason;
  const code = prop(err, 'code');
  if (typeof code === 'string' || typeof code === 'number') extra['code'] = code;
  return Object.assign(cause, extra);
}

export interface GcsErrorContext {
  bucket: string;
  /** The object concerned; unset for bucket-wide calls. */
  key?: string;
  /** What was being done, as a verb phrase: `write`, `read`, `list`, `read the checkpoint`. */
  action: string;
  /** A write: an object that does not exist yet cannot be the 404, so the bucket is. */
  writing?: boolean;
}

/** Translate any client failure into a StorageError that says what failed, where and what to check. */
export function toStorageError(err: unknown, ctx: GcsErrorContext): StorageError {
  if (err instanceof StorageError) return err;
  const uri = gsUri(ctx.bucket, ctx.key);
  const status = gcsStatus(err);
  // GCS's sentences end with a period; ours follow after it.
  const detail = gcsMessage(err).replace(/\.+$/, '');
  const said = detail ? `: ${detail}` : '';
  const cause = safeCause(err);

  if (status === 401) {
    return new StorageError(
      'STORAGE_DENIED',
      `GCS did not accept the credentials to ${ctx.action} ${uri} (HTTP 401)${said}. Check Application Default Credentials: ` +
        'GOOGLE_APPLICATION_CREDENTIALS, `gcloud auth application-default login`, or the service account the Cloud Run function runs as.',
      { cause },
    );
  }
  if (status === 403) {
    return new StorageError(
      'STORAGE_DENIED',
      `GCS denied permission to ${ctx.action} ${uri} (HTTP 403)${said}. The service account needs Storage Object User ` +
        `(roles/storage.objectUser) on bucket ${ctx.bucket}: it creates objects, reads them back, and replaces its checkpoint, ` +
        `which takes storage.objects.delete (Object Creator with Object Viewer is not enough).`,
      { cause },
    );
  }
  if (status === 404) {
    if (isBucketNotFound(err) || ctx.key === undefined || ctx.writing === true) {
      return new StorageError(
        'STORAGE_NOT_FOUND',
        `bucket ${ctx.bucket} does not exist or is in another project (GCS answered HTTP 404 to ${ctx.action} ${uri}). ` +
          'Check GCS_BUCKET (a bucket name, without gs://) and that the bucket is in the project of the credentials.',
        { cause },
      );
    }
    return new StorageError('STORAGE_NOT_FOUND', `${uri} does not exist (GCS answered HTTP 404 to ${ctx.action} it)${said}.`, { cause });
  }
  if (isTransient(err)) {
    return new StorageError(
      'STORAGE_UNAVAILABLE',
      `GCS is unavailable to ${ctx.action} ${uri} (${status !== undefined ? `HTTP ${status}` : 'network error'})${said}, after the client's own retries. ` +
        'Nothing past the last durable page was committed: the next run repeats at most this page.',
      { cause, retryable: true },
    );
  }
  return new StorageError(
    'STORAGE_UNAVAILABLE',
    `GCS refused to ${ctx.action} ${uri}${status !== undefined ? ` (HTTP ${status})` : ''}${said}.`,
    { cause },
  );
}
