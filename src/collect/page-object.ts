/** Turn one page of Duo items into the NDJSON object the sink stores (docs/protocol.md). */
import { createHash } from 'node:crypto';
import type { DuoItem } from '../duo/streams.js';
import type { PageObject } from '../sinks/types.js';

export interface Enrichment {
  /** Adds `eventtype: <the stream, as Duo's client names it>` and `host: <api host>` as Duo's own client does. */
  host?: string;
  /** Default `telephony`; only with `host`. */
  eventtype?: string;
  /** Accounts mode: adds `account_id` and `account_name`, so one feed can tell child accounts apart. */
  account?: { id: string; name: string };
}

/** The fields an enrichment appends to each line, in order. */
export function addedFields(enrich: Enrichment | null): Array<[string, string]> {
  if (!enrich) return [];
  const fields: Array<[string, string]> = [];
  if (enrich.host !== undefined) fields.push(['eventtype', enrich.eventtype ?? 'telephony'], ['host', enrich.host]);
  if (enrich.account) fields.push(['account_id', enrich.account.id], ['account_name', enrich.account.name]);
  return fields;
}

export function buildPageObject(key: string, items: readonly DuoItem[], enrich: Enrichment | null): PageObject {
  const fields = addedFields(enrich);
  let body = '';
  // The fields are appended to each item's own JSON text, which is what the spread
  // `{ ...item, eventtype, host }` serialises to, without copying the item first (a third of the
  // collector's CPU time went to those copies). An item that already holds one of them, or is empty,
  // takes the spread, so a field Duo might one day send itself keeps its place.
  const suffix = `${fields.map(([k, v]) => `,${JSON.stringify(k)}:${JSON.stringify(v)}`).join('')}}\n`;
  const added = Object.fromEntries(fields);
  for (const item of items) {
    const json = JSON.stringify(item);
    if (fields.length === 0) body += `${json}\n`;
    else if (json.length > 2 && !fields.some(([k]) => Object.hasOwn(item, k))) body += json.slice(0, -1) + suffix;
    else body += `${JSON.stringify({ ...item, ...added })}\n`;
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
