/**
 * A Duo that misbehaves on request: cursors that go back (rewind, cycle, repeat), pages shuffled out
 * of order or carrying an item from outside the window, items without telephony_id. Each is checked
 * on the pure planner over an EventStore, then through the server (stats, switching at run time, the
 * seed). Time is the simulator's frozen clock; nothing here waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createSimClock } from '../../../src/simulator/clock.js';
import { compareEvents, createSimEvent, generateDataset, type SimEvent } from '../../../src/simulator/dataset.js';
import { Misbehaviour, validateMisbehaviour, type MisbehaviourOptions, type PagePlan } from '../../../src/simulator/misbehaviour.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../../src/simulator/server.js';
import { cursorFor, EventStore, type PageQuery } from '../../../src/simulator/store.js';
import { pageAll, parseBody, signedGet } from './support.js';

const T0 = Date.UTC(2026, 2, 2, 9, 0, 0);
const NOW = T0 + 3_600_000;

/** 50 events one ms apart from T0, ids e00…e49, and two outside the window [T0, T0 + 100]. */
const inside = Array.from({ length: 50 }, (_, i) => createSimEvent({ tsMicros: (T0 + i) * 1000, id: `e${String(i).padStart(2, '0')}` }));
const before = createSimEvent({ tsMicros: (T0 - 7) * 1000, id: 'before-min' });
const after = createSimEvent({ tsMicros: (T0 + 100) * 1000 + 500, id: 'after-max' });
const store = new EventStore([before, ...inside, after]);
const WINDOW = { mintimeMs: T0, maxtimeMs: T0 + 100, limit: 10, sort: 'ts:asc' as const };

function parseCursor(c: string | null | undefined): PageQuery['cursor'] {
  if (!c) return undefined;
  const comma = c.indexOf(',');
  return { tsMs: Number(c.slice(0, comma)), id: c.slice(comma + 1) };
}

/** Serve one page as the server does (every non-empty page has a cursor), and remember it. */
function serve(m: Misbehaviour, sent: string | null, q: Omit<PageQuery, 'cursor'> = WINDOW): { items: SimEvent[]; plan: PagePlan; right: string | null } {
  const query = { ...q, cursor: parseCursor(sent) };
  const page = store.selectPage(query, NOW);
  if (!page.found) throw new Error(`cursor ${sent} not found`);
  const last = page.items.at(-1);
  const right = last ? cursorFor(last) : null;
  const plan = m.plan(store, query, page.items, right, NOW);
  m.served(query, plan.cursor);
  return { items: page.items, plan, right };
}

const ids = (items: readonly SimEvent[]) => items.map((e) => e.id);
const indexOf = (cursor: string) => store.events.findIndex((e) => cursorFor(e) === cursor);

describe('Misbehaviour (the planner)', () => {
  it('behaves when no switch is on, and again after set(null) or set({})', () => {
    const cases: Array<[Misbehaviour, MisbehaviourOptions | null]> = [
      [new Misbehaviour(), null],
      [new Misbehaviour({ seed: 3, repeatRate: 1 }), {}],
      [new Misbehaviour({ rewindRate: 1, outOfOrderRate: 1 }), null],
    ];
    for (const [m, behave] of cases) {
      m.set(behave);
      let cursor: string | null = null;
      const got: string[] = [];
      for (;;) {
        const { items, plan, right } = serve(m, cursor);
        expect(plan).toEqual({ items, cursor: right, injected: [] });
        got.push(...ids(plan.items));
        if (items.length === 0) break;
        cursor = plan.cursor;
      }
      expect(got).toEqual(ids(inside));
    }
    const m = new Misbehaviour({ outOfOrderRate: 1 });
    m.set({});
    expect(serve(m, null).plan.injected).toEqual([]);
  });

  it('repeat: returns the cursor it was sent; a first page, sent none, is left alone', () => {
    const m = new Misbehaviour({ repeatRate: 1 });
    const first = serve(m, null);
    expect(first.plan).toEqual({ items: first.items, cursor: first.right, injected: [] });
    const second = serve(m, first.plan.cursor);
    // The page is the right one for the cursor asked; only the cursor returned is wrong.
    expect(ids(second.plan.items)).toEqual(ids(inside.slice(10, 20)));
    expect(second.plan.cursor).toBe(first.plan.cursor);
    expect(second.plan.injected).toEqual(['repeat']);
  });

  it('cycle: returns a cursor already returned in this window, A→B→A', () => {
    const m = new Misbehaviour({ cycleRate: 1 });
    const a = serve(m, null).plan;
    const b = serve(m, a.cursor).plan;
    // Nothing returned before but the cursor sent: no cycle possible yet.
    expect([a.injected, b.injected]).toEqual([[], []]);
    const third = serve(m, b.cursor);
    expect(ids(third.items)).toEqual(ids(inside.slice(20, 30)));
    expect(third.plan.cursor).toBe(a.cursor);
    expect(third.plan.injected).toEqual(['cycle']);
    // Another window has its own history: its first cursors cannot cycle.
    const other = { ...WINDOW, maxtimeMs: T0 + 99 };
    const oa = serve(m, null, other).plan;
    expect(serve(m, oa.cursor, other).plan.injected).toEqual([]);
  });

  it('rewind: points back into this page or up to a page before it, never outside the window', () => {
    let intoPage = 0;
    let beforePage = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const m = new Misbehaviour({ seed, rewindRate: 1 });
      const sent = cursorFor(inside[19]!);
      const { items, plan, right } = serve(m, sent);
      expect(plan.injected).toEqual(['rewind']);
      expect(plan.items).toBe(items);
      const back = indexOf(plan.cursor!);
      const last = indexOf(right!);
      const firstOfWindow = indexOf(cursorFor(inside[0]!));
      expect(back).toBeLessThan(last);
      expect(back).toBeGreaterThanOrEqual(Math.max(firstOfWindow, last - (items.length + WINDOW.limit)));
      if (back >= indexOf(sent)) intoPage++;
      else beforePage++;
      // The next page, asked with it, serves again items this or an earlier page served.
      const next = serve(new Misbehaviour(), plan.cursor);
      expect(next.items[0]!.tsMicros).toBeLessThanOrEqual(items.at(-1)!.tsMicros);
    }
    expect(intoPage).toBeGreaterThan(0);
    expect(beforePage).toBeGreaterThan(0);
    // The window's first event alone: there is nothing to go back to.
    const m = new Misbehaviour({ rewindRate: 1 });
    const single = serve(m, null, { ...WINDOW, limit: 1 });
    expect(single.plan).toEqual({ items: single.items, cursor: single.right, injected: [] });
  });

  it('rewind with ts:desc goes back toward later events', () => {
    const m = new Misbehaviour({ seed: 2, rewindRate: 1 });
    const q = { ...WINDOW, sort: 'ts:desc' as const };
    const first = serve(new Misbehaviour(), null, q);
    const { plan, right } = serve(m, first.right, q);
    expect(plan.injected).toEqual(['rewind']);
    expect(indexOf(plan.cursor!)).toBeGreaterThan(indexOf(right!));
    expect(indexOf(plan.cursor!)).toBeLessThanOrEqual(indexOf(cursorFor(inside[49]!)));
  });

  it('outOfOrder: the same items, never in ts order, the cursor still the right one', () => {
    const m = new Misbehaviour({ outOfOrderRate: 1 });
    for (let k = 0; k < 30; k++) {
      const { items, plan, right } = serve(m, cursorFor(inside[k]!), { ...WINDOW, limit: 2 + (k % 5) });
      expect(plan.injected).toEqual(['outOfOrder']);
      expect(plan.cursor).toBe(right);
      expect(ids([...plan.items].sort(compareEvents))).toEqual(ids(items));
      expect(ids(plan.items)).not.toEqual(ids(items));
    }
    // One item cannot be out of order.
    expect(serve(m, null, { ...WINDOW, limit: 1 }).plan.injected).toEqual([]);
  });

  it('beyondMaxtime: one extra item from just after maxtime or just before mintime, where its ts puts it', () => {
    const sides = new Set<string>();
    for (let seed = 1; seed <= 20; seed++) {
      for (const sort of ['ts:asc', 'ts:desc'] as const) {
        const m = new Misbehaviour({ seed, beyondMaxtimeRate: 1 });
        const { items, plan, right } = serve(m, null, { ...WINDOW, sort });
        expect(plan.injected).toEqual(['beyondMaxtime']);
        expect(plan.cursor).toBe(right);
        expect(plan.items).toHaveLength(items.length + 1);
        const extra = plan.items.find((e) => !items.includes(e))!;
        expect(['before-min', 'after-max']).toContain(extra.id);
        sides.add(extra.id);
        // In the page's order: the window is broken, not the order.
        const sorted = [...plan.items].sort(compareEvents);
        expect(ids(plan.items)).toEqual(ids(sort === 'ts:asc' ? sorted : sorted.reverse()));
      }
    }
    expect([...sides].sort()).toEqual(['after-max', 'before-min']);
    // No event outside the window: nothing to add. An empty page gets nothing either.
    const m = new Misbehaviour({ beyondMaxtimeRate: 1 });
    expect(serve(m, null, { ...WINDOW, mintimeMs: T0 - 10, maxtimeMs: T0 + 200 }).plan.injected).toEqual([]);
    expect(serve(m, cursorFor(inside[49]!)).plan.injected).toEqual([]);
  });

  it('draws from the seed: the same requests meet the same misbehaviour; a new seed restarts the draws', () => {
    const opts: MisbehaviourOptions = { seed: 9, rewindRate: 0.3, cycleRate: 0.2, repeatRate: 0.1, outOfOrderRate: 0.5, beyondMaxtimeRate: 0.5 };
    const run = (m: Misbehaviour) => {
      const out: string[] = [];
      for (let k = 0; k < 40; k++) {
        const { plan } = serve(m, cursorFor(inside[k]!));
        out.push(`${plan.cursor} ${ids(plan.items).join(' ')} ${plan.injected.join('+')}`);
      }
      return out;
    };
    const a = run(new Misbehaviour(opts));
    expect(run(new Misbehaviour(opts))).toEqual(a);
    expect(run(new Misbehaviour({ ...opts, seed: 10 }))).not.toEqual(a);
    const kinds = new Set(a.flatMap((line) => line.split(' ').at(-1)!.split('+')));
    for (const kind of ['rewind', 'cycle', 'repeat', 'outOfOrder', 'beyondMaxtime']) expect(kinds).toContain(kind);
    // A new seed restarts the draws (cycles aside: the cursors returned so far stay remembered).
    const noCycle = { ...opts, cycleRate: 0 };
    const fresh = run(new Misbehaviour(noCycle));
    const reseeded = new Misbehaviour({ ...noCycle, seed: 1 });
    expect(run(reseeded)).not.toEqual(fresh);
    reseeded.set(noCycle);
    expect(run(reseeded)).toEqual(fresh);
  });

  it('keeps the kinds apart: turning one on does not move the draws of another', () => {
    const cursors = (opts: MisbehaviourOptions) => {
      const m = new Misbehaviour(opts);
      return Array.from({ length: 40 }, (_, k) => serve(m, cursorFor(inside[k]!)).plan.cursor);
    };
    expect(cursors({ seed: 4, rewindRate: 0.4, outOfOrderRate: 1, beyondMaxtimeRate: 1 })).toEqual(cursors({ seed: 4, rewindRate: 0.4 }));
  });

  it('refuses rates that are not probabilities, and cursor rates adding up to more than 1', () => {
    expect(() => validateMisbehaviour({ rewindRate: 1.5 })).toThrow(/rewindRate/);
    expect(() => validateMisbehaviour({ outOfOrderRate: -0.1 })).toThrow(/outOfOrderRate/);
    expect(() => validateMisbehaviour({ beyondMaxtimeRate: Number.NaN })).toThrow(/beyondMaxtimeRate/);
    expect(() => validateMisbehaviour({ seed: Number.POSITIVE_INFINITY })).toThrow(/seed/);
    expect(() => validateMisbehaviour({ rewindRate: 0.5, cycleRate: 0.3, repeatRate: 0.3 })).toThrow(/add up to/);
    expect(() => validateMisbehaviour({ rewindRate: 0.5, cycleRate: 0.5, outOfOrderRate: 1, beyondMaxtimeRate: 1 })).not.toThrow();
    const m = new Misbehaviour({ repeatRate: 1 });
    expect(() => m.set({ repeatRate: 2 })).toThrow(RangeError);
    // The switches in force stay as they were.
    const first = serve(m, null);
    expect(serve(m, first.plan.cursor).plan.injected).toEqual(['repeat']);
  });
});

describe('a misbehaving simulator', () => {
  const running: Simulator[] = [];
  async function start(opts: SimulatorOptions): Promise<Simulator> {
    const sim = await startSimulator({ clock: createSimClock({ frozenAtMs: NOW }), ...opts });
    running.push(sim);
    return sim;
  }
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });

  const dataset = generateDataset({ events: 3000, seed: 21, fromMs: NOW - 3_000_000, toMs: NOW - 60_000, missingIdRate: 0.05 });
  const window = { mintimeMs: NOW - 2_500_000, maxtimeMs: NOW - 500_000 };

  interface Served {
    status: number;
    items: string[];
    cursor: string | null | undefined;
  }

  async function get(sim: Simulator, params: Record<string, string>): Promise<Served> {
    const r = await signedGet(sim, { params, dateMs: sim.clock.now() });
    const body = parseBody(r);
    return { status: r.status, items: (body.response?.items ?? []).map((i) => JSON.stringify(i)), cursor: body.response?.metadata.next_offset };
  }

  const params = (cursor: string | null | undefined, limit = 100) => ({
    mintime: String(window.mintimeMs),
    maxtime: String(window.maxtimeMs),
    limit: String(limit),
    sort: 'ts:asc',
    ...(cursor && { next_offset: cursor }),
  });

  it('serves the right page for every cursor asked, whatever it returns, and counts each misbehaviour in stats', async () => {
    const sim = await start({
      events: dataset,
      misbehaviour: { seed: 5, rewindRate: 0.15, cycleRate: 0.1, repeatRate: 0.05, outOfOrderRate: 0.3, beyondMaxtimeRate: 0.2 },
    });
    const reference = new EventStore(dataset);
    const byJson = new Map(dataset.map((e) => [e.json, e]));
    const counts = { wrongCursor: 0, sameAsSent: 0, outOfOrder: 0, beyondMaxtime: 0, missingId: 0 };
    let cursor: string | null | undefined;
    for (let n = 0; n < 150; n++) {
      const got = await get(sim, params(cursor));
      expect(got.status).toBe(200);
      const want = reference.selectPage({ ...window, limit: 100, sort: 'ts:asc', cursor: parseCursor(cursor) }, NOW);
      if (!want.found) throw new Error('cursor not found');
      const wantJson = want.items.map((e) => e.json);
      const inWindow = got.items.filter((j) => wantJson.includes(j));
      const extra = got.items.filter((j) => !wantJson.includes(j));
      // Every right item is there, at most one more from outside the window.
      expect(inWindow).toHaveLength(wantJson.length);
      expect(extra.length).toBeLessThanOrEqual(1);
      if (extra.length === 1) counts.beyondMaxtime++;
      const events = got.items.map((j) => byJson.get(j)!);
      if (events.some((e, i) => i > 0 && compareEvents(events[i - 1]!, e) > 0)) counts.outOfOrder++;
      counts.missingId += got.items.filter((j) => !j.includes('"telephony_id"')).length;
      const right = want.items.length > 0 ? cursorFor(want.items.at(-1)!) : null;
      if (got.cursor !== right) counts.wrongCursor++;
      if (cursor && got.cursor === cursor) counts.sameAsSent++;
      // A cursor that goes back keeps a client paging: start the window again when it ends.
      cursor = want.items.length === 0 ? null : got.cursor;
    }
    const stats = sim.stats.misbehaviour;
    for (const kind of ['rewind', 'cycle', 'repeat', 'outOfOrder', 'beyondMaxtime', 'missingId'] as const) expect(stats[kind]).toBeGreaterThan(0);
    // What the client saw is what stats counted. A rewind may land on the cursor sent, which the
    // client cannot tell from a repeat.
    expect(stats.rewind + stats.cycle + stats.repeat).toBe(counts.wrongCursor);
    expect(stats.repeat).toBeLessThanOrEqual(counts.sameAsSent);
    expect([stats.outOfOrder, stats.beyondMaxtime, stats.missingId]).toEqual([counts.outOfOrder, counts.beyondMaxtime, counts.missingId]);
    expect(sim.stats.pagesServed).toBe(150);
  });

  it('switches misbehaviour on and off at run time', async () => {
    const sim = await start({ events: dataset });
    const first = await get(sim, params(null));
    const second = await get(sim, params(first.cursor));
    expect(second.cursor).not.toBe(first.cursor);

    sim.setMisbehaviour({ repeatRate: 1 });
    const repeated = await get(sim, params(second.cursor));
    expect(repeated.cursor).toBe(second.cursor);
    expect(sim.stats.misbehaviour.repeat).toBe(1);

    expect(() => sim.setMisbehaviour({ repeatRate: 7 })).toThrow(RangeError);
    expect((await get(sim, params(second.cursor))).cursor).toBe(second.cursor);

    for (const behave of [null, {}]) {
      sim.setMisbehaviour(behave);
      const right = await get(sim, params(second.cursor));
      expect(right.cursor).not.toBe(second.cursor);
      expect(right.items).toEqual(repeated.items);
    }
    expect(sim.stats.misbehaviour.repeat).toBe(2);
  });

  it('meets the same requests with the same misbehaviour for a seed', async () => {
    const opts: SimulatorOptions = { events: dataset, misbehaviour: { seed: 8, rewindRate: 0.3, outOfOrderRate: 0.3, beyondMaxtimeRate: 0.3 } };
    const bodies = async (sim: Simulator) => {
      const out: string[] = [];
      let cursor: string | null | undefined;
      for (let n = 0; n < 30; n++) {
        const r = await signedGet(sim, { params: params(cursor, 50), dateMs: sim.clock.now() });
        out.push(r.text);
        cursor = parseBody(r).response!.metadata.next_offset;
      }
      return out;
    };
    const a = await bodies(await start(opts));
    expect(await bodies(await start(opts))).toEqual(a);
    expect(await bodies(await start({ ...opts, misbehaviour: { ...opts.misbehaviour, seed: 9 } }))).not.toEqual(a);
  });

  it('pages events without telephony_id through cursors naming its own ids, each once', async () => {
    const sim = await start({ events: dataset, lastPageCursor: 'absent' });
    const want = dataset.filter((e) => e.tsMicros >= window.mintimeMs * 1000 && e.tsMicros <= window.maxtimeMs * 1000);
    const withoutId = want.filter((e) => e.missingId);
    expect(withoutId.length).toBeGreaterThan(20);
    const got = await pageAll(sim, { ...window, limit: 37, sort: 'ts:asc' }, { dateMs: () => sim.clock.now() });
    // pageAll reads telephony_id: the items without one come back as "undefined", once each.
    expect(got.ids.filter((id) => id === 'undefined')).toHaveLength(withoutId.length);
    expect(got.ids.filter((id) => id !== 'undefined')).toEqual(want.filter((e) => !e.missingId).map((e) => e.id));
    expect(sim.stats.misbehaviour.missingId).toBe(withoutId.length);

    // A page that ends on such an event hands out a cursor with the simulator's id for it, and that cursor works.
    const e = withoutId[5]!;
    const k = want.indexOf(e);
    const one = await get(sim, { ...params(cursorFor(want[k - 1]!), 1) });
    expect(one.items).toEqual([e.json]);
    expect(one.cursor).toBe(cursorFor(e));
    const next = await get(sim, { ...params(one.cursor, 1) });
    expect(next.items).toEqual([want[k + 1]!.json]);
  });

  it('refuses misbehaviour options that are not probabilities', async () => {
    await expect(startSimulator({ misbehaviour: { cycleRate: 2 } })).rejects.toThrow(/cycleRate/);
  });

  it('counts nothing when it behaves', async () => {
    const sim = await start({ events: dataset.filter((e) => !e.missingId) });
    await pageAll(sim, { ...window, limit: 100, sort: 'ts:asc' }, { dateMs: () => sim.clock.now() });
    expect(sim.stats.misbehaviour).toEqual({ rewind: 0, cycle: 0, repeat: 0, outOfOrder: 0, beyondMaxtime: 0, missingId: 0 });
  });
});
