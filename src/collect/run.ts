/**
 * One collection run (docs/protocol.md): load the checkpoint, open or resume a window, and for each
 * page: fetch, write the object create-only, then commit the cursor with compare-and-swap. The CLI,
 * the Cloud Run function and the daemon all call `runOnce`.
 */
import type { Logger } from 'pino';
import type { PageRequest, TelephonyItem, TelephonyPage } from '../duo/types.js';
import { tsMillis } from '../duo/ts.js';
import type { CheckpointStore } from '../checkpoint/types.js';
import { initialCheckpoint, parseStoredCheckpoint, serializeCheckpoint, type Checkpoint } from '../checkpoint/codec.js';
import type { PageObject, Sink } from '../sinks/types.js';
import { formatObjectName } from '../sinks/object-name.js';
import { CheckpointConflictError, CheckpointError, CollectorError } from '../errors.js';
import { computeWindow, DUO_RETENTION_MS, staleWindowAdvice } from './window.js';
import { buildPageObject } from './page-object.js';
import { noFailpoint, type Failpoint } from './failpoint.js';

/** What runOnce needs of the Duo client. */
export interface PageSource {
  getTelephonyPage(req: PageRequest, signal?: AbortSignal): Promise<TelephonyPage>;
  readonly stats?: { readonly requests: number; readonly retries: number; readonly rateLimited: number };
}

export interface RunSettings {
  prefix: string;
  apiHost: string;
  enrich: boolean;
  pageLimit: number;
  /** 0 = unlimited. */
  maxPages: number;
  delayMs: number;
  lookbackMs: number;
  /** LOOKBACK_HOURS was set explicitly: say so when a checkpoint makes it moot. */
  lookbackExplicit?: boolean;
  windowMaxMs: number;
  /** Stop opening pages after this long; `Infinity` for no limit. */
  budgetMs: number;
}

export interface RunProgress {
  /** The whole backlog of this run: from where the checkpoint stood at its start… */
  fromMs: number;
  /** …to where it counts as caught up (its start time minus the delay). */
  toMs: number;
  /** Where paging stands: the `ts` of the last item written, else the window start. */
  positionMs: number;
  nowMs: number;
  pages: number;
  events: number;
}

export interface RunDeps {
  client: PageSource;
  sink: Sink;
  checkpoints: CheckpointStore;
  settings: RunSettings;
  logger: Logger;
  now?: () => number;
  failpoint?: Failpoint;
  onProgress?: (p: RunProgress) => void;
  /** Passed to in-flight I/O; `signal` (the second argument of runOnce) only stops before the next page. */
  hardSignal?: AbortSignal;
}

export type RunOutcome =
  /** Every window up to run start minus the delay is closed. */
  | 'caught-up'
  /** `maxPages` reached. */
  | 'page-limit'
  /** The time budget ran out; the next run continues. */
  | 'budget'
  /** Another run moved the checkpoint: it owns the window. */
  | 'conflict'
  /** Asked to stop (SIGTERM); the page in flight was finished and committed. */
  | 'stopped';

export interface RunSummary {
  outcome: RunOutcome;
  events: number;
  objectsCreated: number;
  objectsExisting: number;
  /** Items dropped because the previous window already wrote them (boundary millisecond). */
  duplicatesDropped: number;
  pages: number;
  windowsClosed: number;
  requests: number;
  retries: number;
  rateLimited: number;
  /** How far the checkpoint is behind now, in ms. */
  lagMs: number;
  durationMs: number;
  checkpoint: Checkpoint;
  sink: string;
  checkpointLocation: string;
}

export async function runOnce(deps: RunDeps, signal?: AbortSignal): Promise<RunSummary> {
  const now = deps.now ?? Date.now;
  const failpoint = deps.failpoint ?? noFailpoint;
  const { settings: s, logger, sink, checkpoints } = deps;
  const startMs = now();
  const statsAtStart = { ...(deps.client.stats ?? { requests: 0, retries: 0, rateLimited: 0 }) };
  const counters = { events: 0, objectsCreated: 0, objectsExisting: 0, duplicatesDropped: 0, pages: 0, windowsClosed: 0 };

  const stored = await checkpoints.load(deps.hardSignal);
  let version: string | null = stored?.version ?? null;
  let cp: Checkpoint;
  if (stored) {
    cp = parseStoredCheckpoint(stored, new Date(startMs).toISOString());
    if (stored.version === null) {
      logger.info({ event: 'checkpoint.migrating', from: stored.location, to: checkpoints.location }, `carrying on from ${stored.location}; the new checkpoint goes to ${checkpoints.location}`);
    }
  } else {
    cp = initialCheckpoint(startMs - s.lookbackMs, new Date(startMs).toISOString());
    logger.info({ event: 'checkpoint.missing', location: checkpoints.location, startMs: cp.nextMintimeMs }, `no checkpoint yet: starting ${s.lookbackMs / 3_600_000} h back`);
  }
  // LOOKBACK_HOURS places only the first run. Say so when it asks for history this store never
  // collected (set after a first run, expecting it to apply); a setting left in place stays quiet.
  const lookbackFromMs = startMs - s.lookbackMs;
  if (stored && s.lookbackExplicit && cp.collectedFromMs !== undefined && lookbackFromMs < cp.collectedFromMs - 60_000) {
    logger.warn(
      { event: 'lookback.ignored', location: stored.location, lookbackFromMs, collectedFromMs: cp.collectedFromMs },
      `LOOKBACK_HOURS reaches back to ${new Date(lookbackFromMs).toISOString()}, but collection into this store began at ` +
        `${new Date(cp.collectedFromMs).toISOString()} and the checkpoint ${stored.location} says where each run starts: ` +
        'LOOKBACK_HOURS only places the very first run. `duo-secops state reset --to <time> --yes` moves the start, and writes again what was collected since',
    );
  }
  /**
   * With no checkpoint at all, the first window is committed only once Duo has answered its first
   * request: a run that never reaches Duo (a wrong key, no network) leaves nothing behind that would
   * pin the start, so a corrected LOOKBACK_HOURS still applies. Exactly-once holds the same: the window
   * is still committed before anything is written.
   */
  let deferredOpen: Checkpoint | null = null;
  const fromMs = cp.open ? cp.open.mintimeMs : cp.nextMintimeMs;
  let positionMs = fromMs;

  const finish = (outcome: RunOutcome): RunSummary => {
    const end = now();
    const st = deps.client.stats ?? { requests: 0, retries: 0, rateLimited: 0 };
    const position = cp.open ? cp.open.mintimeMs : cp.nextMintimeMs;
    const summary: RunSummary = {
      outcome,
      ...counters,
      requests: st.requests - statsAtStart.requests,
      retries: st.retries - statsAtStart.retries,
      rateLimited: st.rateLimited - statsAtStart.rateLimited,
      lagMs: Math.max(0, end - position),
      durationMs: end - startMs,
      checkpoint: cp,
      sink: sink.location,
      checkpointLocation: checkpoints.location,
    };
    logger.info({ event: 'run.finished', ...summary, checkpoint: undefined }, `run finished: ${outcome}`);
    return summary;
  };

  /** Compare-and-swap; a conflict means another run owns the window. */
  const commit = async (next: Checkpoint): Promise<boolean> => {
    next.updatedAt = new Date(now()).toISOString();
    failpoint('checkpoint.committing');
    const bytes = serializeCheckpoint(next);
    try {
      version = await checkpoints.save(bytes, version, deps.hardSignal);
    } catch (err) {
      // A save whose answer was lost is retried by the storage client and then "conflicts" with
      // itself: if the stored document is exactly ours, the commit did land.
      const current = err instanceof CheckpointConflictError ? await checkpoints.load(deps.hardSignal).catch(() => null) : null;
      if (current && current.version !== null && current.data.equals(bytes)) {
        version = current.version;
      } else if (err instanceof CheckpointConflictError) {
        logger.info({ event: 'checkpoint.conflict', location: checkpoints.location }, 'another run moved the checkpoint: it owns the window; stopping');
        return false;
      } else {
        throw err;
      }
    }
    cp = next;
    failpoint('checkpoint.committed');
    // At info: the committed position is what an operator checks to see that nothing is lost or doubled.
    logger.info({ event: 'checkpoint.committed', nextMintimeMs: cp.nextMintimeMs, open: cp.open }, 'checkpoint committed');
    return true;
  };

  /**
   * The next page of the open window, requested while the current one is written and committed, so
   * Duo's response time overlaps our storage time. Safe for exactly-once: a read changes nothing, and
   * the page is only used if the committed cursor asks for exactly that request. Requests stay one at a
   * time and paced. Abandoned (aborted) when the run ends or the cursor goes elsewhere.
   */
  let prefetched: { request: PageRequest; page: Promise<PreparedPage>; controller: AbortController } | undefined;
  const abandonPrefetch = (): void => {
    prefetched?.controller.abort();
    prefetched = undefined;
  };
  /**
   * What a page at `pageNo` of the open window comes to: the object to write and what the cursor needs.
   * The items themselves are not kept: a page waiting its turn holds one buffer, not a thousand objects.
   */
  const prepare = (page: TelephonyPage, request: PageRequest, pageNo: number): PreparedPage => {
    const key = pageObjectName(s.prefix, request.mintimeMs, request.maxtimeMs, pageNo);
    const boundary = boundaryFor(request.mintimeMs);
    const { kept, dropped } = dropBoundaryDuplicates(page.items, request.mintimeMs, boundary);
    return {
      itemCount: page.items.length,
      nextOffset: page.nextOffset,
      key,
      boundary,
      obj: kept.length > 0 ? buildPageObject(key, kept, s.enrich ? { host: s.apiHost } : null) : null,
      keptCount: kept.length,
      dropped,
      tailIds: idsInMillisecond(kept, request.maxtimeMs),
      lastTs: kept[kept.length - 1]?.ts,
    };
  };
  const prefetch = (request: PageRequest, pageNo: number): void => {
    const controller = new AbortController();
    const page = deps.client
      .getTelephonyPage(request, deps.hardSignal ? AbortSignal.any([deps.hardSignal, controller.signal]) : controller.signal)
      // Built as soon as it arrives, while the current page's storage I/O is in flight; used only if
      // the object key and the boundary ids are still the same when its turn comes.
      .then((p) => prepare(p, request, pageNo));
    // Its failure is reported when the page is awaited, never as an unhandled rejection meanwhile.
    page.catch(() => {});
    prefetched = { request, page, controller };
  };
  /** Ids of the window's first millisecond that the previous window wrote (only when it starts there). */
  const boundaryFor = (mintimeMs: number): readonly string[] => (mintimeMs === cp.nextMintimeMs ? cp.boundaryIds : []);

  /** Once the window is committed: the crash point and the log line that say so. */
  const windowOpened = (w: { mintimeMs: number; maxtimeMs: number }): void => {
    failpoint('window.opened');
    logger.info({ event: 'window.opened', mintimeMs: w.mintimeMs, maxtimeMs: w.maxtimeMs }, 'window opened');
  };

  const budgetSpent = (): boolean => now() - startMs >= s.budgetMs;
  const pageLimitReached = (): boolean => s.maxPages > 0 && counters.pages >= s.maxPages;

  try {
    return await pageLoop();
  } finally {
    abandonPrefetch();
  }

  async function pageLoop(): Promise<RunSummary> {
    for (;;) {
      if (signal?.aborted) return finish('stopped');
      if (budgetSpent()) return finish('budget');
      if (pageLimitReached()) return finish('page-limit');

      if (!cp.open) {
        const w = computeWindow(cp.nextMintimeMs, now(), { delayMs: s.delayMs, windowMaxMs: s.windowMaxMs });
        if (!w) return finish('caught-up');
        if (w.skippedMs > 0) {
          logger.warn(
            { event: 'window.clamped', skippedMs: w.skippedMs },
            `the checkpoint is older than Duo keeps logs (180 days): ${Math.round(w.skippedMs / 3_600_000)} h of history can no longer be fetched`,
          );
        }
        const opened: Checkpoint = {
          ...cp,
          // Boundary ids only concern the millisecond the old start named; a clamped start drops them.
          boundaryIds: w.mintimeMs === cp.nextMintimeMs ? cp.boundaryIds : [],
          nextMintimeMs: w.mintimeMs,
          open: { mintimeMs: w.mintimeMs, maxtimeMs: w.maxtimeMs, nextOffset: null, page: 1, limit: s.pageLimit, boundaryIds: [] },
        };
        // Committed before the first request so a restarted or concurrent run pages this very window
        // (on a first run, before the first write: see deferredOpen).
        if (stored === null && version === null) {
          deferredOpen = opened;
          cp = opened;
        } else {
          if (!(await commit(opened))) return finish('conflict');
          windowOpened(w);
        }
      }

      const open = cp.open!;
      // Duo would answer 400 to this window on every run from now on: say what to do instead.
      const nowMs = now();
      if (open.mintimeMs < nowMs - DUO_RETENTION_MS) throw new CheckpointError(`${checkpoints.location}: ${staleWindowAdvice(open, nowMs)}`);
      const request: PageRequest = { mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, limit: open.limit, nextOffset: open.nextOffset };
      const ready = prefetched !== undefined && samePageRequest(prefetched.request, request) ? prefetched.page : undefined;
      if (!ready) abandonPrefetch();
      prefetched = undefined;
      let page = ready ? await ready : undefined;
      // Built for a state that no longer holds (it cannot, while this run owns the window): ask again.
      if (page && !(page.key === pageObjectName(s.prefix, open.mintimeMs, open.maxtimeMs, open.page) && sameIds(page.boundary, boundaryFor(open.mintimeMs)))) page = undefined;
      page ??= prepare(await deps.client.getTelephonyPage(request, deps.hardSignal), request, open.page);
      if (deferredOpen) {
        const first = deferredOpen;
        deferredOpen = null;
        if (!(await commit(first))) return finish('conflict');
        windowOpened(first.open!);
      }
      counters.pages += 1;
      failpoint('page.fetched');
      logger.debug({ event: 'page.fetched', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, page: open.page, items: page.itemCount, more: page.nextOffset !== null }, 'page fetched');
      // An empty page closes the window whatever cursor it carries; a full one must move the cursor.
      if (page.itemCount > 0 && page.nextOffset !== null && page.nextOffset === open.nextOffset) {
        throw new CollectorError('DUO_BAD_RESPONSE', `Duo returned the same next_offset it was sent (${open.nextOffset}); stopping instead of looping`);
      }

      // Not when this run is about to stop (stop signal, page limit, time budget spent), so a request of
      // Duo's budget is spent for nothing at most when the time budget runs out during this page.
      if (page.itemCount > 0 && page.nextOffset !== null && !signal?.aborted && !pageLimitReached() && !budgetSpent()) {
        prefetch({ ...request, nextOffset: page.nextOffset }, open.page + 1);
      }

      counters.duplicatesDropped += page.dropped;
      const obj = page.obj;
      if (obj) {
        failpoint('object.writing');
        const outcome = await sink.writePage(obj, deps.hardSignal);
        failpoint('object.written');
        if (outcome === 'created') counters.objectsCreated += 1;
        else counters.objectsExisting += 1;
        counters.events += page.keptCount;
        logger.info({ event: 'batch.written', key: obj.key, items: obj.itemCount, bytes: obj.body.length, outcome }, `wrote ${obj.itemCount} events`);
      }

      const boundaryIds = open.boundaryIds.concat(page.tailIds);
      const closes = page.itemCount === 0 || page.nextOffset === null;
      // A closing page has paged the window to its end; otherwise paging stands at the last item's time.
      positionMs = Math.max(positionMs, closes ? open.maxtimeMs : (tsMillis(page.lastTs) ?? open.mintimeMs));
      deps.onProgress?.({
        fromMs,
        toMs: startMs - s.delayMs,
        // The last window may end a little past the run's own start minus the delay: that is 100 %.
        positionMs: Math.min(positionMs, startMs - s.delayMs),
        nowMs: now(),
        pages: counters.pages,
        events: counters.events,
      });

      if (closes) {
        // Close: the next window starts at maxtime inclusive (Duo's ts has microseconds, the bounds
        // milliseconds); ids already written in that millisecond are dropped there.
        const closed: Checkpoint = { ...cp, nextMintimeMs: open.maxtimeMs, boundaryIds, open: null };
        if (!(await commit(closed))) return finish('conflict');
        counters.windowsClosed += 1;
        logger.info({ event: 'window.closed', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, pages: open.page }, 'window closed');
        if (open.maxtimeMs >= startMs - s.delayMs) return finish('caught-up');
      } else {
        const advanced: Checkpoint = { ...cp, open: { ...open, nextOffset: page.nextOffset, page: open.page + 1, boundaryIds } };
        if (!(await commit(advanced))) return finish('conflict');
      }
    }
  }
}

/** A fetched page as the run uses it: the object its kept items make, and what the cursor needs. */
interface PreparedPage {
  itemCount: number;
  nextOffset: string | null;
  /** What it was built for: the object key and the boundary ids dropped. */
  key: string;
  boundary: readonly string[];
  obj: PageObject | null;
  keptCount: number;
  dropped: number;
  /** Ids written in the window's last millisecond (the next window drops them). */
  tailIds: string[];
  lastTs: unknown;
}

/** The name of a page of telephony logs (the one grammar: sinks/object-name.ts). */
function pageObjectName(prefix: string, mintimeMs: number, maxtimeMs: number, page: number): string {
  return formatObjectName({ prefix, stream: 'telephony', mintimeMs, maxtimeMs, page });
}

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((id, i) => id === b[i]));
}

function samePageRequest(a: PageRequest, b: PageRequest): boolean {
  return a.mintimeMs === b.mintimeMs && a.maxtimeMs === b.maxtimeMs && a.limit === b.limit && a.nextOffset === b.nextOffset;
}

/** Drop items of the window's first millisecond that the previous window already wrote. */
export function dropBoundaryDuplicates(items: TelephonyItem[], mintimeMs: number, boundaryIds: readonly string[]): { kept: TelephonyItem[]; dropped: number } {
  if (boundaryIds.length === 0) return { kept: items, dropped: 0 };
  const ids = new Set(boundaryIds);
  const kept = items.filter((it) => !(typeof it.telephony_id === 'string' && ids.has(it.telephony_id) && tsMillis(it.ts) === mintimeMs));
  return { kept, dropped: items.length - kept.length };
}

function idsInMillisecond(items: readonly TelephonyItem[], ms: number): string[] {
  const out: string[] = [];
  // Items come in ts order: only the tail can fall in the window's last millisecond.
  for (let i = items.length - 1; i >= 0; i--) {
    const it = items[i]!;
    const t = tsMillis(it.ts);
    if (t === null) continue;
    if (t < ms) break;
    if (t === ms && typeof it.telephony_id === 'string') out.push(it.telephony_id);
  }
  return out.reverse();
}
