/**
 * The simulator's event store and page selection, kept apart from HTTP so paging rules can be tested
 * directly. Events stay sorted by (tsMicros, id) with their times mirrored in a Float64Array: every
 * lookup is a binary search, and a page costs O(log n + limit) whatever the size of the data set.
 */
import { compareEvents, type SimEvent } from './dataset.js';

export type SortOrder = 'ts:asc' | 'ts:desc';

export interface PageQuery {
  mintimeMs: number;
  maxtimeMs: number;
  limit: number;
  sort: SortOrder;
  /** Parsed `next_offset`: continue strictly after (asc) or before (desc) the event with this id. */
  cursor?: { tsMs: number; id: string } | undefined;
}

/** A window and its order, without the page's own parameters. */
export type WindowQuery = Pick<PageQuery, 'mintimeMs' | 'maxtimeMs' | 'sort'>;

/** How far `visibleOutside` looks past hidden events before giving up. */
const OUTSIDE_SCAN_LIMIT = 100_000;

export type PageSelection =
  | {
      found: true;
      items: SimEvent[];
      /** Whether at least one more visible event lies beyond the page inside the window. */
      hasMore: boolean;
      /** Visible events in [mintime, maxtime], the whole window (not what is left of it). */
      total: number;
    }
  | { found: false };

/** A page's cursor as Duo writes it: `"<ts_ms>,<id>"`, naming the event to continue after. */
export function cursorFor(e: SimEvent): string {
  return `${Math.floor(e.tsMicros / 1000)},${e.id}`;
}

function isSorted(events: readonly SimEvent[]): boolean {
  for (let i = 1; i < events.length; i++) {
    if (compareEvents(events[i - 1] as SimEvent, events[i] as SimEvent) > 0) return false;
  }
  return true;
}

export class EventStore {
  #events: SimEvent[] = [];
  #times = new Float64Array(0);
  /** Indices of events served later than their own `ts` (late arrivals), ascending. */
  #late: number[] = [];
  /** The longest of those delays, ms: a late event older than that has arrived whatever its delay. */
  #maxDelayMs = 0;

  constructor(events: readonly SimEvent[] = []) {
    this.#rebuild(isSorted(events) ? [...events] : [...events].sort(compareEvents));
  }

  get events(): readonly SimEvent[] {
    return this.#events;
  }

  get size(): number {
    return this.#events.length;
  }

  /** Merge more events in (a test adding events between runs). O(n + m log m). */
  add(more: readonly SimEvent[]): void {
    if (more.length === 0) return;
    const incoming = isSorted(more) ? more : [...more].sort(compareEvents);
    const current = this.#events;
    const merged = new Array<SimEvent>(current.length + incoming.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < current.length && j < incoming.length) {
      const a = current[i] as SimEvent;
      const b = incoming[j] as SimEvent;
      if (compareEvents(a, b) <= 0) {
        merged[k++] = a;
        i++;
      } else {
        merged[k++] = b;
        j++;
      }
    }
    while (i < current.length) merged[k++] = current[i++] as SimEvent;
    while (j < incoming.length) merged[k++] = incoming[j++] as SimEvent;
    this.#rebuild(merged);
  }

  #rebuild(events: SimEvent[]): void {
    this.#events = events;
    this.#times = new Float64Array(events.length);
    this.#late = [];
    this.#maxDelayMs = 0;
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as SimEvent;
      this.#times[i] = e.tsMicros;
      const delayMs = e.visibleAtMs - Math.floor(e.tsMicros / 1000);
      if (delayMs > 0) {
        this.#late.push(i);
        if (delayMs > this.#maxDelayMs) this.#maxDelayMs = delayMs;
      }
    }
  }

  /** First index whose time is >= us. */
  lowerBound(us: number): number {
    const t = this.#times;
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((t[mid] as number) < us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index whose time is > us. */
  upperBound(us: number): number {
    const t = this.#times;
    let lo = 0;
    let hi = t.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((t[mid] as number) <= us) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the event a cursor names, searched by id inside its millisecond; -1 when unknown. */
  findCursor(tsMs: number, id: string): number {
    const end = this.lowerBound((tsMs + 1) * 1000);
    for (let i = this.lowerBound(tsMs * 1000); i < end; i++) {
      if ((this.#events[i] as SimEvent).id === id) return i;
    }
    return -1;
  }

  /**
   * One page of the visible events with mintime <= ts <= maxtime, compared in microseconds (an event
   * at maxtime + 0.5 ms is outside; Duo's bounds are milliseconds, its timestamps are not). Visible
   * means already in the past and already arrived (`visibleAtMs <= nowMs`).
   */
  selectPage(q: PageQuery, nowMs: number): PageSelection {
    const events = this.#events;
    const [lo, hi] = this.#bounds(q, nowMs);
    let cursorIndex = -1;
    if (q.cursor) {
      cursorIndex = this.findCursor(q.cursor.tsMs, q.cursor.id);
      if (cursorIndex < 0) return { found: false };
    }
    const items: SimEvent[] = [];
    let hasMore = false;
    if (q.sort === 'ts:asc') {
      // The window always bounds the page, even when the cursor points outside it.
      let i = q.cursor ? Math.max(lo, cursorIndex + 1) : lo;
      for (; i < hi && items.length < q.limit; i++) {
        const e = events[i] as SimEvent;
        if (e.visibleAtMs <= nowMs) items.push(e);
      }
      for (; i < hi; i++) {
        if ((events[i] as SimEvent).visibleAtMs <= nowMs) {
          hasMore = true;
          break;
        }
      }
    } else {
      let i = q.cursor ? Math.min(hi, cursorIndex) - 1 : hi - 1;
      for (; i >= lo && items.length < q.limit; i--) {
        const e = events[i] as SimEvent;
        if (e.visibleAtMs <= nowMs) items.push(e);
      }
      for (; i >= lo; i--) {
        if ((events[i] as SimEvent).visibleAtMs <= nowMs) {
          hasMore = true;
          break;
        }
      }
    }
    return { found: true, items, hasMore, total: hi - lo - this.#hiddenIn(lo, hi, nowMs) };
  }

  /**
   * The administrator log's page: the `limit` earliest visible events with a time at or after `fromUs`,
   * ascending. No upper bound but now, and no cursor: a client moves `fromUs` itself.
   */
  selectFrom(fromUs: number, limit: number, nowMs: number): SimEvent[] {
    const events = this.#events;
    const hi = this.upperBound(nowMs * 1000);
    const items: SimEvent[] = [];
    for (let i = this.lowerBound(fromUs); i < hi && items.length < limit; i++) {
      const e = events[i] as SimEvent;
      if (e.visibleAtMs <= nowMs) items.push(e);
    }
    return items;
  }

  /** Indices [lo, hi) of the events inside the window whose time has come (arrived or not). */
  #bounds(q: Pick<PageQuery, 'mintimeMs' | 'maxtimeMs'>, nowMs: number): [number, number] {
    const lo = this.lowerBound(q.mintimeMs * 1000);
    return [lo, Math.max(lo, this.upperBound(Math.min(q.maxtimeMs, nowMs) * 1000))];
  }

  /**
   * Walking from the event at `index` toward the start of the window (in its sort order), the
   * `steps`-th visible event of the window, or the window's first visible one when fewer lie before;
   * -1 when none does.
   */
  visibleBefore(index: number, steps: number, q: WindowQuery, nowMs: number): number {
    const [lo, hi] = this.#bounds(q, nowMs);
    const step = q.sort === 'ts:asc' ? -1 : 1;
    let found = -1;
    let taken = 0;
    for (let i = index + step; i >= lo && i < hi && taken < steps; i += step) {
      if ((this.#events[i] as SimEvent).visibleAtMs <= nowMs) {
        found = i;
        taken++;
      }
    }
    return found;
  }

  /** The visible event nearest outside the window: just after its maxtime, or just before its mintime. */
  visibleOutside(q: Pick<PageQuery, 'mintimeMs' | 'maxtimeMs'>, nowMs: number, side: 'after' | 'before'): SimEvent | undefined {
    const events = this.#events;
    const end = this.upperBound(nowMs * 1000);
    if (side === 'after') {
      const start = this.upperBound(q.maxtimeMs * 1000);
      for (let i = start; i < end && i < start + OUTSIDE_SCAN_LIMIT; i++) {
        if ((events[i] as SimEvent).visibleAtMs <= nowMs) return events[i];
      }
    } else {
      const start = Math.min(this.lowerBound(q.mintimeMs * 1000), end) - 1;
      for (let i = start; i >= 0 && i > start - OUTSIDE_SCAN_LIMIT; i--) {
        if ((events[i] as SimEvent).visibleAtMs <= nowMs) return events[i];
      }
    }
    return undefined;
  }

  /**
   * Late events in [lo, hi) not visible yet. Only those within the longest delay of `nowMs` can still
   * be hidden, so the scan stays short even when every event of the data set arrived late.
   */
  #hiddenIn(lo: number, hi: number, nowMs: number): number {
    const late = this.#late;
    if (late.length === 0) return 0;
    lo = Math.max(lo, this.lowerBound((nowMs - this.#maxDelayMs) * 1000));
    let a = 0;
    let b = late.length;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if ((late[mid] as number) < lo) a = mid + 1;
      else b = mid;
    }
    let hidden = 0;
    for (let k = a; k < late.length && (late[k] as number) < hi; k++) {
      if ((this.#events[late[k] as number] as SimEvent).visibleAtMs > nowMs) hidden++;
    }
    return hidden;
  }
}
