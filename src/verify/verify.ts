/**
 * `verify`: re-read Duo for a past range and show that the store holds each of its events exactly once.
 *
 * The range `from ≤ ts < to` is walked in time slices, one after the other, so memory holds one slice's
 * keys whatever the range: for each slice, Duo's events are paged (through the paced client, as the
 * collector pages) and counted by key, every stored object that may hold lines of the slice is read
 * and its lines of the slice counted the same way, and the two multisets are compared
 * (compare.ts). A slice that held many events makes the next one shorter, one that held few makes it
 * longer: every slice costs at least one request to Duo.
 *
 * With `repair`, the events missing from a slice are fetched again from Duo and written, create-only,
 * as repair objects (`…_p<page>_r<n>.json`) of the window and page they belong to, so the SecOps feed
 * ingests them once. Those that were most likely in an object deleted from the store are written only
 * with `includeDeleted` (SecOps most likely ingested them already). Doubled events are reported, never
 * deleted.
 */
import { AbortedError, ObjectConflictError } from '../errors.js';
import type { DuoClient } from '../duo/client.js';
import type { DuoItem, LogStream } from '../duo/streams.js';
import type { Sink } from '../sinks/types.js';
import { formatObjectName, objectStream, parseObjectName, type ObjectName } from '../sinks/object-name.js';
import { buildPageObject, type Enrichment } from '../collect/page-object.js';
import { addKey, compareCounts, inDeletedObject, nextSliceMs, repairPage, type KeyCounts, type StoredWindow } from './compare.js';
import type { ObjectLister } from './listing.js';

/** A slice is shortened once it held this many of Duo's events… */
export const SLICE_TARGET_EVENTS = 5_000;
/** …and abandoned and split in two once it holds this many (its keys are in memory). */
const SLICE_MAX_EVENTS = 20_000;
const HOUR_MS = 3_600_000;
const SLICE_BOUNDS = { minMs: 1_000, maxMs: 7 * 24 * HOUR_MS };
/** How many keys of each kind a verdict lists. */
export const LISTED = 20;

export interface VerifyDeps {
  client: Pick<DuoClient, 'getPage'>;
  /** Reads objects and writes repairs (create-only). */
  sink: Pick<Sink, 'readPage' | 'writePage'>;
  list: ObjectLister;
  stream: LogStream;
  prefix: string;
  /** The lines repairs are made of: as the collector writes them (ENRICH). */
  enrich: Enrichment | null;
  onProgress?: (p: VerifyProgress) => void;
}

export interface VerifyProgress {
  fromMs: number;
  toMs: number;
  positionMs: number;
  duo: number;
  stored: number;
}

export interface VerifyRange {
  fromMs: number;
  toMs: number;
}

export interface VerifyOptions extends VerifyRange {
  repair?: boolean;
  includeDeleted?: boolean;
  signal?: AbortSignal;
}

export interface Verdict {
  duo: number;
  stored: number;
  missing: number;
  doubled: number;
  unknown: number;
  /** The first LISTED keys of each kind. */
  ids: { missing: string[]; doubled: string[]; unknown: string[] };
  /** Missing events that most likely were in an object deleted from the store. */
  inDeleted: number;
  /** Lines of stored objects that are not JSON objects (counted as unknown). */
  unreadableLines: number;
}

export interface RepairReport {
  /** Events written in repair objects. */
  written: number;
  objects: string[];
  /** Missing events left alone because they were most likely in a deleted object. */
  skippedDeleted: number;
}

interface ObjectInfo {
  key: string;
  name: ObjectName | null;
  /** The times its lines span, once it has been read; null when it holds no line with a time. */
  span?: { minMs: number; maxMs: number } | null;
  /** Its lines that are no event (not a JSON object), counted when it was first read. */
  unreadable?: number;
}

/** Compares the store with Duo over `[fromMs, toMs)`; with `repair`, writes what is missing and compares again. */
export async function verifyStream(deps: VerifyDeps, o: VerifyOptions): Promise<{ verdict: Verdict; repair?: RepairReport; before?: Verdict }> {
  const first = await compareRange(deps, o, o.repair ? { includeDeleted: o.includeDeleted ?? false } : undefined);
  if (!o.repair) return { verdict: first.verdict };
  const again = await compareRange(deps, o, undefined);
  return { verdict: again.verdict, before: first.verdict, repair: first.repair! };
}

async function compareRange(deps: VerifyDeps, o: VerifyOptions, repair: { includeDeleted: boolean } | undefined): Promise<{ verdict: Verdict; repair?: RepairReport }> {
  const objects = await listObjects(deps, o.signal);
  const verdict: Verdict = { duo: 0, stored: 0, missing: 0, doubled: 0, unknown: 0, ids: { missing: [], doubled: [], unknown: [] }, inDeleted: 0, unreadableLines: 0 };
  const report: RepairReport = { written: 0, objects: [], skippedDeleted: 0 };
  let lengthMs = HOUR_MS;
  for (let a = o.fromMs; a < o.toMs; ) {
    const b = Math.min(o.toMs, a + lengthMs);
    // A slice of the shortest length is counted whatever it holds: a burst is what Duo has.
    const duo = await duoCounts(deps, a, b, b - a <= SLICE_BOUNDS.minMs ? Number.POSITIVE_INFINITY : SLICE_MAX_EVENTS, o.signal);
    if (duo === 'too-many') {
      // Too many events for one slice in memory: the same start, half the length.
      lengthMs = Math.max(SLICE_BOUNDS.minMs, Math.floor((b - a) / 2));
      continue;
    }
    const stored = await storedCounts(deps, objects, a, b, o.signal);
    verdict.unreadableLines += stored.unreadable.length;
    const c = compareCounts(duo.counts, stored.counts);
    c.unknown.push(...stored.unreadable);
    c.stored += stored.unreadable.length;
    verdict.duo += c.duo;
    verdict.stored += c.stored;
    verdict.missing += c.missing.length;
    verdict.doubled += c.doubled.length;
    verdict.unknown += c.unknown.length;
    for (const kind of ['missing', 'doubled', 'unknown'] as const) {
      const room = LISTED - verdict.ids[kind].length;
      if (room > 0) verdict.ids[kind].push(...c[kind].slice(0, room));
    }
    if (c.missing.length > 0) {
      const found = await missingItems(deps, a, b, c.missing, o.signal);
      const windows = windowsOf(objects);
      const kept = found.filter(({ ms }) => !inDeletedObject(ms, windows));
      verdict.inDeleted += found.length - kept.length;
      if (repair) {
        const chosen = repair.includeDeleted ? found : kept;
        report.skippedDeleted += found.length - chosen.length;
        const written = await writeRepairs(deps, objects, windows, chosen, a, b, o.signal);
        report.written += chosen.length;
        report.objects.push(...written);
      }
    }
    deps.onProgress?.({ fromMs: o.fromMs, toMs: o.toMs, positionMs: b, duo: verdict.duo, stored: verdict.stored });
    lengthMs = nextSliceMs(b - a, c.duo, SLICE_TARGET_EVENTS, SLICE_BOUNDS);
    a = b;
  }
  return repair ? { verdict, repair: report } : { verdict };
}

async function listObjects(deps: VerifyDeps, signal: AbortSignal | undefined): Promise<ObjectInfo[]> {
  const out: ObjectInfo[] = [];
  for await (const o of deps.list(deps.prefix, signal)) {
    if (signal?.aborted) throw new AbortedError('verify stopped');
    const name = parseObjectName(o.key);
    out.push({ key: o.key, name: name && name.prefix === deps.prefix && name.stream === objectStream(deps.stream.name) ? name : null });
  }
  return out;
}

/** Duo's events of `[a, b)` by key, or 'too-many' past `max`. */
async function duoCounts(deps: VerifyDeps, a: number, b: number, max: number, signal: AbortSignal | undefined): Promise<{ counts: KeyCounts } | 'too-many'> {
  const counts: KeyCounts = new Map();
  let n = 0;
  for await (const items of duoPages(deps, a, b, signal)) {
    for (const item of items) addKey(counts, deps.stream.contentKey(item));
    n += items.length;
    if (n > max) return 'too-many';
  }
  return { counts };
}

/**
 * Duo's items of `[a, b)`, a page at a time, each once: pages follow Duo's cursor, and an item the next
 * page serves again (the administrator log re-reads its last second) is skipped by its key, as the
 * collector does. Only the previous page's keys are kept: a slice's keys are already held once, by the
 * caller. A page at a time, handled before the next request: items kept across the wait for Duo would
 * outlive the young generation and fill the old one with garbage.
 */
async function* duoPages(deps: VerifyDeps, a: number, b: number, signal: AbortSignal | undefined): AsyncGenerator<DuoItem[]> {
  const state: PagingState = { previous: new Set(), nextOffset: null, done: false };
  while (!state.done) {
    // The page is read and filtered in a function of its own, so nothing of it but what is yielded
    // outlives the call; and that is let go before the next request.
    let fresh: DuoItem[] | undefined = await nextFresh(deps, a, b, state, signal);
    yield fresh;
    fresh = undefined;
  }
}

interface PagingState {
  /** Keys of the previous page's items. */
  previous: Set<string>;
  nextOffset: string | null;
  done: boolean;
}

async function nextFresh(deps: VerifyDeps, a: number, b: number, state: PagingState, signal: AbortSignal | undefined): Promise<DuoItem[]> {
  const { stream } = deps;
  const page = await deps.client.getPage(stream, { mintimeMs: a, maxtimeMs: b, limit: stream.maxLimit, nextOffset: state.nextOffset }, signal);
  const keys = stream.itemKeys(page.items);
  const current = new Set<string>();
  const fresh: DuoItem[] = [];
  for (let i = 0; i < page.items.length; i++) {
    const item = page.items[i]!;
    const ms = stream.itemMs(item);
    const key = keys[i]!;
    if (ms === null || ms < a || ms >= b || state.previous.has(key) || current.has(key)) continue;
    current.add(key);
    fresh.push(item);
  }
  state.previous = current;
  // No cursor, or one that does not move: the range is read.
  if (page.nextOffset === null || page.nextOffset === state.nextOffset || page.items.length === 0) state.done = true;
  else state.nextOffset = page.nextOffset;
  return fresh;
}

/** Whether an object may hold lines of `[a, b)`: by what it was seen to hold, else by its window. */
function mayHold(o: ObjectInfo, a: number, b: number): boolean {
  if (o.span === null) return false;
  if (o.span) return o.span.maxMs >= a && o.span.minMs < b;
  if (o.name) return o.name.maxtimeMs >= a && o.name.mintimeMs < b;
  return true;
}

/** The stored lines of `[a, b)` by key, reading every object that may hold some (and noting what each holds). */
async function storedCounts(deps: VerifyDeps, objects: ObjectInfo[], a: number, b: number, signal: AbortSignal | undefined): Promise<{ counts: KeyCounts; unreadable: string[] }> {
  const counts: KeyCounts = new Map();
  const unreadable: string[] = [];
  for (const o of objects) {
    if (!mayHold(o, a, b)) continue;
    if (signal?.aborted) throw new AbortedError('verify stopped');
    await countObject(deps, o, a, b, counts, unreadable, signal);
  }
  return { counts, unreadable };
}

/**
 * Reads one object and counts its lines of `[a, b)`. A function of its own, so that the object's text
 * and items are let go when it returns, not held across the next read.
 */
async function countObject(deps: VerifyDeps, o: ObjectInfo, a: number, b: number, counts: KeyCounts, unreadable: string[], signal: AbortSignal | undefined): Promise<void> {
  {
    const body = await deps.sink.readPage(o.key, signal);
    // Deleted since it was listed: it holds nothing any more.
    if (body === null) {
      o.span = null;
      return;
    }
    let minMs = Number.POSITIVE_INFINITY;
    let maxMs = Number.NEGATIVE_INFINITY;
    let bad = 0;
    // Line by line from the bytes: the whole object as one string would be a large object, allocated
    // straight in the old generation, and a thousand of them fill it with garbage.
    for (let n = 0, start = 0; start < body.length; n++) {
      const nl = body.indexOf(10, start);
      const end = nl < 0 ? body.length : nl;
      const line = body.toString('utf8', start, end);
      start = end + 1;
      if (line.trim() === '') continue;
      const item = parseLine(line);
      // A line that is no event: stored, and not Duo's. Counted once, when the object is first read.
      if (!item) {
        if (o.unreadable === undefined) unreadable.push(`${o.key}:${n + 1}`);
        bad += 1;
        continue;
      }
      const ms = deps.stream.itemMs(item);
      if (ms === null) continue;
      minMs = Math.min(minMs, ms);
      maxMs = Math.max(maxMs, ms);
      if (ms >= a && ms < b) addKey(counts, deps.stream.contentKey(item));
    }
    o.span = Number.isFinite(minMs) ? { minMs, maxMs } : null;
    o.unreadable = bad;
  }
}

function parseLine(line: string): DuoItem | null {
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as DuoItem) : null;
  } catch {
    return null;
  }
}

/** Duo's items of `[a, b)` whose keys are missing (as many of each as are missing), with their times. */
async function missingItems(deps: VerifyDeps, a: number, b: number, missing: readonly string[], signal: AbortSignal | undefined): Promise<Array<{ item: DuoItem; ms: number }>> {
  const wanted: KeyCounts = new Map();
  for (const key of missing) addKey(wanted, key);
  const out: Array<{ item: DuoItem; ms: number }> = [];
  for await (const items of duoPages(deps, a, b, signal)) {
    for (const item of items) {
      const key = deps.stream.contentKey(item);
      const left = wanted.get(key) ?? 0;
      if (left === 0) continue;
      wanted.set(key, left - 1);
      out.push({ item, ms: deps.stream.itemMs(item)! });
    }
  }
  return out;
}

/** The collector's windows of this stream, from the object names, with what each stored page spans. */
function windowsOf(objects: readonly ObjectInfo[]): StoredWindow[] {
  const byWindow = new Map<string, StoredWindow>();
  for (const o of objects) {
    if (!o.name || o.span === null) continue;
    const id = `${o.name.mintimeMs}_${o.name.maxtimeMs}`;
    let w = byWindow.get(id);
    if (!w) byWindow.set(id, (w = { mintimeMs: o.name.mintimeMs, maxtimeMs: o.name.maxtimeMs, pages: [] }));
    w.pages.push({ page: o.name.page, base: o.name.supplement === undefined && o.name.repair === undefined, minMs: o.span?.minMs, maxMs: o.span?.maxMs });
  }
  return [...byWindow.values()].sort((x, y) => x.mintimeMs - y.mintimeMs);
}

/**
 * Writes missing events as repair objects, create-only: grouped by the window and page they belong to
 * (a slice of its own when no window of the collector's holds them), each group as the next free
 * `_r<n>` of its page. Returns the names written.
 */
async function writeRepairs(
  deps: VerifyDeps,
  objects: ObjectInfo[],
  windows: readonly StoredWindow[],
  found: ReadonlyArray<{ item: DuoItem; ms: number }>,
  a: number,
  b: number,
  signal: AbortSignal | undefined,
): Promise<string[]> {
  const groups = new Map<string, { name: Omit<ObjectName, 'repair'>; items: DuoItem[] }>();
  for (const { item, ms } of found) {
    const w = windows.find((x) => ms >= x.mintimeMs && ms <= x.maxtimeMs);
    const base = { prefix: deps.prefix, stream: objectStream(deps.stream.name), mintimeMs: w?.mintimeMs ?? a, maxtimeMs: w?.maxtimeMs ?? b, page: w ? repairPage(ms, w) : 1 };
    const id = `${base.mintimeMs}_${base.maxtimeMs}_${base.page}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { name: base, items: [] }));
    g.items.push(item);
  }
  const written: string[] = [];
  for (const { name, items } of groups.values()) {
    items.sort((x, y) => deps.stream.itemMs(x)! - deps.stream.itemMs(y)!);
    const taken = new Set(
      objects.filter((o) => o.name && o.name.mintimeMs === name.mintimeMs && o.name.maxtimeMs === name.maxtimeMs && o.name.page === name.page && o.name.repair !== undefined).map((o) => o.name!.repair!),
    );
    for (let n = 1; ; n++) {
      if (taken.has(n)) continue;
      const key = formatObjectName({ ...name, repair: n });
      const obj = buildPageObject(key, items, deps.enrich);
      try {
        await deps.sink.writePage(obj, signal);
      } catch (err) {
        // Another repair of that page was written meanwhile (by a verify running beside this one): the next number.
        if (err instanceof ObjectConflictError) continue;
        throw err;
      }
      objects.push({ key, name: { ...name, repair: n } });
      written.push(key);
      break;
    }
  }
  return written;
}
