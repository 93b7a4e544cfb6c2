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
    for (let i = 0; i < events.length; i++) {
      const e = events[i] as SimEvent;
      this.#times[i] = e.tsMicros;
      if (e.visibleAtMs > Math.floor(e.tsMicros / 1000)) this.#late.push(i);
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
    const lo = this.lowerBound(q.mintimeMs * 1000);
    const hi = Math.max(lo, this.upperBound(Math.min(q.maxtimeMs, nowMs) * 1000));
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

  /** Late events in [lo, hi) not visible yet: few, so a scan of that list is cheap. */
  #hiddenIn(lo: number, hi: number, nowMs: number): number {
    const late = this.#late;
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
