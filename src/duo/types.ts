/** Raw shapes of the Duo Admin API telephony log endpoint (docs/duo-api.md). */

/** One telephony log item. Duo may add fields at any time: unknown ones are kept as they are. */
export interface TelephonyItem {
  context?: string;
  credits?: number;
  phone?: string;
  telephony_id?: string;
  ts?: string;
  txid?: string;
  type?: string;
  [field: string]: unknown;
}

export interface PageRequest {
  mintimeMs: number;
  maxtimeMs: number;
  /** Items per request, 1–1000. */
  limit: number;
  /** Cursor from the previous page of the same window; omitted on the first page. */
  nextOffset?: string | null;
  sort?: 'ts:asc' | 'ts:desc';
}

export interface TelephonyPage {
  items: TelephonyItem[];
  /** Normalised cursor (`"<ts_ms>,<id>"`; an array cursor is joined by `,`), null when there is no more. */
  nextOffset: string | null;
  /** `Date` response header as epoch ms, when Duo sent one: Duo's clock, to the whole second below. */
  serverDateMs?: number | undefined;
  /** This machine's clock (the client's `now`) when the answer was complete, epoch ms. */
  receivedAtMs?: number | undefined;
}

export const TELEPHONY_PATH = '/admin/v2/logs/telephony';

/** The parts of a `"<ts_ms>,<telephony_id>"` cursor as written; `ms` is NaN when the first is not a number. */
export function splitCursor(cursor: string): { ms: number; id: string | undefined } {
  const [ts, id] = cursor.split(',');
  return { ms: Number(ts), id };
}
