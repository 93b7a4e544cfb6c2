/**
 * What `verify` concludes, as pure functions: Duo's events and the stored ones of one time slice, both
 * as multisets of keys (an event's id, or its content for the administrator log, whose identical
 * events are distinct), compared; and where a missing event would have been stored, to tell an event
 * that was never written (or removed from an object) from one whose object was deleted.
 */

/** How many times each key occurs. */
export type KeyCounts = Map<string, number>;

export function addKey(counts: KeyCounts, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

/** How many of each kind, and the keys (each as often as it counts). */
export interface Comparison {
  duo: number;
  stored: number;
  /** In Duo, not stored (or stored fewer times than Duo holds it). */
  missing: string[];
  /** Stored more times than Duo holds it: one entry per extra copy. */
  doubled: string[];
  /** Stored, but not in Duo for this range at all. */
  unknown: string[];
}

const repeat = (key: string, n: number): string[] => Array.from({ length: n }, () => key);
const total = (c: KeyCounts): number => {
  let n = 0;
  for (const v of c.values()) n += v;
  return n;
};

export function compareCounts(duo: KeyCounts, stored: KeyCounts): Comparison {
  const out: Comparison = { duo: total(duo), stored: total(stored), missing: [], doubled: [], unknown: [] };
  for (const [key, d] of duo) {
    const s = stored.get(key) ?? 0;
    if (s < d) out.missing.push(...repeat(key, d - s));
    else if (s > d) out.doubled.push(...repeat(key, s - d));
  }
  for (const [key, s] of stored) if (!duo.has(key)) out.unknown.push(...repeat(key, s));
  return out;
}

/** One stored object of a window, as far as verify knows it: its page and the times its lines span. */
export interface StoredPage {
  page: number;
  /** Supplements and repairs belong to their page; only the page itself counts for holes. */
  base: boolean;
  /** The first and last millisecond of its lines; undefined when it held none that could be read. */
  minMs?: number | undefined;
  maxMs?: number | undefined;
}

/** The collector's windows tile time: `[mintimeMs, maxtimeMs]`, with the stored objects of each. */
export interface StoredWindow {
  mintimeMs: number;
  maxtimeMs: number;
  pages: StoredPage[];
}

/**
 * Whether an event missing at `ms` most likely was in an object deleted from the store: its window
 * has no object left, or it falls in a hole of the window's page numbers (page k gone while pages
 * after it are there), between what the pages around the hole hold. Anything else (a line removed
 * from an object that is still there, an event never written, one Duo published late) is not.
 * A window's last pages gone leave no hole and so are not recognised.
 */
export function inDeletedObject(ms: number, windows: readonly StoredWindow[]): boolean {
  const w = windows.find((x) => ms >= x.mintimeMs && ms <= x.maxtimeMs);
  // No window of the collector's holds this time: every object of its window is gone.
  if (!w || w.pages.length === 0) return true;
  const base = new Map<number, StoredPage>();
  for (const p of w.pages) {
    if (!p.base) continue;
    base.set(p.page, p);
  }
  const numbers = [...new Set(w.pages.map((p) => p.page))].sort((a, b) => a - b);
  const last = numbers[numbers.length - 1] ?? 0;
  for (let k = 1; k < last; k++) {
    if (base.has(k)) continue;
    // Page k is gone: its events lay between what the pages around it hold.
    const before = spanOf(w.pages, k - 1);
    const after = spanOf(w.pages, nextPresent(base, k, last));
    const from = before?.maxMs ?? w.mintimeMs;
    const to = after?.minMs ?? w.maxtimeMs;
    if (ms >= from && ms <= to) return true;
  }
  return false;
}

function nextPresent(base: Map<number, StoredPage>, k: number, last: number): number {
  for (let n = k + 1; n <= last; n++) if (base.has(n)) return n;
  return last;
}

/** The times page `n` (with its supplements and repairs) spans. */
function spanOf(pages: readonly StoredPage[], n: number): { minMs: number; maxMs: number } | undefined {
  let minMs = Number.POSITIVE_INFINITY;
  let maxMs = Number.NEGATIVE_INFINITY;
  for (const p of pages) {
    if (p.page !== n || p.minMs === undefined || p.maxMs === undefined) continue;
    minMs = Math.min(minMs, p.minMs);
    maxMs = Math.max(maxMs, p.maxMs);
  }
  return Number.isFinite(minMs) ? { minMs, maxMs } : undefined;
}

/**
 * The page a repair of an event at `ms` belongs to: the stored page whose lines span it, else the last
 * page before it, else page 1.
 */
export function repairPage(ms: number, w: StoredWindow): number {
  let best = 1;
  for (const p of [...w.pages].sort((a, b) => a.page - b.page)) {
    if (p.minMs === undefined) continue;
    if (p.minMs <= ms) best = p.page;
  }
  return best;
}

/**
 * The next slice length: shorter when a slice held more events than `target` (its keys are held in
 * memory), longer when it held far fewer (every slice costs at least one request to Duo).
 */
export function nextSliceMs(lengthMs: number, events: number, target: number, bounds: { minMs: number; maxMs: number }): number {
  if (events > target) return Math.max(bounds.minMs, Math.floor(lengthMs / 2));
  if (events < target / 4) return Math.min(bounds.maxMs, lengthMs * 2);
  return lengthMs;
}
