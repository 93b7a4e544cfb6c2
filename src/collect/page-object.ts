/** Turn one page of Duo items into the NDJSON object the sink stores (docs/protocol.md). */
import { createHash } from 'node:crypto';
import type { DuoItem } from '../duo/streams.js';
import type { PageObject } from '../sinks/types.js';

export interface Enrichment {
  /** Adds `eventtype: <the stream, as Duo's client names it>` and `host: <api host>` as Duo's own client does. */
  host: string;
  /** Default `telephony`. */
  eventtype?: string;
}

export function buildPageObject(key: string, items: readonly DuoItem[], enrich: Enrichment | null): PageObject {
  const eventtype = enrich?.eventtype ?? 'telephony';
  let body = '';
  // The two fields are appended to each item's own JSON text, which is what the spread
  // `{ ...item, eventtype, host }` serialises to, without copying the item first (a third of the
  // collector's CPU time went to those copies). An item that already holds one of them, or is empty,
  // takes the spread, so a field Duo might one day send itself keeps its place.
  const suffix = enrich ? `,"eventtype":${JSON.stringify(eventtype)},"host":${JSON.stringify(enrich.host)}}\n` : '';
  for (const item of items) {
    const json = JSON.stringify(item);
    if (!enrich) body += `${json}\n`;
    else if (json.length > 2 && !Object.hasOwn(item, 'eventtype') && !Object.hasOwn(item, 'host')) body += json.slice(0, -1) + suffix;
    else body += `${JSON.stringify({ ...item, eventtype, host: enrich.host })}\n`;
  }
  const buf = Buffer.from(body, 'utf8');
  const first = items[0];
  const last = items[items.length - 1];
  return {
    key,
    body: buf,
    sha256: createHash('sha256').update(buf).digest('hex'),
    itemCount: items.length,
    firstTs: timeText(first),
    lastTs: timeText(last),
  };
}

/** An item's time as Duo wrote it, for the object's metadata: `ts`, `isotimestamp` or a number. */
function timeText(item: DuoItem | undefined): string {
  const t = item?.['ts'] ?? item?.['isotimestamp'] ?? item?.['surfaced_timestamp'];
  return typeof t === 'string' ? t : typeof t === 'number' ? String(t) : '';
}
