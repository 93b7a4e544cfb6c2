/**
 * One collection run, from request to committed cursor (docs/protocol.md follows this file step by
 * step). The CLI, the Cloud Run function and the daemon all call `runOnce`.
 *
 *   1. The keeper loads the checkpoint.
 *   2. With no window open, one is opened: from where the last one ended to Duo's now minus the delay.
 *      It is committed once Duo has answered its first page (and reopened first if that answer shows
 *      Duo's clock behind ours), never before: a run that never reaches Duo leaves nothing behind.
 *   3. Each page is judged (page.ts): new items, items already written, a Duo that went back.
 *   4. Its new items are stored create-only (store-page.ts), then the cursor is committed with
 *      compare-and-swap once the page is delivered (delivery.ts: at once, except for `--stdout` into a
 *      pipe). The next page is read meanwhile.
 *   5. A page without items or without a cursor ends the window: it is closed once Duo's clock has
 *      passed its end plus the delay, and otherwise stays open for a later run (clock.ts).
 */
import type { Logger } from 'pino';
import type { DuoPage, PageRequest } from '../duo/types.js';
import type { LearnedRates } from '../duo/pacer.js';
import { STREAMS, type LogStream, type StreamName } from '../duo/streams.js';
import type { CheckpointStore } from '../checkpoint/types.js';
import type { Checkpoint, OpenWindow, SkipThrough } from '../checkpoint/codec.js';
import type { PageObject, Sink } from '../sinks/types.js';
import { formatObjectName, objectStream, type ObjectName } from '../sinks/object-name.js';
import { buildPageObject, type Enrichment } from './page-object.js';
import { AbortedError, CheckpointError, DuoApiError } from '../errors.js';
import { computeWindow, DUO_RETENTION_MS, staleWindowAdvice } from './window.js';
import { noFailpoint, type Failpoint } from './failpoint.js';
import { openKeeper } from './keeper.js';
import { createDeliveryGate } from './delivery.js';
import { createPageReader } from './reader.js';
import { carryAfter, cursorsAfter, judgePage, skipIdsAtEnd, type PageCounts, type PageVerdict, type WrittenItem } from './page.js';
import { storePage } from './store-page.js';
import { duoNowFloor, duoTimeOf, mayClose, offsetFrom } from './clock.js';

/** What runOnce needs of the Duo client: pages of the stream it collects. */
export interface PageSource {
  getPage(req: PageRequest, signal?: AbortSignal): Promise<DuoPage>;
  readonly stats?: { readonly requests: number; readonly retries: number; readonly rateLimited: number };
  /** The pace learned so far (kept in the checkpoint as advice for the next run); undefined when pacing is off. */
  rate?(): LearnedRates | undefined;
  /** Start pacing from what an earlier run learned. */
  seedRate?(learned: LearnedRates | undefined): void;
}

export interface RunSettings {
  /** The log stream collected (default telephony). */
  stream?: LogStream;
  prefix: string;
  /** The host Duo's items came from (a child account's own host in accounts mode): ENRICH writes it. */
  apiHost: string;
  enrich: boolean;
  /** Accounts mode: the child account collected; every line carries its id and name. */
  account?: { id: string; name: string };
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
  /**
   * Read the next page while this one is stored (default true). Off when several streams run at once:
   * they overlap one another's waits already, and a page held ahead per stream is memory five times over.
   */
  readAhead?: boolean;
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
  /**
   * Streams collected side by side take turns per page: a turn is held from the page's request to its
   * commit (run-streams.ts `createTurns`), so only so many pages are in memory at once.
   */
  takeTurn?: (signal?: AbortSignal) => Promise<() => void>;
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
  /** Asked to stop (SIGTERM): a request to Duo in flight was abandoned, a page being stored committed. */
  | 'stopped';

export interface RunSummary {
  stream: StreamName;
  outcome: RunOutcome;
  events: number;
  objectsCreated: number;
  objectsExisting: number;
  /** Supplements written: events published inside a page after an earlier attempt wrote it. */
  supplements: number;
  /** Items not written again: already written by the previous window or an earlier page of this one. */
  duplicatesDropped: number;
  /** Items Duo served outside the window asked for: left to the window they belong to. */
  outsideWindow: number;
  /** Items written without an id (recognised by their content). */
  withoutId: number;
  /** Items written with a `ts` that cannot be read (they cannot be placed in a window). */
  withoutTs: number;
  pages: number;
  windowsClosed: number;
  /** The run caught up with a window Duo's clock has not yet passed (plus the delay): a later run closes it. */
  windowHeld: boolean;
  /** Duo's clock minus this machine's, as Duo's answers show it (ms); null when none said. */
  clockOffsetMs: number | null;
  requests: number;
  retries: number;
  rateLimited: number;
  /** The pace learned for this stream's endpoint and the integration at the end of the run; null when pacing is off. */
  learnedRate: LearnedRates | null;
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
  const { settings: s, sink } = deps;
  const stream = s.stream ?? STREAMS.telephony;
  const logger = deps.logger.child({ stream: stream.name });
  const startMs = now();
  const statsAtStart = { ...(deps.client.stats ?? { requests: 0, retries: 0, rateLimited: 0 }) };
  const counters: Counters = { events: 0, objectsCreated: 0, objectsExisting: 0, supplements: 0, duplicatesDropped: 0, outsideWindow: 0, withoutId: 0, withoutTs: 0, pages: 0, windowsClosed: 0 };

  // 1. The checkpoint.
  const keeper = await openKeeper({ store: deps.checkpoints, logger, now, failpoint, lookbackMs: s.lookbackMs, signal: deps.hardSignal });
  /** The state this run works from; committed once its pages are delivered (delivery.ts). */
  let cp = keeper.checkpoint;
  const gate = createDeliveryGate(sink.inFlightBytes ?? 0);
  /** Hold `next` until delivered, commit what is due; false when another run moved the checkpoint. */
  const commit = async (next: Checkpoint): Promise<boolean> => {
    gate.hold(next);
    const due = gate.due();
    return due === undefined || (await keeper.commit(due)) !== null;
  };
  warnIfLookbackIgnored(deps, keeper.loaded?.location, cp, startMs);
  // Duo's clock minus ours: as last seen, until this run hears from Duo.
  let offsetMs = cp.clockOffsetMs;
  let offsetSeen = false;
  // The pace an earlier run learned: the client starts from it instead of learning Duo's limit again.
  deps.client.seedRate?.(cp.learnedRate);
  /** What this run learned and commits anyway with its pages: advice for the next run, not part of the protocol. */
  const advice = (): Pick<Checkpoint, 'clockOffsetMs' | 'learnedRate'> => {
    const learnedRate = deps.client.rate?.() ?? cp.learnedRate;
    return learnedRate ? { clockOffsetMs: offsetMs, learnedRate } : { clockOffsetMs: offsetMs };
  };
  const fromMs = cp.open ? cp.open.mintimeMs : cp.nextMintimeMs;
  let positionMs = fromMs;
  /** Where this run counts as caught up: its own start, on Duo's clock, minus the delay. */
  const caughtUpAt = (): number => duoNowFloor(startMs, offsetMs) - s.delayMs;

  const finish = (outcome: RunOutcome, windowHeld = false): RunSummary => {
    const st = deps.client.stats ?? { requests: 0, retries: 0, rateLimited: 0 };
    const summary = summarize({
      stream: stream.name,
      outcome,
      windowHeld,
      counters,
      cp: keeper.checkpoint,
      startMs,
      endMs: now(),
      statsAtStart,
      stats: st,
      offsetMs: offsetSeen ? offsetMs : undefined,
      learnedRate: deps.client.rate?.() ?? null,
      deps,
    });
    logger.info({ event: 'run.finished', ...summary, stream: undefined, checkpoint: undefined }, `run finished: ${outcome}${windowHeld ? " (the last window stays open until Duo's clock passes its end)" : ''}`);
    return summary;
  };

  // The time budget bounds the whole run, retries and backoff included: at the deadline, as on a stop
  // signal, a request to Duo in flight (or its backoff) is abandoned; storage I/O is left to finish
  // (its own timeout bounds it) unless the hard signal aborts it too.
  const deadline = Number.isFinite(s.budgetMs) ? AbortSignal.timeout(Math.max(0, s.budgetMs)) : undefined;
  const readSignal = anySignal([signal, deadline, deps.hardSignal]);
  const reader = createPageReader<PreparedPage>(deps.client, readSignal);
  let release = noTurn;
  try {
    /** A window opened but not committed yet, and whether it was opened again after Duo's answer. */
    let pending: { cp: Checkpoint; reopened: boolean } | null = null;
    for (;;) {
      // The previous page is committed: its turn goes to the next stream waiting.
      release();
      release = noTurn;
      if (signal?.aborted) return finish('stopped');
      if (now() - startMs >= s.budgetMs) return finish('budget');
      if (s.maxPages > 0 && counters.pages >= s.maxPages) return finish('page-limit');

      // 2. A window to page: the open one, or a new one.
      if (!cp.open && !pending) {
        const opened = openWindow(cp, caughtUpAt() + s.delayMs, s, logger, stream);
        if (!opened) return finish('caught-up');
        pending = { cp: opened, reopened: false };
      }
      const open = (pending?.cp.open ?? cp.open) as OpenWindow;
      if (!pending) assertNotStale(open, duoNowFloor(now(), offsetMs), deps.checkpoints.location);
      const request: PageRequest = { mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, limit: open.limit, nextOffset: open.nextOffset };
      let got: Awaited<ReturnType<typeof reader.get>> | undefined;
      try {
        if (deps.takeTurn) release = await deps.takeTurn(readSignal);
        got = await reader.get(request);
      } catch (err) {
        if (signal?.aborted) return finish('stopped');
        if (deadline?.aborted) return finish('budget');
        throw err;
      }
      // Duo's clock as this answer shows it; the items are settled below.
      const answer = { serverDateMs: got.page.serverDateMs, receivedAtMs: got.page.receivedAtMs };
      const learned = offsetFrom(answer);
      if (learned !== undefined) {
        if (!offsetSeen && Math.abs(learned) > CLOCK_WARN_MS) {
          logger.warn({ event: 'clock.offset', clockOffsetMs: learned }, `Duo's clock is ${formatSeconds(learned)} from this machine's: windows follow Duo's clock; sync this machine's clock (NTP)`);
        }
        offsetMs = learned;
        offsetSeen = true;
      }
      if (pending) {
        // Duo's clock says this window would end in its future: open it again by Duo's clock (once).
        if (!pending.reopened && !mayClose(open.maxtimeMs, duoTimeOf(answer, now(), offsetMs), s.delayMs)) {
          const again = openWindow(cp, caughtUpAt() + s.delayMs, s, logger, stream);
          if (!again) return finish('caught-up');
          pending = { cp: again, reopened: true };
          continue;
        }
        const opened: Checkpoint = { ...pending.cp, ...advice() };
        pending = null;
        if (!(await commit(opened))) return finish('conflict');
        cp = opened;
        failpoint('window.opened');
        logger.info({ event: 'window.opened', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs }, 'window opened');
      }
      counters.pages += 1;
      failpoint('page.fetched');
      logger.debug({ event: 'page.fetched', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, page: open.page, items: got.page.items.length, more: got.page.nextOffset !== null }, 'page fetched');

      // 3. What the page holds (judged on arrival when it was read ahead for exactly this state), and its
      // object. From here on only the object's bytes are kept: the page's parsed items are let go before
      // anything is awaited, so they die young instead of living through storing and committing.
      const enrich = enrichmentOf(s, stream);
      const name: ObjectName = { prefix: s.prefix, stream: objectStream(stream.name), mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, page: open.page };
      const settled = settlePage(got, { open, skipIds: cp.skipIds, skipThrough: cp.skipThrough }, stream, formatObjectName(name), enrich);
      got = undefined;
      if ('problem' in settled) {
        throw new DuoApiError('DUO_BAD_RESPONSE', { httpStatus: 200, path: stream.path }, {
          retryable: true,
          summary: `${settled.problem}. Nothing of this page was written or committed; the next run asks for it again`,
        });
      }
      const { verdict } = settled;
      count(counters, verdict.counts);
      const closing = verdict.endOfWindow;
      const held = closing && !mayClose(open.maxtimeMs, duoTimeOf(answer, now(), offsetMs), s.delayMs);
      /** The window after this page, given what was found written before (normally nothing). */
      const openAfter = (found: readonly WrittenItem[]): OpenWindow => ({
        ...open,
        nextOffset: verdict.nextCursor,
        page: open.page + 1,
        carry: carryAfter(open.carry, [...found, ...verdict.written, ...verdict.writtenBefore], verdict.nextCursor, open.maxtimeMs, stream),
        cursors: cursorsAfter(open.cursors, open.nextOffset, verdict.nextCursor as string, stream),
      });
      const expected = closing ? undefined : openAfter([]);
      const skipThroughAfter = verdict.skipThroughDone ? undefined : cp.skipThrough;
      // The next page, read and judged while this one is stored and committed (not when this run is about
      // to stop); used only if the committed window is exactly the one it was judged for.
      if (expected && s.readAhead !== false && !signal?.aborted && !(s.maxPages > 0 && counters.pages >= s.maxPages) && now() - startMs < s.budgetMs) {
        reader.readAhead({ ...request, nextOffset: verdict.nextCursor }, prepareAhead(expected, cp.skipIds, skipThroughAfter, s.prefix, enrich, stream));
      }

      // 4. Store the new items, create-only.
      const stored = await storePage({
        sink,
        name,
        obj: settled.obj,
        written: verdict.written,
        stream,
        stillOwner: keeper.stillOwner,
        logger,
        failpoint,
        signal: deps.hardSignal,
      });
      if (stored === 'not-owner') return finish('conflict');
      counters.objectsCreated += stored.objectsCreated;
      counters.objectsExisting += stored.objectsExisting;
      counters.supplements += stored.supplements;
      counters.events += stored.events;
      gate.wrote(stored.bytes);

      positionMs = Math.max(positionMs, closing && !held ? open.maxtimeMs : (settled.lastMs ?? open.mintimeMs));
      deps.onProgress?.({ fromMs, toMs: caughtUpAt(), positionMs: Math.min(positionMs, caughtUpAt()), nowMs: now(), pages: counters.pages, events: counters.events });

      // 5. Commit: the next page, or the end of the window, or wait for Duo's clock.
      if (held) {
        logger.info(
          { event: 'window.held', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, page: open.page },
          "Duo's clock has not passed this window's end plus the delay yet: it stays open, and a later run asks for this page again",
        );
        return finish('caught-up', true);
      }
      const next: Checkpoint = closing
        ? { ...cp, nextMintimeMs: open.maxtimeMs, skipIds: skipIdsAtEnd(open.carry, [...stored.found, ...verdict.written, ...verdict.writtenBefore], open.maxtimeMs), open: null, ...advice() }
        : { ...cp, ...advice(), open: stored.found.length === 0 ? expected! : openAfter(stored.found), skipThrough: skipThroughAfter };
      if (next.skipThrough === undefined) delete next.skipThrough;
      if (!(await commit(next))) return finish('conflict');
      cp = next;
      if (closing) {
        counters.windowsClosed += 1;
        logger.info({ event: 'window.closed', mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, pages: open.page }, 'window closed');
      }
    }
  } catch (err) {
    // Storage I/O abandoned after a stop signal's grace (or Duo's page at the deadline): nothing past the
    // last commit was committed, and this is the stop that was asked for.
    if (err instanceof AbortedError && (signal?.aborted || deps.hardSignal?.aborted)) return finish('stopped');
    if (err instanceof AbortedError && deadline?.aborted) return finish('budget');
    throw err;
  } finally {
    release();
    reader.abandon();
  }
}

const noTurn = (): void => {};

/** One signal that aborts when any of `signals` does. */
function anySignal(signals: ReadonlyArray<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((x): x is AbortSignal => x !== undefined);
  return present.length === 0 ? undefined : present.length === 1 ? present[0] : AbortSignal.any(present);
}

/** A page read ahead and judged on arrival, for the window state it was judged against. */
interface PreparedPage {
  open: OpenWindow;
  skipThrough: SkipThrough | undefined;
  verdict: PageVerdict;
  obj: PageObject | null;
}

/** A page judged, its object built, its items let go. */
interface SettledPage {
  verdict: Omit<Extract<PageVerdict, { ok: true }>, 'write'>;
  /** The page's object (its new items, one line each); null when it has none. */
  obj: PageObject | null;
  /** The millisecond of its last new item, for the progress display. */
  lastMs: number | null;
}

/**
 * Judges the page fetched for `state` (or takes the judgement made on arrival, when it was made for
 * exactly that state) and builds its object, then empties the page: its items are referenced by
 * nothing once this returns.
 */
function settlePage(
  got: { page: DuoPage; prepared?: PreparedPage | undefined },
  state: { open: OpenWindow; skipIds: readonly string[]; skipThrough: SkipThrough | undefined },
  stream: LogStream,
  key: string,
  enrich: Enrichment | null,
): SettledPage | { problem: string } {
  const { page, prepared } = got;
  const ready = prepared !== undefined && prepared.open === state.open && prepared.skipThrough === state.skipThrough ? prepared : undefined;
  const judged = ready?.verdict ?? judgePage(state, page, stream);
  page.items = [];
  got.prepared = undefined;
  if (!judged.ok) return { problem: judged.problem };
  const { write, ...verdict } = judged;
  const obj = ready?.obj && ready.obj.key === key ? ready.obj : write.length > 0 ? buildPageObject(key, write, enrich) : null;
  const lastMs = write.length > 0 ? stream.itemMs(write[write.length - 1]!) : null;
  return { verdict, obj, lastMs };
}

/** What each line of a page carries beside Duo's item (ENRICH, and a child account's id and name). */
export function enrichmentOf(s: Pick<RunSettings, 'enrich' | 'apiHost' | 'account'>, stream: Pick<LogStream, 'eventtype'>): Enrichment | null {
  if (!s.enrich && !s.account) return null;
  return { ...(s.enrich ? { host: s.apiHost, eventtype: stream.eventtype } : {}), ...(s.account ? { account: s.account } : {}) };
}

/** Judges a page read ahead for the window state `open` and builds its object, on arrival. */
function prepareAhead(
  open: OpenWindow,
  skipIds: readonly string[],
  skipThrough: SkipThrough | undefined,
  prefix: string,
  enrich: Enrichment | null,
  stream: LogStream,
): (page: DuoPage) => PreparedPage {
  return (page) => {
    const verdict = judgePage({ open, skipIds, skipThrough }, page, stream);
    const key = formatObjectName({ prefix, stream: objectStream(stream.name), mintimeMs: open.mintimeMs, maxtimeMs: open.maxtimeMs, page: open.page });
    return { open, skipThrough, verdict, obj: verdict.ok && verdict.write.length > 0 ? buildPageObject(key, verdict.write, enrich) : null };
  };
}

type Counters = Pick<RunSummary, 'events' | 'objectsCreated' | 'objectsExisting' | 'supplements' | 'duplicatesDropped' | 'outsideWindow' | 'withoutId' | 'withoutTs' | 'pages' | 'windowsClosed'>;
type RequestStats = { requests: number; retries: number; rateLimited: number };

/** The run's summary from what it counted and where the checkpoint stands. */
function summarize(r: {
  stream: StreamName;
  outcome: RunOutcome;
  windowHeld: boolean;
  counters: Counters;
  cp: Checkpoint;
  startMs: number;
  endMs: number;
  statsAtStart: RequestStats;
  stats: RequestStats;
  offsetMs: number | undefined;
  learnedRate: LearnedRates | null;
  deps: Pick<RunDeps, 'sink' | 'checkpoints'>;
}): RunSummary {
  const position = r.cp.open ? r.cp.open.mintimeMs : r.cp.nextMintimeMs;
  return {
    stream: r.stream,
    outcome: r.outcome,
    ...r.counters,
    windowHeld: r.windowHeld,
    clockOffsetMs: r.offsetMs ?? null,
    requests: r.stats.requests - r.statsAtStart.requests,
    retries: r.stats.retries - r.statsAtStart.retries,
    rateLimited: r.stats.rateLimited - r.statsAtStart.rateLimited,
    learnedRate: r.learnedRate,
    lagMs: Math.max(0, r.endMs - position),
    durationMs: r.endMs - r.startMs,
    checkpoint: r.cp,
    sink: r.deps.sink.location,
    checkpointLocation: r.deps.checkpoints.location,
  };
}

/** Above this, Duo's clock and ours are far enough apart to say so. */
const CLOCK_WARN_MS = 30_000;

/**
 * The next window from `cp`, not yet committed: from where the last one ended to `duoNowMs` minus the
 * delay (at most WINDOW_MAX_HOURS long, within the 180 days Duo keeps), or null when there is nothing
 * to ask for yet.
 */
function openWindow(cp: Checkpoint, duoNowMs: number, s: RunSettings, logger: Logger, stream: LogStream): Checkpoint | null {
  const w = computeWindow(cp.nextMintimeMs, duoNowMs, { delayMs: s.delayMs, windowMaxMs: s.windowMaxMs });
  if (!w) return null;
  if (w.skippedMs > 0) {
    logger.warn(
      { event: 'window.clamped', skippedMs: w.skippedMs },
      `the checkpoint is older than Duo keeps logs (180 days): ${Math.round(w.skippedMs / 3_600_000)} h of history can no longer be fetched`,
    );
  }
  const sameStart = w.mintimeMs === cp.nextMintimeMs;
  return {
    ...cp,
    // The ids to skip concern the millisecond the old start named; a clamped start drops them.
    skipIds: sameStart ? cp.skipIds : [],
    ...(sameStart || !cp.skipThrough ? {} : { skipThrough: undefined }),
    nextMintimeMs: w.mintimeMs,
    open: { mintimeMs: w.mintimeMs, maxtimeMs: w.maxtimeMs, nextOffset: null, page: 1, limit: Math.min(s.pageLimit, stream.maxLimit), carry: {}, cursors: [] },
  };
}

/** Duo would answer 400 to this window on every run from now on: say what to do instead. */
function assertNotStale(open: OpenWindow, nowMs: number, location: string): void {
  if (open.mintimeMs < nowMs - DUO_RETENTION_MS) throw new CheckpointError(`${location}: ${staleWindowAdvice(open, nowMs)}`);
}

function count(c: { duplicatesDropped: number; outsideWindow: number; withoutId: number; withoutTs: number }, p: PageCounts): void {
  c.duplicatesDropped += p.skippedAtStart + p.alreadyWritten;
  c.outsideWindow += p.outsideWindow;
  c.withoutId += p.withoutId;
  c.withoutTs += p.withoutTs;
}

/**
 * LOOKBACK_HOURS places only the first run. Say so when it asks for history this store never collected
 * (set after a first run, expecting it to apply); a setting left in place stays quiet.
 */
function warnIfLookbackIgnored(deps: RunDeps, location: string | undefined, cp: Checkpoint, startMs: number): void {
  const s = deps.settings;
  const lookbackFromMs = startMs - s.lookbackMs;
  if (location === undefined || !s.lookbackExplicit || cp.collectedFromMs === undefined || lookbackFromMs >= cp.collectedFromMs - 60_000) return;
  deps.logger.warn(
    { event: 'lookback.ignored', location, lookbackFromMs, collectedFromMs: cp.collectedFromMs },
    `LOOKBACK_HOURS reaches back to ${new Date(lookbackFromMs).toISOString()}, but collection into this store began at ` +
      `${new Date(cp.collectedFromMs).toISOString()} and the checkpoint ${location} says where each run starts: ` +
      'LOOKBACK_HOURS only places the very first run. `duo-secops state reset --to <time> --yes` moves the start, and writes again what was collected since',
  );
}

function formatSeconds(ms: number): string {
  return `${ms >= 0 ? '+' : '-'}${(Math.abs(ms) / 1000).toFixed(0)} s`;
}
