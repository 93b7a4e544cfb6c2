/**
 * A PageSource over the simulator's EventStore, in-process (no HTTP): unit tests of the run protocol
 * get Duo's paging rules (µs comparison, `"<ts_ms>,<id>"` cursors, both last-page readings) without
 * sockets. Integration tests use the real simulator server instead.
 */
import { STREAMS, type DuoItem, type StreamName } from '../../src/duo/streams.js';
import { EventStore, type SimEvent } from '../../src/simulator/index.js';
import type { PageSource } from '../../src/collect/run.js';
import type { PageRequest, TelephonyItem, TelephonyPage } from '../../src/duo/types.js';

export interface StoreSource extends PageSource {
  readonly stats: { requests: number; retries: number; rateLimited: number };
  /** Make the next n requests fail with this error. */
  failNext(error: Error, n?: number): void;
}

export function storeSource(events: readonly SimEvent[], lastPageCursor: 'present' | 'absent' = 'present'): StoreSource {
  const store = new EventStore(events);
  const stats = { requests: 0, retries: 0, rateLimited: 0 };
  const failures: Error[] = [];
  return {
    stats,
    failNext(error, n = 1) {
      for (let i = 0; i < n; i++) failures.push(error);
    },
    async getPage(req: PageRequest): Promise<TelephonyPage> {
      stats.requests += 1;
      await new Promise((r) => setImmediate(r));
      const f = failures.shift();
      if (f) throw f;
      let cursor: { tsMs: number; id: string } | undefined;
      if (req.nextOffset) {
        const [ts, id] = req.nextOffset.split(',');
        cursor = { tsMs: Number(ts), id: id ?? '' };
      }
      const sel = store.selectPage({ mintimeMs: req.mintimeMs, maxtimeMs: req.maxtimeMs, limit: req.limit, sort: 'ts:asc', cursor }, Date.now());
      if (!sel.found) throw new Error(`cursor ${req.nextOffset} not found`);
      const items = sel.items.map((e) => JSON.parse(e.json) as TelephonyItem);
      const last = sel.items[sel.items.length - 1];
      const more = lastPageCursor === 'present' ? items.length > 0 : sel.hasMore;
      return { items, nextOffset: more && last ? `${Math.floor(last.tsMicros / 1000)},${last.id}` : null };
    },
  };
}

/** Parse every NDJSON object body into telephony ids, for exactly-once checks. */
export function idsOf(bodies: Iterable<Buffer>): string[] {
  const ids: string[] = [];
  for (const b of bodies) {
    for (const line of b.toString('utf8').split('\n')) {
      if (line) ids.push((JSON.parse(line) as { telephony_id: string }).telephony_id);
    }
  }
  return ids;
}

/**
 * Assert-friendly comparison: what is missing and what is doubled. A multiset: an id expected twice
 * (identical administrator events share a content key) must be there twice.
 */
export function exactlyOnceReport(expected: readonly string[], got: readonly string[]): { missing: number; doubled: number; unexpected: number; total: number } {
  const count = (ids: readonly string[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const id of ids) m.set(id, (m.get(id) ?? 0) + 1);
    return m;
  };
  const want = count(expected);
  const seen = count(got);
  let missing = 0;
  for (const [id, n] of want) missing += Math.max(0, n - (seen.get(id) ?? 0));
  let doubled = 0;
  let unexpected = 0;
  for (const [id, n] of seen) {
    const w = want.get(id);
    if (w === undefined) {
      unexpected++;
      doubled += n - 1;
    } else doubled += Math.max(0, n - w);
  }
  return { missing, doubled, unexpected, total: got.length };
}

/** Every line of NDJSON bodies as the stream's content key (its id, or its content for the administrator log). */
export function keysOf(stream: StreamName, bodies: Iterable<Buffer>): string[] {
  const keys: string[] = [];
  for (const b of bodies) for (const line of b.toString('utf8').split('\n')) if (line) keys.push(STREAMS[stream].contentKey(JSON.parse(line) as DuoItem));
  return keys;
}

/** The content keys of a simulator's events of one stream: what a collection must hold, once each. */
export function expectedKeys(stream: StreamName, events: ReadonlyArray<{ json: string }>): string[] {
  return events.map((e) => STREAMS[stream].contentKey(JSON.parse(e.json) as DuoItem));
}
