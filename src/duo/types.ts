/** Raw shapes of the Duo Admin API log endpoints (docs/duo-api.md); each stream's own are in streams.ts. */
import type { DuoItem, StreamRequest } from './streams.js';

export type { DuoItem } from './streams.js';

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

export interface PageRequest extends StreamRequest {
  /** Items per request, 1 to the stream's largest page. */
  limit: number;
}

export interface DuoPage {
  /** The items in Duo's order. */
  items: DuoItem[];
  /** The cursor for the next page as one string (an array cursor joined by `,`); null when there is no more. */
  nextOffset: string | null;
  /** `Date` response header as epoch ms, when Duo sent one: Duo's clock, to the whole second below. */
  serverDateMs?: number | undefined;
  /** This machine's clock (the client's `now`) when the answer was complete, epoch ms. */
  receivedAtMs?: number | undefined;
}

/** The parts of a `"<ts_ms>,<id>"` cursor as written; `ms` is NaN when the first is not a number. */
export function splitCursor(cursor: string): { ms: number; id: string | undefined } {
  const [ts, id] = cursor.split(',');
  return { ms: Number(ts), id };
}

/** A page of the telephony log (the library's name for it before the other streams). */
export type TelephonyPage = DuoPage;
