/**
 * Typed errors. Every error the collector raises says what failed, where, and what to check, and
 * carries an `ErrorCode`; its exit status comes from the one table in `exit-codes.ts`. Only entry
 * points catch errors and turn them into exit statuses.
 */
import { ERROR_CODES, type ErrorCode, type ExitStatus } from './exit-codes.js';

export type { ErrorCode, ExitStatus } from './exit-codes.js';

export interface CollectorErrorOptions {
  cause?: unknown;
  retryable?: boolean;
  hint?: string;
}

export class CollectorError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, opts: CollectorErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = opts.retryable ?? false;
    this.hint = opts.hint;
  }

  /** The process exit status for this error (the `exit-codes.ts` table). */
  get exitCode(): ExitStatus {
    return ERROR_CODES[this.code].exit;
  }
}

/** Bad configuration: one message listing every problem. */
export class ConfigError extends CollectorError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('CONFIG_INVALID', `invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** The checkpoint exists but cannot be used as it is (corrupt, seconds instead of ms, unknown version). */
export class CheckpointError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('CHECKPOINT_INVALID', message, opts);
  }
}

/** A compare-and-swap on the checkpoint failed: another run moved it. Not a failure of this run. */
export class CheckpointConflictError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('CHECKPOINT_CONFLICT', message, opts);
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

  constructor(code: ErrorCode, details: DuoErrorDetails, opts: CollectorErrorOptions & { summary?: string }) {
    const duo = [
      details.duoCode !== undefined ? String(details.duoCode) : undefined,
      details.duoMessage,
      details.messageDetail ? `(${details.messageDetail})` : undefined,
    ]
      .filter(Boolean)
      .join(' ');
    const head = opts.summary ?? `Duo answered HTTP ${details.httpStatus} for ${details.path}`;
    const message = `${head}${duo ? `: ${duo}` : ''}${opts.hint ? `. ${opts.hint}` : ''}`;
    super(code, message, opts);
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
    super(code, message, opts);
  }
}

/** The reader of `--stdout` went away: the page it refused, and those the pipe may still hold, are not committed. */
export class OutputClosedError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('OUTPUT_CLOSED', message, opts);
  }
}

/** An object with this page's name exists with different content: never skipped silently. */
export class ObjectConflictError extends CollectorError {
  constructor(message: string, opts: CollectorErrorOptions = {}) {
    super('OBJECT_CONFLICT', message, opts);
  }
}

export class AbortedError extends CollectorError {
  constructor(message = 'aborted') {
    super('ABORTED', message);
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
