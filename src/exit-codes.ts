/**
 * The one table of error codes and exit statuses. Every error the collector raises carries an
 * `ErrorCode`; its row says the process exit status, whether the daemon stops on it (a problem that
 * another tick cannot cure) and what it means. Entry points map errors through `exitStatusOf`; nothing
 * else picks an exit status. `docs/operations.md` prints this table (a test holds the two equal).
 *
 * Adding an error: one row here. Adding an exit status: one entry in `EXIT_STATUS` and its row(s).
 */

/** Process exit statuses, by meaning. */
export const EXIT_STATUS = {
  /** Done: caught up, stopped at a limit or on SIGTERM, or another run owns the window. */
  ok: 0,
  /** A bug; `udm`: at least one input line was rejected; `verify`: events missing, doubled or unknown. */
  failed: 1,
  /** Configuration, an unusable checkpoint, or storage that refuses (missing bucket, no permission). */
  config: 2,
  /** Duo refused the credentials, the permission or the clock. */
  duoAccess: 3,
  /** Duo, storage or the output unavailable after retries: the next run carries on. */
  unavailable: 4,
  /** An object with a page's name already holds different content: a human looks first. */
  objectConflict: 5,
  /** deploy: gcloud is missing, not logged in, or may not read or change the project. */
  deployAccess: 6,
  /** deploy: a gcloud command failed part-way; deploy again once the cause is fixed. */
  deployFailed: 7,
  /** deploy: Google's guide collector is still scheduled; running both would double every log. */
  deployGuideActive: 8,
  /** Stopped by SIGINT (Ctrl-C), after the same clean stop as SIGTERM: 128 + 2, as shells expect. */
  interrupted: 130,
} as const;

export type ExitStatus = (typeof EXIT_STATUS)[keyof typeof EXIT_STATUS];
export type ExitStatusName = keyof typeof EXIT_STATUS;

/** What each exit status tells the caller, as `--help` and the docs print it. */
export const EXIT_STATUS_MEANING: Readonly<Record<ExitStatusName, string>> = {
  ok: 'done: caught up, stopped at a limit or on SIGTERM, or another run owns the window',
  failed: 'an unexpected error (a bug), udm rejected a line, or verify found events missing, doubled or unknown',
  config: 'configuration, an unusable checkpoint, or storage that refuses',
  duoAccess: 'Duo refused the credentials, the permission or the clock',
  unavailable: 'Duo, storage or the output unavailable after retries; the next run carries on',
  objectConflict: 'an object with the same name holds different content; look at it first',
  deployAccess: 'gcloud missing, not logged in, or not allowed',
  deployFailed: 'a gcloud command failed; deploy again once fixed',
  deployGuideActive: "Google's guide collector is still scheduled in the deploy region",
  interrupted: 'stopped by Ctrl-C (SIGINT), after the same clean stop as SIGTERM',
};

export interface ErrorCodeRow {
  exit: ExitStatus;
  /** The daemon stops on it (exit with `exit`) instead of trying again at the next tick. */
  stopsDaemon: boolean;
  meaning: string;
}

export const ERROR_CODES = {
  CONFIG_INVALID: { exit: EXIT_STATUS.config, stopsDaemon: true, meaning: 'a setting is missing or invalid; the message lists every problem' },
  CHECKPOINT_INVALID: { exit: EXIT_STATUS.config, stopsDaemon: true, meaning: 'the checkpoint cannot be used as it is (corrupt, written by a newer version, in seconds); nothing was changed' },
  CHECKPOINT_CONFLICT: { exit: EXIT_STATUS.ok, stopsDaemon: false, meaning: 'another run moved the checkpoint: it owns the window, this run stops without error' },
  DUO_BAD_REQUEST: { exit: EXIT_STATUS.config, stopsDaemon: true, meaning: "Duo refused the request's parameters (400, or a 40xxx code inside any answer), or nothing at DUO_API_URL serves the Admin API" },
  DUO_UNAUTHORIZED: { exit: EXIT_STATUS.duoAccess, stopsDaemon: true, meaning: 'Duo refused the integration key, the secret key or the API host (401)' },
  DUO_CLOCK_SKEW: { exit: EXIT_STATUS.duoAccess, stopsDaemon: false, meaning: "Duo refused the request time (401 40105): this machine's clock is off" },
  DUO_FORBIDDEN: { exit: EXIT_STATUS.duoAccess, stopsDaemon: true, meaning: 'the Admin API application lacks the log read permission, or its network allow-list blocks this machine (403)' },
  DUO_RATE_LIMITED: { exit: EXIT_STATUS.unavailable, stopsDaemon: false, meaning: 'Duo kept answering 429 after every retry' },
  DUO_UNAVAILABLE: { exit: EXIT_STATUS.unavailable, stopsDaemon: false, meaning: 'Duo failed (5xx) or did not answer after every retry' },
  DUO_BAD_RESPONSE: { exit: EXIT_STATUS.unavailable, stopsDaemon: false, meaning: "Duo's answers were unusable (not JSON, not a page, over the size limit) after every retry, or went back (a cursor or items before the one sent): nothing of that page is written" },
  DUO_UNPAGEABLE: {
    exit: EXIT_STATUS.config,
    stopsDaemon: false,
    meaning: 'the administrator log holds 1000 or more events in one second, which Duo cannot page past: the message names the second and the `state reset` that moves on',
  },
  DUO_STREAM_UNSUPPORTED: {
    exit: EXIT_STATUS.ok,
    stopsDaemon: false,
    meaning: 'Duo does not serve a selected log stream to this account (404, or 403 while other streams are served): reported for that stream, the others carry on',
  },
  STORAGE_UNAVAILABLE: { exit: EXIT_STATUS.unavailable, stopsDaemon: false, meaning: 'the bucket or folder failed after retries; nothing past the last durable page was committed' },
  STORAGE_DENIED: { exit: EXIT_STATUS.config, stopsDaemon: true, meaning: 'the bucket or folder refused access (credentials, role, permissions, read-only)' },
  STORAGE_NOT_FOUND: { exit: EXIT_STATUS.config, stopsDaemon: true, meaning: 'the bucket (or a secret) does not exist' },
  OUTPUT_CLOSED: { exit: EXIT_STATUS.unavailable, stopsDaemon: false, meaning: 'the reader of --stdout closed the pipe; the page it refused, and those that may still have sat in the pipe, are not committed: the next run writes them again' },
  OBJECT_CONFLICT: { exit: EXIT_STATUS.objectConflict, stopsDaemon: true, meaning: "an object with a page's name holds different content; nothing was overwritten or skipped" },
  DEPLOY_GCLOUD_UNAVAILABLE: { exit: EXIT_STATUS.deployAccess, stopsDaemon: true, meaning: 'deploy: gcloud is missing, not executable, or not logged in' },
  DEPLOY_DENIED: { exit: EXIT_STATUS.deployAccess, stopsDaemon: true, meaning: 'deploy: the logged-in account may not read or change the project' },
  DEPLOY_STEP_FAILED: { exit: EXIT_STATUS.deployFailed, stopsDaemon: true, meaning: 'deploy: a gcloud command failed; what ran before it stays, deploy again to finish' },
  DEPLOY_GUIDE_COLLECTOR_ACTIVE: { exit: EXIT_STATUS.deployGuideActive, stopsDaemon: true, meaning: "deploy: Google's guide collector is still scheduled in the deploy region; pause it first (or say to keep it)" },
  ABORTED: { exit: EXIT_STATUS.ok, stopsDaemon: false, meaning: 'stopped on request (SIGTERM: 0, SIGINT: 130) after a clean stop' },
  UNEXPECTED: { exit: EXIT_STATUS.failed, stopsDaemon: false, meaning: 'a bug: please report it with the message' },
} as const satisfies Record<string, ErrorCodeRow>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** The signals a command stops cleanly on, and the exit status of that clean stop. */
export const SIGNAL_EXIT: Readonly<Record<'SIGTERM' | 'SIGINT', ExitStatus>> = {
  SIGTERM: EXIT_STATUS.ok,
  SIGINT: EXIT_STATUS.interrupted,
};

export function rowOf(code: ErrorCode): ErrorCodeRow {
  return ERROR_CODES[code];
}

/** The exit status for an error: its code's row, `failed` (1) for anything that has no code. */
export function exitStatusOf(err: unknown): ExitStatus {
  const code = codeOf(err);
  return code === undefined ? EXIT_STATUS.failed : ERROR_CODES[code].exit;
}

/** The `ErrorCode` an error carries, if it is one of ours. */
export function codeOf(err: unknown): ErrorCode | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code) ? (code as ErrorCode) : undefined;
}

/** The exit statuses as a Markdown table, for docs/operations.md. */
export function exitStatusTable(): string {
  const rows = (Object.keys(EXIT_STATUS) as ExitStatusName[]).map((n) => `| ${EXIT_STATUS[n]} | ${EXIT_STATUS_MEANING[n]} |`);
  return ['| exit | meaning |', '|---|---|', ...rows].join('\n');
}

/** The error codes as a Markdown table, for docs/operations.md. */
export function errorCodeTable(): string {
  const rows = (Object.keys(ERROR_CODES) as ErrorCode[]).map((c) => {
    const r: ErrorCodeRow = ERROR_CODES[c];
    return `| \`${c}\` | ${r.exit} | ${r.stopsDaemon ? 'stops' : 'next tick'} | ${r.meaning} |`;
  });
  return ['| error code | exit | daemon | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
