/**
 * What each Duo answer means for the collector, kept as data (docs/duo-api.md, "Errors"): which HTTP statuses
 * are worth another attempt, and which error code and fix each refusal maps to (its exit status follows
 * from the code: `exit-codes.ts`).
 */
import type { ErrorCode } from '../exit-codes.js';

/**
 * Statuses retried with backoff: Duo's rate limit, and any server-side failure including a proxy's
 * 502/503/504. Every other status is a refusal that repeating cannot fix. Ranges are inclusive.
 */
export const RETRYABLE_STATUSES: ReadonlyArray<readonly [from: number, to: number]> = [
  [429, 429],
  [500, 599],
];

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.some(([from, to]) => status >= from && status <= to);
}

/**
 * The HTTP status a Duo error code stands for: its first three digits (40002 → 400, 42901 → 429, 50001 →
 * 500); undefined unless the code is five digits from 40000 to 59999. A `stat: "FAIL"` body that comes
 * with a 2xx status is judged as if it had come with this status: refused when Duo's refusal would be,
 * retried when a 429 or a 5xx would be.
 */
export function statusOfDuoCode(code: number | undefined): number | undefined {
  if (code === undefined || !Number.isInteger(code) || code < 40000 || code > 59999) return undefined;
  return Math.floor(code / 100);
}

export interface Refusal {
  code: ErrorCode;
  hint?: string;
}

export const HINT_IKEY = 'Check DUO_IKEY and DUO_API_HOST (Duo does not know this integration key on this API host)';
export const HINT_SKEY =
  'Check DUO_SKEY (the secret key of the same Admin API application as DUO_IKEY) and DUO_API_HOST (that application\'s "API hostname", ' +
  'exactly: it is part of what is signed, so a wrong host with a right key fails the same way)';
export const HINT_CLOCK = "This machine's clock is off: sync it with NTP";
export const HINT_PERMISSION =
  'Give the Admin API application the "Grant read log" permission ("Read Telephony" in Google\'s telephony guide), ' +
  'or, if the Duo account restricts "Networks for API Access", allow this machine\'s egress IP';

/** Refusals Duo identifies by its 5-digit code; the code is more precise than the HTTP status. */
const BY_DUO_CODE: Readonly<Record<number, Refusal>> = {
  40101: { code: 'DUO_UNAUTHORIZED', hint: HINT_IKEY },
  40102: { code: 'DUO_UNAUTHORIZED', hint: HINT_IKEY },
  40103: { code: 'DUO_UNAUTHORIZED', hint: HINT_SKEY },
  40105: { code: 'DUO_CLOCK_SKEW', hint: HINT_CLOCK },
  40301: { code: 'DUO_FORBIDDEN', hint: HINT_PERMISSION },
};

/** Used when the body carried no (known) Duo code, e.g. an answer from a proxy. */
const BY_STATUS: Readonly<Record<number, Refusal>> = {
  400: {
    code: 'DUO_BAD_REQUEST',
    hint: 'Duo refused the request window or parameters: the detail names which',
  },
  401: { code: 'DUO_UNAUTHORIZED', hint: 'Check DUO_IKEY, DUO_SKEY and DUO_API_HOST' },
  403: { code: 'DUO_FORBIDDEN', hint: HINT_PERMISSION },
  404: {
    code: 'DUO_BAD_REQUEST',
    hint: 'Check DUO_API_HOST and DUO_API_URL: nothing there serves the Admin API log endpoint',
  },
};

/** The error an answer that will not be retried maps to. */
export function refusalFor(status: number, duoCode: number | undefined): Refusal {
  const byCode = duoCode === undefined ? undefined : BY_DUO_CODE[duoCode];
  // A Duo code only counts when it agrees with the status (its first 3 digits are the status).
  if (byCode && duoCode !== undefined && Math.floor(duoCode / 100) === status) return byCode;
  const byStatus = BY_STATUS[status];
  if (byStatus) return byStatus;
  if (status >= 300 && status < 400) {
    return {
      code: 'DUO_BAD_REQUEST',
      hint: 'Duo does not redirect API calls: check DUO_API_URL or the proxy in between',
    };
  }
  return { code: 'DUO_BAD_REQUEST' };
}
