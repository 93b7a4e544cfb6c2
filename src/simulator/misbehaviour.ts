/**
 * A Duo that misbehaves on request, for the tests of a collector that must survive one: cursors that
 * go back (rewind, cycle, repeat) and pages with odd items (shuffled out of `ts` order, or one extra
 * item from outside the window). A page stays correct for the cursor it was asked with: a cursor
 * misbehaviour changes only the cursor returned, an item misbehaviour only the items around it.
 *
 * Each kind draws from its own seeded stream, so the same requests meet the same misbehaviour and
 * turning one kind on does not move the draws of another.
 */
import type { SimEvent } from './dataset.js';
import { createRng, type Rng } from './rng.js';
import { cursorFor, type EventStore, type PageQuery } from './store.js';

export interface MisbehaviourOptions {
  /** Seed of the draws (default 1). */
  seed?: number;
  /** Probability per page with a cursor that the cursor points back to an earlier event of the window. */
  rewindRate?: number;
  /** Probability per page with a cursor that the cursor is one returned earlier in the window (A→B→A). */
  cycleRate?: number;
  /** Probability per page with a cursor that the cursor is the one the request was sent with. */
  repeatRate?: number;
  /** Probability per page of two items or more that its items come shuffled out of `ts` order. */
  outOfOrderRate?: number;
  /** Probability per non-empty page that it carries one extra item from after maxtime or before mintime. */
  beyondMaxtimeRate?: number;
}

/** What `Simulator.stats.misbehaviour` counts; `missingId` counts items served without `telephony_id`. */
export type MisbehaviourKind = 'rewind' | 'cycle' | 'repeat' | 'outOfOrder' | 'beyondMaxtime' | 'missingId';

export function emptyMisbehaviourCounts(): Record<MisbehaviourKind, number> {
  return { rewind: 0, cycle: 0, repeat: 0, outOfOrder: 0, beyondMaxtime: 0, missingId: 0 };
}

const RATE_KEYS = ['rewindRate', 'cycleRate', 'repeatRate', 'outOfOrderRate', 'beyondMaxtimeRate'] as const;

export function validateMisbehaviour(m: MisbehaviourOptions): void {
  if (m.seed !== undefined && !Number.isFinite(m.seed)) throw new RangeError(`simulator misbehaviour: seed must be a finite number, got ${m.seed}`);
  for (const key of RATE_KEYS) {
    const v = m[key];
    if (v !== undefined && !(v >= 0 && v <= 1)) throw new RangeError(`simulator misbehaviour: ${key} must be a probability in [0, 1], got ${v}`);
  }
  // One draw per page picks at most one wrong cursor: the three share it.
  const cursorRates = (m.rewindRate ?? 0) + (m.cycleRate ?? 0) + (m.repeatRate ?? 0);
  if (cursorRates > 1 + 1e-9) throw new RangeError(`simulator misbehaviour: rewindRate, cycleRate and repeatRate add up to ${Math.round(cursorRates * 1e6) / 1e6}, more than 1`);
}

/** How a page is served. */
export interface PagePlan {
  items: readonly SimEvent[];
  /** The cursor returned, `"<ts_ms>,<id>"`; null for none. */
  cursor: string | null;
  /** The misbehaviour the page carries (`missingId` is counted per item, by whoever serialises them). */
  injected: MisbehaviourKind[];
}

/** Windows whose returned cursors are remembered, and cursors per window: bounds for a long run. */
const MAX_WINDOWS = 1000;
const MAX_CURSORS_PER_WINDOW = 100_000;

interface WindowCursors {
  list: string[];
  seen: Set<string>;
}

function windowKey(q: PageQuery): string {
  return `${q.sort} ${q.mintimeMs} ${q.maxtimeMs}`;
}

/** The cursor a request was sent with, written back as it arrived (13 digits, a comma, the id). */
function sentCursor(q: PageQuery): string | undefined {
  return q.cursor && `${String(q.cursor.tsMs).padStart(13, '0')},${q.cursor.id}`;
}

/** One stream per kind of draw. */
function streams(seed: number): { cursor: Rng; order: Rng; beyond: Rng } {
  return { cursor: createRng(seed), order: createRng(seed + 0x2545f491), beyond: createRng(seed + 0x4f1bbcdd) };
}

export class Misbehaviour {
  #opts: MisbehaviourOptions = {};
  #rng = streams(1);
  /** Cursors returned so far, per window, in the order first returned (the candidates of a cycle). */
  #windows = new Map<string, WindowCursors>();

  constructor(opts: MisbehaviourOptions | null = null) {
    this.set(opts);
  }

  /** Replace the switches; null or `{}` behaves again. A new seed restarts the draws. */
  set(opts: MisbehaviourOptions | null): void {
    const next = { ...opts };
    validateMisbehaviour(next);
    this.#opts = next;
    if (next.seed !== undefined) this.#rng = streams(next.seed);
  }

  /**
   * How to serve the page `items` (selected correctly for `q`), whose correct cursor is `cursor`
   * (null when the page returns none: then no cursor misbehaviour applies). Draws, but remembers
   * nothing: `served` does that once the page has been sent.
   */
  plan(store: EventStore, q: PageQuery, items: SimEvent[], cursor: string | null, nowMs: number): PagePlan {
    const o = this.#opts;
    const injected: MisbehaviourKind[] = [];
    let served: readonly SimEvent[] = items;
    let returned = cursor;

    const repeat = o.repeatRate ?? 0;
    const cycle = o.cycleRate ?? 0;
    const rewind = o.rewindRate ?? 0;
    if (cursor !== null && repeat + cycle + rewind > 0) {
      const r = this.#rng.cursor.next();
      let wrong: string | undefined;
      let kind: MisbehaviourKind | undefined;
      if (r < repeat) {
        kind = 'repeat';
        wrong = sentCursor(q);
      } else if (r < repeat + cycle) {
        kind = 'cycle';
        wrong = this.#earlierCursor(q, cursor);
      } else if (r < repeat + cycle + rewind) {
        kind = 'rewind';
        wrong = this.#rewoundCursor(store, q, items, nowMs);
      }
      // A kind that cannot apply here (nothing sent to repeat, nothing returned before, nothing to go back to) is skipped.
      if (kind !== undefined && wrong !== undefined && wrong !== cursor) {
        returned = wrong;
        injected.push(kind);
      }
    }

    if (items.length > 0 && this.#rng.beyond.chance(o.beyondMaxtimeRate ?? 0)) {
      const first = this.#rng.beyond.chance(0.5) ? 'after' : 'before';
      const second = first === 'after' ? 'before' : 'after';
      let side: 'after' | 'before' = first;
      let extra = store.visibleOutside(q, nowMs, first);
      if (extra === undefined) {
        side = second;
        extra = store.visibleOutside(q, nowMs, second);
      }
      if (extra !== undefined) {
        // Where its time puts it in the page's order: only the window is broken, not the order.
        const atEnd = (side === 'after') === (q.sort === 'ts:asc');
        served = atEnd ? [...served, extra] : [extra, ...served];
        injected.push('beyondMaxtime');
      }
    }

    if (served.length > 1 && this.#rng.order.chance(o.outOfOrderRate ?? 0)) {
      served = this.#shuffled(served);
      injected.push('outOfOrder');
    }
    return { items: served, cursor: returned, injected };
  }

  /** Remember the cursor a page was served with, as one returned in its window. */
  served(q: PageQuery, cursor: string | null): void {
    if (cursor === null) return;
    const key = windowKey(q);
    let w = this.#windows.get(key);
    if (w === undefined) {
      w = { list: [], seen: new Set() };
      if (this.#windows.size >= MAX_WINDOWS) {
        const oldest = this.#windows.keys().next().value;
        if (oldest !== undefined) this.#windows.delete(oldest);
      }
    } else {
      // Re-inserted: the map's order is the order of last use.
      this.#windows.delete(key);
    }
    this.#windows.set(key, w);
    if (!w.seen.has(cursor) && w.list.length < MAX_CURSORS_PER_WINDOW) {
      w.seen.add(cursor);
      w.list.push(cursor);
    }
  }

  /** One of the cursors returned earlier in this window, other than the one sent and the right one. */
  #earlierCursor(q: PageQuery, right: string): string | undefined {
    const w = this.#windows.get(windowKey(q));
    if (w === undefined) return undefined;
    const sent = sentCursor(q);
    const candidates = w.list.filter((c) => c !== sent && c !== right);
    return candidates.length === 0 ? undefined : candidates[this.#rng.cursor.int(candidates.length)];
  }

  /**
   * The cursor of an event k visible events before the page's last item, k uniform from 1 to the
   * page's length plus a limit: inside this page (its tail is served again) or up to a page before
   * it (the whole page and more is), never before the window's first event.
   */
  #rewoundCursor(store: EventStore, q: PageQuery, items: SimEvent[], nowMs: number): string | undefined {
    const last = items[items.length - 1];
    if (last === undefined) return undefined;
    const lastIndex = store.findCursor(Math.floor(last.tsMicros / 1000), last.id);
    const steps = 1 + this.#rng.cursor.int(items.length + q.limit);
    const target = store.visibleBefore(lastIndex, steps, q, nowMs);
    return target < 0 ? undefined : cursorFor(store.events[target] as SimEvent);
  }

  /** A shuffle that is never the order it was given. */
  #shuffled(items: readonly SimEvent[]): SimEvent[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.#rng.order.int(i + 1);
      const t = out[i] as SimEvent;
      out[i] = out[j] as SimEvent;
      out[j] = t;
    }
    if (out.every((e, i) => e === items[i])) {
      out[0] = items[1] as SimEvent;
      out[1] = items[0] as SimEvent;
    }
    return out;
  }
}
