/** Turn one page of Duo items into the NDJSON object the sink stores (design.md section 4). */
import { createHash } from 'node:crypto';
import type { TelephonyItem } from '../duo/types.js';
import type { PageObject } from '../sinks/types.js';

export interface Enrichment {
  /** Adds `eventtype: "telephony"` and `host: <api host>` as Duo's own client does. */
  host: string;
}

export function buildPageObject(key: string, items: readonly TelephonyItem[], enrich: Enrichment | null): PageObject {
  let body = '';
  for (const item of items) {
    // Spread keeps Duo's key order; a field Duo might one day send itself keeps its place.
    body += `${JSON.stringify(enrich ? { ...item, eventtype: 'telephony', host: enrich.host } : item)}\n`;
  }
  const buf = Buffer.from(body, 'utf8');
  const first = items[0];
  const last = items[items.length - 1];
  return {
    key,
    body: buf,
    sha256: createHash('sha256').update(buf).digest('hex'),
    itemCount: items.length,
    firstTs: typeof first?.ts === 'string' ? first.ts : '',
    lastTs: typeof last?.ts === 'string' ? last.ts : '',
  };
}
