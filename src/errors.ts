/**
 * Typed errors. Every error the collector raises says what failed, where, and what to check.
 * Only entry points catch them and map `exitCode` to the process exit status.
 *
 * Exit codes: 0 ok, 2 configuration or unusable state, 3 Duo credentials/permission,
 * 4 Duo or storage unavailable after retries, 5 stored data disagrees with Duo (needs a human).
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'CHECKPOINT_INVALID'
  | 'CHECKPOINT_CONFLICT'
  | 'DUO_BAD_REQUEST'
  | 'DUO_UNAUTHORIZED'
  | 'DUO_CLOCK_SKEW'
  | 'DUO_FORBIDDEN'
  | 'DUO_RATE_LIMITED'
  | 'DUO_UNAVAILABLE'
  | 'DUO_BAD_RESPONSE'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_DENIED'
  | 'STORAGE_NOT_FOUND'
  | 'OBJECT_CONFLICT'
  | 'ABORTED';

export type ExitCode = 0 | 1 | 2 | 3 | 4 | 5;

export interface CollectorErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  hint?: string;
}

export class CollectorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;
  readonly exitCode: ExitCode;

  constructor(code: ErrorCode, message: string, exitCode: ExitCode, opts: CollectorErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.exitCode = exitCode;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
  }
}

/** Bad configuration: one message listing every problem. */
export class ConfigError extends CollectorError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`, 2);
    this.problems = problems;
  }
}

/** The checkpoint exists but cannot be used as it is (corrupt, seconds instead of ms, unknown version). */
export class CheckpointError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('CHECKPOINT_INVALID', message, 2, opts);
  }
}

/** A compare-and-swap on the checkpoint failed: another run moved it. Not a failure of this run. */
export class CheckpointConflictError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('CHECKPOINT_CONFLICT', message, 0, opts);
  }
}

export interface DuoErrorDetails {
  httpStatus: number;
  /** Duo's 5-digit code (40103, 42901, …) when the body carried one. */
  duoCode?: number | undefined;
  duoMessage?: string | undefined;
  messageDetail?: string | undefined;
  path: string;
  /** Duo's `Date` response header as epoch ms, when it sent one (clock-skew diagnosis). */
  serverDateMs?: number | undefined;
}

/** An answer from the Duo Admin API (or whatever stood in front of it) that is not a page of logs. */
export class DuoApiError extends CollectorError {
  readonly httpStatus: number;
  readonly duoCode: number | undefined;
  readonly duoMessage: string | undefined;
  readonly messageDetail: string | undefined;
  readonly path: string;
  readonly serverDateMs: number | undefined;

  constructor(code: ErrorCode, details: DuoErrorDetails, opts: CollectorErrorOptions & { exitCode: ExitCode; summary?: string }) {
    const duo = [
      details.duoCode !== undefined ? String(details.duoCode) : undefined,
      details.duoMessage,
      details.messageDetail ? `(${details.messageDetail})` : undefined,
    ]
      .filter(Boolean)
      .join(' ');
    const head = opts.summary ?? `Duo answered HTTP ${details.httpStatus} for ${details.path}`;
    const message = `${head}${duo ? `: ${duo}` : ''}${opts.hint ? `. ${opts.hint}` : ''}`;
    super(code, message, opts.exitCode, opts);
    this.httpStatus = details.httpStatus;
    this.duoCode = details.duoCode;
    this.duoMessage = details.duoMessage;
    this.messageDetail = details.messageDetail;
    this.path = details.path;
    this.serverDateMs = details.serverDateMs;
  }
}

/** A storage backend (GCS, local folder) failed or refused. */
export class StorageError extends CollectorError {
  constructor(code: 'STORAGE_UNAVAILABLE' | 'STORAGE_DENIED' | 'STORAGE_NOT_FOUND', message: string, opts: CollectorErrorOptions = {}) {
    super(code, message, code === 'STORAGE_UNAVAILABLE' ? 4 : 2, opts);
  }
}

/** An object with this page's name exists with different content: never skipped silently. */
export class ObjectConflictError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('OBJECT_CONFLICT', message, 5, opts);
  }
}

export class AbortedError extends CollectorError {
  constructor(message = 'aborted') {
    super('ABORTED', message, 1);
  }
}

export function isCollectorError(err: unknown): err is CollectorError {
  return err instanceof CollectorError;
}

/** A message safe to show: never includes a stack. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
