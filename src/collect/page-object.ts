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
  return objectOf(key, Buffer.from(body, 'utf8'), items.length, items[0], items[items.length - 1]);
}

/**
 * An object made of some lines of another page object (each line one item, as buildPageObject wrote
 * it, `\n` excluded): byte for byte what buildPageObject would write for those items.
 */
export function pageObjectFromLines(key: string, lines: readonly string[]): PageObject {
  const item = (line: string | undefined): DuoItem | undefined => (line === undefined ? undefined : (JSON.parse(line) as DuoItem));
  return objectOf(key, Buffer.from(lines.map((l) => `${l}\n`).join(''), 'utf8'), lines.length, item(lines[0]), item(lines[lines.length - 1]));
}

/** The lines of a page object's body, one per item, without their `\n`. */
export function linesOf(obj: Pick<PageObject, 'body'>): string[] {
  return obj.body.toString('utf8').split('\n').slice(0, -1);
}

function objectOf(key: string, body: Buffer, itemCount: number, first: DuoItem | undefined, last: DuoItem | undefined): PageObject {
  return { key, body, sha256: createHash('sha256').update(body).digest('hex'), itemCount, firstTs: timeText(first), lastTs: timeText(last) };
}

/** An item's time as Duo wrote it, for the object's metadata: `ts`, `isotimestamp` or a number. */
function timeText(item: DuoItem | undefined): string {
  const t = item?.['ts'] ?? item?.['isotimestamp'] ?? item?.['surfaced_timestamp'];
  return typeof t === 'string' ? t : typeof t === 'number' ? String(t) : '';
}
