import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { runOnce, type PageSource, type RunDeps, type RunProgress, type RunSettings } from '../../../src/collect/run.js';
import type { PageRequest, TelephonyPage } from '../../../src/duo/types.js';
import { createMemoryStore, type MemoryStore } from '../../../src/testing/memory-checkpoint.js';
import { initialCheckpoint, parseCheckpoint, serializeCheckpoint } from '../../../src/checkpoint/codec.js';
import { generateDataset } from '../../../src/simulator/index.js';
import { silentLogger } from '../../../src/log.js';
import { CheckpointConflictError, CheckpointError, ObjectConflictError, StorageError } from '../../../src/errors.js';
import { storeSource, idsOf, exactlyOnceReport, type StoreSource } from '../../support/store-source.js';

const H = 3_600_000;
// Whole-millisecond window edges, fixed relative to now so Duo's 180-day rule holds.
const X = Math.floor((Date.now() - 6 * H) / H) * H;

const settings = (over: Partial<RunSettings> = {}): RunSettings => ({
  prefix: 'duo-telephony',
  apiHost: 'api-sim00000.duosecurity.com',
  enrich: true,
  pageLimit: 100,
  maxPages: 0,
  delayMs: 1000,
  lookbackMs: 24 * H,
  windowMaxMs: H,
  budgetMs: 600_000,
  ...over,
});

// 3,000 background events over 4 h plus bursts straddling window edges (X+H, X+2H) and page edges.
const events = generateDataset({
  events: 3000 + 450 + 230,
  seed: 11,
  fromMs: X,
  toMs: X + 4 * H,
  bursts: [
    { atMs: X + H, count: 450 },
    { atMs: X + 2 * H, count: 230 },
  ],
});
const allIds = events.map((e) => e.id);

function seeded(store: MemoryStore): void {
  store.documents.set('_state/duo-telephony.json', { data: serializeCheckpoint(initialCheckpoint(X, new Date().toISOString())), version: 'm0' });
}

function deps(store: MemoryStore, source: ReturnType<typeof storeSource>, over: Partial<RunSettings> = {}): RunDeps {
  return { client: source, sink: store.sink(), checkpoints: store.checkpoint(), settings: settings(over), logger: silentLogger() };
}

/** The same source, with each page it answers passed through `alter` (Duo answering oddly). */
function alteredSource(inner: StoreSource, alter: (page: TelephonyPage, req: PageRequest) => TelephonyPage): PageSource {
  return {
    stats: inner.stats,
    async getPage(req: PageRequest) {
      return alter(await inner.getPage(req), req);
    },
  };
}

async function runUntilCaughtUp(store: MemoryStore, source: ReturnType<typeof storeSource>, over: Partial<RunSettings> = {}, max = 500) {
  for (let i = 0; i < max; i++) {
    try {
      const s = await runOnce(deps(store, source, over));
      if (s.outcome === 'caught-up') return i + 1;
    } catch {
      // a failed run leaves the checkpoint where it was; the next one repeats at most one page
    }
  }
  throw new Error('never caught up');
}

describe('runOnce', () => {
  for (const reading of ['present', 'absent'] as const) {
    it(`delivers every event exactly once across windows and bursts (last page cursor ${reading})`, async () => {
      const store = createMemoryStore();
      seeded(store);
      const source = storeSource(events, reading);
      const s = await runOnce(deps(store, source));
      expect(s.outcome).toBe('caught-up');
      expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
      expect(s.events).toBe(allIds.length);
      expect(s.duplicatesDropped).toBeGreaterThan(0);
      const cp = parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'mem');
      expect(cp.open).toBeNull();
      // A second run right away finds nothing new and writes nothing.
      const again = await runOnce(deps(store, source));
      expect(again.events).toBe(0);
    });
  }

  it('writes NDJSON lines as Duo sent them plus eventtype and host', async () => {
    const store = createMemoryStore();
    seeded(store);
    await runOnce(deps(store, storeSource(events)));
    const [key, body] = [...store.objects.entries()].sort()[0]!;
    expect(key).toMatch(/^duo-telephony\/\d{4}\/\d{2}\/\d{2}\/telephony_\d{13}_\d{13}_p00001\.json$/);
    const first = body.toString('utf8').split('\n')[0]!;
    const raw = events.find((e) => first.includes(e.id))!.json;
    expect(first).toBe(`${raw.slice(0, -1)},"eventtype":"telephony","host":"api-sim00000.duosecurity.com"}`);
  });

  it('survives a failure at every step of the protocol without losing or doubling', async () => {
    const store = createMemoryStore();
    seeded(store);
    const source = storeSource(events);
    const boom = new StorageError('STORAGE_UNAVAILABLE', 'injected');
    let i = 0;
    for (let run = 0; run < 400; run++) {
      // Rotate through: fetch fails, write fails before/after it lands, commit fails before/after.
      switch (i++ % 5) {
        case 0:
          source.failNext(new Error('network'));
          break;
        case 1:
          store.failNext('writePage', boom);
          break;
        case 2:
          store.failNext('writePage', boom, { when: 'after' });
          break;
        case 3:
          store.failNext('save', boom);
          break;
        case 4:
          store.failNext('save', boom, { when: 'after' });
          break;
      }
      try {
        const s = await runOnce(deps(store, source, { maxPages: 3 }));
        if (s.outcome === 'caught-up') break;
      } catch {
        // expected
      }
      store.faults.clear();
    }
    await runUntilCaughtUp(store, source);
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0, unexpected: 0 });
  });

  it('lets concurrent runs share a store: one owns each window, nothing doubles', async () => {
    const store = createMemoryStore();
    seeded(store);
    const source = storeSource(events);
    for (let round = 0; round < 50; round++) {
      const outcomes = await Promise.all([0, 1, 2, 3].map(() => runOnce(deps(store, source, { maxPages: 5 })).then((s) => s.outcome)));
      if (outcomes.includes('caught-up')) break;
    }
    await runUntilCaughtUp(store, source);
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0, unexpected: 0 });
  });

  it('treats a conflict with its own landed save (a lost answer, retried) as committed', async () => {
    const store = createMemoryStore();
    seeded(store);
    store.failNext('save', new CheckpointConflictError('precondition failed on retry'), { when: 'after' });
    const s = await runOnce(deps(store, storeSource(events)));
    expect(s.outcome).toBe('caught-up');
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0 });
  });

  it('stops without error when another run really moved the checkpoint', async () => {
    const store = createMemoryStore();
    seeded(store);
    store.failNext('save', new CheckpointConflictError('moved'));
    expect((await runOnce(deps(store, storeSource(events)))).outcome).toBe('conflict');
  });

  it('keeps the page size of an open window when the configuration changes', async () => {
    const store = createMemoryStore();
    seeded(store);
    const source = storeSource(events);
    await runOnce(deps(store, source, { maxPages: 2, pageLimit: 100 }));
    const s = await runOnce(deps(store, source, { pageLimit: 1000 }));
    expect(s.objectsExisting).toBe(0);
    await runUntilCaughtUp(store, source, { pageLimit: 1000 });
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0 });
  });

  it('stops at the page limit and on a stop signal, committing what it wrote', async () => {
    const store = createMemoryStore();
    seeded(store);
    const source = storeSource(events);
    const s = await runOnce(deps(store, source, { maxPages: 2 }));
    expect(s).toMatchObject({ outcome: 'page-limit', pages: 2, objectsCreated: 2 });
    const ac = new AbortController();
    ac.abort();
    expect((await runOnce(deps(store, source), ac.signal)).outcome).toBe('stopped');
  });

  it('stops at the time budget', async () => {
    const store = createMemoryStore();
    seeded(store);
    let t = Date.now();
    const s = await runOnce({ ...deps(store, storeSource(events), { budgetMs: 10_000 }), now: () => (t += 1000) });
    expect(s.outcome).toBe('budget');
    // At most the one page requested while the budget ran out goes unused.
    expect(s.requests).toBeLessThanOrEqual(s.pages + 1);
  });

  it('requests no next page when the time budget ran out while this one was fetched', async () => {
    const store = createMemoryStore();
    seeded(store);
    let t = Date.now();
    const inner = storeSource(events);
    const slow = alteredSource(inner, (page) => ((t += 1000), page));
    const s = await runOnce({ ...deps(store, inner, { budgetMs: 500 }), client: slow, now: () => t });
    expect(s.outcome).toBe('budget');
    expect(s.pages).toBe(1);
    expect(s.requests).toBe(1);
  });

  it('stops with what to do, before any request, when the open window has aged past the 180 days Duo keeps', async () => {
    const store = createMemoryStore();
    const old = Date.now() - 181 * 24 * H;
    const cp = initialCheckpoint(old, new Date().toISOString());
    cp.open = { mintimeMs: old, maxtimeMs: old + H, nextOffset: null, page: 1, limit: 100, carry: {}, cursors: [] };
    store.documents.set('_state/duo-telephony.json', { data: serializeCheckpoint(cp), version: 'm0' });
    const source = storeSource(events);
    const err = await runOnce(deps(store, source)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toContain('more than 180 days ago');
    expect((err as Error).message).toContain('duo-secops state reset --to ');
    expect(source.stats.requests).toBe(0);
    expect(store.documents.get('_state/duo-telephony.json')?.version).toBe('m0');
  });

  it('refuses to overwrite an object this collector could not have written for the page, leaving the checkpoint', async () => {
    const store = createMemoryStore();
    seeded(store);
    const source = storeSource(events);
    await runOnce(deps(store, source, { maxPages: 1 }));
    const before = store.documents.get('_state/duo-telephony.json')!;
    // The next page's object already exists with other bytes.
    const nextKey = `duo-telephony/${new Date(X).toISOString().slice(0, 10).replace(/-/g, '/')}/telephony_${X}_${X + H}_p00002.json`;
    const foreign = '{"telephony_id":"other","ts":"2001-01-01T00:00:00Z"}\n';
    store.objects.set(nextKey, Buffer.from(foreign));
    await expect(runOnce(deps(store, source))).rejects.toBeInstanceOf(ObjectConflictError);
    expect(store.documents.get('_state/duo-telephony.json')).toEqual(before);
    expect(store.objects.get(nextKey)!.toString()).toBe(foreign);
  });

  it('refuses a seconds-valued checkpoint and writes nothing', async () => {
    const store = createMemoryStore();
    store.documents.set('_state/duo-telephony.json', { data: Buffer.from(JSON.stringify({ ...initialCheckpoint(Math.floor(X / 1000), 'x') })), version: 'm0' });
    await expect(runOnce(deps(store, storeSource(events)))).rejects.toThrow(CheckpointError);
    expect(store.objects.size).toBe(0);
  });

  it("carries on from the guide's state.json and leaves it in place", async () => {
    const store = createMemoryStore();
    const legacy = Buffer.from(JSON.stringify({ last_offset: null, last_timestamp_ms: X + 2 * H }));
    store.documents.set('duo-telephony/state.json', { data: legacy, version: 'm0' });
    const source = storeSource(events);
    const s = await runOnce({ ...deps(store, source), checkpoints: store.checkpoint('_state/duo-telephony.json', { legacyKey: 'duo-telephony/state.json' }) });
    expect(s.outcome).toBe('caught-up');
    const expected = events.filter((e) => e.tsMicros >= (X + 2 * H) * 1000).map((e) => e.id);
    expect(exactlyOnceReport(expected, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0, unexpected: 0 });
    expect(store.documents.get('duo-telephony/state.json')!.data).toEqual(legacy);
    expect(parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'm').migratedFrom).toBe('google-guide-state-json');
  });

  it('starts LOOKBACK back when there is no checkpoint, and never chases now', async () => {
    const store = createMemoryStore();
    const s = await runOnce(deps(store, storeSource(events), { lookbackMs: 7 * H, windowMaxMs: 24 * H }));
    expect(s.outcome).toBe('caught-up');
    expect(s.windowsClosed).toBe(1);
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toMatchObject({ missing: 0, doubled: 0 });
  });
});

describe('runOnce requests the next page while it stores the current one', () => {
  /** A source that logs when each request starts and ends, with a delay, and how it was aborted. */
  function tracingSource(log: string[], delayMs = 2) {
    const inner = storeSource(events);
    let inFlight = 0;
    let maxInFlight = 0;
    const signals: AbortSignal[] = [];
    const source = {
      stats: inner.stats,
      failNext: inner.failNext.bind(inner),
      get maxInFlight() {
        return maxInFlight;
      },
      signals,
      async getPage(req: Parameters<typeof inner.getPage>[0], signal?: AbortSignal) {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        if (signal) signals.push(signal);
        log.push(`fetch ${req.nextOffset ?? 'start'}`);
        try {
          await new Promise((r) => setTimeout(r, delayMs));
          return await inner.getPage(req);
        } finally {
          inFlight -= 1;
        }
      },
    };
    return source;
  }

  function tracingDeps(store: MemoryStore, source: ReturnType<typeof tracingSource>, log: string[], over: Partial<RunSettings> = {}): RunDeps {
    const sink = store.sink();
    const checkpoints = store.checkpoint();
    return {
      ...deps(store, storeSource(events), over),
      client: source,
      sink: {
        location: sink.location,
        readPage: (key, signal) => sink.readPage(key, signal),
        async writePage(obj, signal) {
          log.push(`write ${obj.key.slice(-10)}`);
          await new Promise((r) => setTimeout(r, 3));
          return sink.writePage(obj, signal);
        },
      },
      checkpoints: {
        location: checkpoints.location,
        load: checkpoints.load.bind(checkpoints),
        async save(data, expected, signal) {
          const v = await checkpoints.save(data, expected, signal);
          log.push('commit');
          return v;
        },
      },
    };
  }

  it('overlaps fetch and storage, one request at a time, and still delivers exactly once', async () => {
    const store = createMemoryStore();
    seeded(store);
    const log: string[] = [];
    const source = tracingSource(log);
    const s = await runOnce(tracingDeps(store, source, log));
    expect(s.outcome).toBe('caught-up');
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
    expect(source.maxInFlight).toBe(1);
    // The request for page 2 goes out before page 1 is written.
    const firstWrite = log.findIndex((l) => l.startsWith('write'));
    expect(log.slice(0, firstWrite).filter((l) => l.startsWith('fetch'))).toHaveLength(2);
    // No request is wasted on a full run: every response was used.
    expect(s.requests).toBe(s.pages);
  });

  it('does not request a page beyond --max-pages', async () => {
    const store = createMemoryStore();
    seeded(store);
    const log: string[] = [];
    const source = tracingSource(log);
    const s = await runOnce(tracingDeps(store, source, log, { maxPages: 3 }));
    expect(s.outcome).toBe('page-limit');
    expect(s.pages).toBe(3);
    expect(s.requests).toBe(3);
  });

  it('reports a failed prefetch only after the current page is committed, and loses nothing', async () => {
    const store = createMemoryStore();
    seeded(store);
    const log: string[] = [];
    const source = tracingSource(log);
    const d = tracingDeps(store, source, log);
    // The 3rd request (page 3, prefetched while page 2 is stored) fails.
    let calls = 0;
    const inner = source.getPage.bind(source);
    d.client = {
      stats: source.stats,
      getPage: async (req, signal) => {
        calls += 1;
        if (calls === 3) throw new StorageError('STORAGE_UNAVAILABLE', 'injected');
        return inner(req, signal);
      },
    };
    await expect(runOnce(d)).rejects.toThrow('injected');
    // Pages 1 and 2 are written and committed: the checkpoint points at page 3.
    const cp = parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'mem');
    expect(cp.open?.page).toBe(3);
    expect(store.objects.size).toBe(2);
    await runUntilCaughtUp(store, storeSource(events));
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('aborts the request it no longer needs when told to stop', async () => {
    const store = createMemoryStore();
    seeded(store);
    const log: string[] = [];
    const source = tracingSource(log, 20);
    const stop = new AbortController();
    const d = tracingDeps(store, source, log);
    const write = d.sink.writePage.bind(d.sink);
    d.sink = { location: d.sink.location, readPage: d.sink.readPage.bind(d.sink), writePage: async (obj, signal) => {
      const r = await write(obj, signal);
      stop.abort();
      return r;
    } };
    const s = await runOnce(d, stop.signal);
    expect(s.outcome).toBe('stopped');
    expect(s.pages).toBe(1);
    expect(source.signals.at(-1)?.aborted).toBe(true);
  });

  it('leaves no checkpoint behind when the first run never got an answer from Duo', async () => {
    const store = createMemoryStore();
    const source = storeSource(events);
    source.failNext(new StorageError('STORAGE_UNAVAILABLE', 'wrong key, say'));
    await expect(runOnce(deps(store, source, { lookbackMs: 24 * H }))).rejects.toThrow('wrong key, say');
    expect(store.documents.size).toBe(0);
    expect(store.objects.size).toBe(0);
    // So a corrected LOOKBACK_HOURS still places the start; then every event once, as usual.
    const s = await runOnce(deps(store, source, { lookbackMs: Date.now() - X }));
    expect(s.outcome).toBe('caught-up');
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('commits the first window before it writes anything, and stops if another first run got there first', async () => {
    const store = createMemoryStore();
    const source = storeSource(events);
    store.failNext('save', new CheckpointConflictError('another first run'));
    const s = await runOnce(deps(store, source, { lookbackMs: Date.now() - X }));
    expect(s.outcome).toBe('conflict');
    expect(source.stats.requests).toBe(1);
    expect(store.objects.size).toBe(0);
  });

  it('says that LOOKBACK_HOURS is ignored when it asks for history the checkpoint never collected, and only then', async () => {
    const cases = [
      { lookbackExplicit: true, lookbackMs: Date.now() - X + 2 * H, warned: true },
      // Set, but no further back than collection began: a setting left in place stays quiet.
      { lookbackExplicit: true, lookbackMs: Date.now() - X, warned: false },
      { lookbackExplicit: false, lookbackMs: Date.now() - X + 2 * H, warned: false },
    ];
    for (const c of cases) {
      const store = createMemoryStore();
      seeded(store);
      const lines: string[] = [];
      const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
      await runOnce({ ...deps(store, storeSource(events), { lookbackExplicit: c.lookbackExplicit, lookbackMs: c.lookbackMs }), logger });
      const warned = lines.some((l) => l.includes('"event":"lookback.ignored"') && l.includes('duo-secops state reset'));
      expect(warned, JSON.stringify(c)).toBe(c.warned);
    }
  });

  it('reports progress over the whole backlog, from the checkpoint to its start minus the delay', async () => {
    const store = createMemoryStore();
    seeded(store);
    const seen: RunProgress[] = [];
    const started = Date.now();
    await runOnce({ ...deps(store, storeSource(events)), onProgress: (p) => seen.push(p) });
    expect(seen.length).toBeGreaterThan(10);
    for (const p of seen) {
      expect(p.fromMs).toBe(X);
      // Its start minus the delay (1 s), on Duo's clock to the second below.
      expect(p.toMs).toBeGreaterThanOrEqual(started - 2000);
      expect(p.positionMs).toBeGreaterThanOrEqual(X);
      expect(p.positionMs).toBeLessThanOrEqual(p.toMs);
    }
    // It only ever moves forward, across windows.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!.positionMs).toBeGreaterThanOrEqual(seen[i - 1]!.positionMs);
  });

  it('stops instead of looping when Duo sends back the cursor it was sent, before writing that page', async () => {
    const store = createMemoryStore();
    seeded(store);
    const inner = storeSource(events);
    const stuck = alteredSource(inner, (page, req) => (req.nextOffset ? { ...page, nextOffset: req.nextOffset } : page));
    const err = await runOnce({ ...deps(store, inner), client: stuck }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DUO_BAD_RESPONSE', exitCode: 4 });
    expect((err as Error).message).toContain("Duo's cursor came back");
    // Page 1 is written and committed; the page that came back with the same cursor is not written.
    expect(store.objects.size).toBe(1);
    expect(parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'mem').open?.page).toBe(2);
  });

  it('closes the window on an empty page even when it repeats the cursor it was sent', async () => {
    const store = createMemoryStore();
    seeded(store);
    const inner = storeSource(events);
    const echo = alteredSource(inner, (page, req) => (page.items.length === 0 && req.nextOffset ? { ...page, nextOffset: req.nextOffset } : page));
    const s = await runOnce({ ...deps(store, inner), client: echo });
    expect(s.outcome).toBe('caught-up');
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('opens no new window once the page limit is reached, even when the last page closed one', async () => {
    // How many pages the first window takes: the smallest limit at which a run closes it.
    let pagesOfFirstWindow = 0;
    for (let n = 1; pagesOfFirstWindow === 0 && n < 100; n++) {
      const probe = createMemoryStore();
      seeded(probe);
      if ((await runOnce(deps(probe, storeSource(events), { maxPages: n }))).windowsClosed === 1) pagesOfFirstWindow = n;
    }
    expect(pagesOfFirstWindow).toBeGreaterThan(1);
    const store = createMemoryStore();
    seeded(store);
    const r = await runOnce(deps(store, storeSource(events), { maxPages: pagesOfFirstWindow }));
    expect(r).toMatchObject({ outcome: 'page-limit', windowsClosed: 1, pages: pagesOfFirstWindow });
    expect(parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'mem').open).toBeNull();
  });

  it("keeps a window open, committing nothing, while Duo's clock has not passed its end plus the delay", async () => {
    const store = createMemoryStore();
    // A window committed earlier (by a run whose clock ran ahead of Duo's), ending at X + 4 h.
    const cp = initialCheckpoint(X, new Date().toISOString());
    cp.open = { mintimeMs: X, maxtimeMs: X + 4 * H, nextOffset: null, page: 1, limit: 100, carry: {}, cursors: [] };
    store.documents.set('_state/duo-telephony.json', { data: serializeCheckpoint(cp), version: 'm0' });
    const inner = storeSource(events);
    // Duo's Date header says it is only X + 3 h: events of the window's last hour may still come.
    let duoAt = X + 3 * H;
    const behind = alteredSource(inner, (page) => ({ ...page, serverDateMs: duoAt, receivedAtMs: Date.now() }));
    const first = await runOnce({ ...deps(store, inner), client: behind });
    expect(first).toMatchObject({ outcome: 'caught-up', windowHeld: true, windowsClosed: 0 });
    expect(first.clockOffsetMs).toBeLessThan(-2 * H);
    const held = parseCheckpoint(store.documents.get('_state/duo-telephony.json')!.data, 'mem');
    // Never shrunk or replaced: the same window, still open.
    expect(held.open).toMatchObject({ mintimeMs: X, maxtimeMs: X + 4 * H });
    // Once Duo's clock has passed its end plus the delay, the next run closes it; nothing lost or doubled.
    duoAt = Date.now() + 60_000;
    const second = await runOnce({ ...deps(store, inner), client: behind });
    expect(second.windowHeld).toBe(false);
    expect(second.windowsClosed).toBeGreaterThan(0);
    await runUntilCaughtUp(store, inner);
    expect(exactlyOnceReport(allIds, idsOf(store.objects.values()))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('reconciles a page holding an item without a readable ts, which it writes as Duo sent it', async () => {
    const store = createMemoryStore();
    seeded(store);
    const odd = { telephony_id: 'no-ts', context: 'enrollment', ts: 'yesterday' };
    const inner = storeSource(events);
    const withOdd = alteredSource(inner, (page, req) => (req.nextOffset ? page : { ...page, items: [odd, ...page.items] }));
    const first = await runOnce({ ...deps(store, inner, { maxPages: 1 }), client: withOdd });
    expect(first).toMatchObject({ withoutTs: 1, objectsCreated: 1 });
    // Page 1 again, with one more item published meanwhile: a supplement, no exit 5.
    const late = { telephony_id: 'late', context: 'enrollment', ts: events[1]!.json.match(/"ts":"([^"]+)"/)![1] };
    const withLate = alteredSource(inner, (page, req) => (req.nextOffset ? page : { ...page, items: [odd, page.items[0]!, late, ...page.items.slice(1)] }));
    store.documents.set('_state/duo-telephony.json', { data: serializeCheckpoint(initialCheckpoint(X, new Date().toISOString())), version: 'm9' });
    const again = await runOnce({ ...deps(store, inner, { maxPages: 1 }), client: withLate });
    expect(again).toMatchObject({ supplements: 1 });
  });
});
