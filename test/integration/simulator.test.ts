import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startSimulator, type Simulator } from '../../src/simulator/server.js';
import { compareEvents, createSimEvent, generateDataset, type SimEvent } from '../../src/simulator/dataset.js';
import { createSimClock } from '../../src/simulator/clock.js';
import { pageAll, parseBody, signedGet } from '../unit/simulator/support.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const NOW = Date.now();
const HOUR = 3_600_000;
const FROM = NOW - 6 * HOUR;
const TO = NOW - 10 * 60_000;

const start = simulatorsClosedAfterEach();

function idsIn(events: readonly SimEvent[], minMs: number, maxMs: number): string[] {
  return events.filter((e) => e.tsMicros >= minMs * 1000 && e.tsMicros <= maxMs * 1000).map((e) => e.id);
}

describe('simulator paging', () => {
  // Events placed on the window's edges, to the microsecond.
  const mintimeMs = FROM + HOUR;
  const maxtimeMs = FROM + 3 * HOUR;
  const edges = [
    createSimEvent({ tsMicros: mintimeMs * 1000 - 1, id: 'edge-before-min' }),
    createSimEvent({ tsMicros: mintimeMs * 1000, id: 'edge-at-min' }),
    createSimEvent({ tsMicros: maxtimeMs * 1000, id: 'edge-at-max' }),
    createSimEvent({ tsMicros: maxtimeMs * 1000 + 500, id: 'edge-half-ms-after-max' }),
  ];
  const dataset = [...generateDataset({ events: 6000, seed: 11, fromMs: FROM, toMs: TO }), ...edges].sort(compareEvents);

  for (const lastPageCursor of ['present', 'absent'] as const) {
    it(`collects exactly [mintime, maxtime] at µs precision, last page cursor ${lastPageCursor}`, async () => {
      const sim = await start({ events: dataset, lastPageCursor });
      const want = idsIn(sim.events, mintimeMs, maxtimeMs);
      expect(want).toContain('edge-at-min');
      expect(want).toContain('edge-at-max');
      expect(want).not.toContain('edge-before-min');
      expect(want).not.toContain('edge-half-ms-after-max');

      const got = await pageAll(sim, { mintimeMs, maxtimeMs, limit: 250, sort: 'ts:asc' });
      expect(got.ids).toEqual(want);
      const fullPages = Math.ceil(want.length / 250);
      if (lastPageCursor === 'present') {
        expect(got.requests).toBe(fullPages + 1);
        expect(got.pages.at(-1)).toEqual({ items: 0, nextOffset: null, hadKey: true });
        expect(got.pages.slice(0, -1).every((p) => typeof p.nextOffset === 'string')).toBe(true);
      } else {
        expect(got.requests).toBe(fullPages);
        expect(got.pages.at(-1)?.nextOffset ?? null).toBeNull();
      }
      expect(sim.stats.pagesServed).toBe(got.requests);
      expect(sim.stats.itemsServed).toBe(want.length);
    });
  }

  it('omits the cursor key or sends null on the exhausting page (both occur)', async () => {
    const sim = await start({ events: dataset, lastPageCursor: 'absent' });
    const shapes = new Set<boolean>();
    for (let i = 0; i < 24; i++) {
      const got = await pageAll(sim, { mintimeMs, maxtimeMs: mintimeMs + 60_000, limit: 1000, sort: 'ts:asc' });
      shapes.add(got.pages.at(-1)!.hadKey);
    }
    expect(shapes).toEqual(new Set([true, false]));
  });

  it('pages a burst of 2000 events in one millisecond with limit 100, each once, both readings', async () => {
    const atMs = FROM + 2 * HOUR + 777;
    const events = generateDataset({ events: 3000, seed: 5, fromMs: FROM, toMs: TO, bursts: [{ atMs, count: 2000 }] });
    for (const lastPageCursor of ['present', 'absent'] as const) {
      const sim = await start({ events, lastPageCursor });
      const got = await pageAll(sim, { mintimeMs: atMs, maxtimeMs: atMs + 1, limit: 100, sort: 'ts:asc' });
      const want = idsIn(events, atMs, atMs + 1);
      expect(want.length).toBeGreaterThanOrEqual(2000);
      expect(got.ids).toEqual(want);
      expect(new Set(got.ids).size).toBe(got.ids.length);
      // Every cursor of the burst names the same millisecond: only the id tells them apart.
      expect(got.pages.filter((p) => p.nextOffset).every((p) => p.nextOffset!.startsWith(`${atMs},`))).toBe(true);
    }
  });

  it('sorts ts:desc by default and pages backwards', async () => {
    const sim = await start({ events: dataset });
    const first = parseBody(await signedGet(sim, { params: { mintime: String(mintimeMs), maxtime: String(maxtimeMs) } }));
    const want = idsIn(sim.events, mintimeMs, maxtimeMs).reverse();
    expect(first.response!.items).toHaveLength(100);
    expect(first.response!.items.map((i) => i['telephony_id'])).toEqual(want.slice(0, 100));
    const all = await pageAll(sim, { mintimeMs, maxtimeMs, limit: 700 });
    expect(all.ids).toEqual(want);
  });

  it('answers a Duo-shaped body with Date and Content-Type headers and items as generated', async () => {
    const sim = await start({ events: dataset });
    const r = await signedGet(sim, { params: { mintime: String(mintimeMs), maxtime: String(maxtimeMs), limit: '3', sort: 'ts:asc' } });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(Math.abs(Date.parse(String(r.headers['date'])) - Date.now())).toBeLessThan(5000);
    const body = parseBody(r);
    expect(body.stat).toBe('OK');
    const want = sim.events.filter((e) => e.tsMicros >= mintimeMs * 1000).slice(0, 3);
    expect(r.text).toContain(`"items":[${want.map((e) => e.json).join(',')}]`);
    const last = want[2]!;
    expect(body.response!.metadata.next_offset).toBe(`${Math.floor(last.tsMicros / 1000)},${last.id}`);
    const total = body.response!.metadata.total_objects;
    expect(typeof total === 'number' ? total : total?.value).toBe(idsIn(sim.events, mintimeMs, maxtimeMs).length);
  });

  it('hides future events and late arrivals until their time, and serves added events', async () => {
    const events = [
      createSimEvent({ tsMicros: (FROM + 10) * 1000, id: 'on-time' }),
      createSimEvent({ tsMicros: (FROM + 20) * 1000, id: 'late', visibleAtMs: FROM + 2 * HOUR }),
      createSimEvent({ tsMicros: (FROM + HOUR + 1) * 1000, id: 'future' }),
    ];
    const sim = await start({ events, clock: createSimClock({ frozenAtMs: FROM + HOUR }) });
    const window = { mintimeMs: FROM, maxtimeMs: FROM + 3 * HOUR, sort: 'ts:asc' as const };
    // Requests are dated by the simulator's clock, as a client whose clock agrees with Duo's would.
    const signing = { dateMs: () => sim.clock.now() };
    expect((await pageAll(sim, window, signing)).ids).toEqual(['on-time']);
    sim.clock.advance(HOUR);
    expect((await pageAll(sim, window, signing)).ids).toEqual(['on-time', 'late', 'future']);
    sim.addEvents([createSimEvent({ tsMicros: (FROM + 15) * 1000, id: 'added' })]);
    expect((await pageAll(sim, window, signing)).ids).toEqual(['on-time', 'added', 'late', 'future']);
  });
});

describe('simulator errors', () => {
  const window = { mintime: String(NOW - HOUR), maxtime: String(NOW - 60_000) };

  it('answers 400 with Duo codes and message_detail', async () => {
    const sim = await start({ events: { events: 10, seed: 1, fromMs: FROM, toMs: TO } });
    const cases: Array<[Record<string, string>, number, string]> = [
      [{ maxtime: window.maxtime }, 40001, 'mintime'],
      [{ ...window, mintime: String(NOW - 181 * 86_400_000) }, 40002, 'mintime must be within the past 180 days'],
      [{ ...window, maxtime: window.mintime }, 40002, 'maxtime must be greater than mintime'],
      [{ ...window, mintime: String(Math.floor((NOW - HOUR) / 1000)) }, 40002, 'mintime'],
      [{ ...window, limit: '1001' }, 40002, 'limit'],
      [{ ...window, sort: 'asc' }, 40002, 'sort'],
      [{ ...window, next_offset: 'garbage' }, 40002, 'next_offset'],
      [{ ...window, next_offset: `${NOW - HOUR},no-such-id` }, 40002, 'next_offset'],
    ];
    for (const [params, code, detail] of cases) {
      const r = await signedGet(sim, { params });
      expect({ status: r.status, body: parseBody(r) }).toEqual({
        status: 400,
        body: { stat: 'FAIL', code, message: code === 40001 ? 'Missing required request parameters' : 'Invalid request parameters', message_detail: detail },
      });
    }
  });

  it('answers 401 40101/40102/40103/40105 and 403 40301', async () => {
    const sim = await start({ integrations: [{ ikey: 'DIAAAAAAAAAAAAAAAAAA', skey: 's3cr3t' }, { ikey: 'DIBBBBBBBBBBBBBBBBBB', skey: 'other', permissions: { readTelephony: false } }] });
    const code = async (o: Parameters<typeof signedGet>[1]) => {
      const r = await signedGet(sim, { params: window, ...o });
      const b = parseBody(r);
      return [r.status, b.code, b.message];
    };
    expect(await code({ authorization: null })).toEqual([401, 40101, 'Missing request credentials']);
    expect(await code({ authorization: 'Basic !!!' })).toEqual([401, 40101, 'Missing request credentials']);
    expect(await code({ ikey: 'DIZZZZZZZZZZZZZZZZZZ' })).toEqual([401, 40102, 'Invalid integration key in request credentials']);
    expect(await code({ skey: 'wrong' })).toEqual([401, 40103, 'Invalid signature in request credentials']);
    expect(await code({ signedParams: { ...window, limit: '5' } })).toEqual([401, 40103, 'Invalid signature in request credentials']);
    expect(await code({ dateMs: Date.now() - 301_000 })).toEqual([401, 40105, 'Invalid request timestamp']);
    expect(await code({ omitDate: true })).toEqual([401, 40105, 'Invalid request timestamp']);
    const other = sim.integrations[1]!;
    expect(await code({ ikey: other.ikey, skey: other.skey })).toEqual([403, 40301, 'Access forbidden']);
    // Variants Duo accepts.
    expect((await code({ version: 5 }))[0]).toBe(200);
    expect((await code({ digest: 'sha1' }))[0]).toBe(200);
    expect((await code({ version: 5, digest: 'sha1' }))[0]).toBe(200);
    expect((await code({ signedHost: new URL(sim.url).host }))[0]).toBe(200);
    expect(sim.stats.byStatus).toMatchObject({ 401: 7, 403: 1, 200: 4 });
  });

  it('answers 404 and 405 as Duo-style JSON', async () => {
    const sim = await start();
    const r404 = await signedGet(sim, { path: '/admin/v1/users', params: {} });
    expect([r404.status, parseBody(r404)]).toEqual([404, { stat: 'FAIL', code: 40401, message: 'Resource not found' }]);
    const r405 = await request(`${sim.url}/admin/v2/logs/telephony`, { method: 'POST', body: '' });
    expect(r405.statusCode).toBe(405);
    expect(JSON.parse(await r405.body.text())).toMatchObject({ stat: 'FAIL', code: 40500 });
  });

  it('paces each integration with a token bucket: 429 42901 beyond it, then refills', async () => {
    const sim = await start({ rpm: 600, burst: 2 });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await signedGet(sim, { params: window })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const r = await signedGet(sim, { params: window });
    if (r.status === 429) expect(parseBody(r)).toEqual({ stat: 'FAIL', code: 42901, message: 'Too Many Requests' });
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect((await signedGet(sim, { params: window })).status).toBe(200);
  });
});

describe('simulator faults', () => {
  const mintimeMs = NOW - 3 * HOUR;
  const params = { mintime: String(mintimeMs), maxtime: String(NOW - 60_000), limit: '1000', sort: 'ts:asc' };

  async function outcome(sim: Simulator): Promise<string> {
    try {
      const r = await signedGet(sim, { params });
      try {
        const body = parseBody(r);
        return `${r.status} ${body.code ?? body.stat}`;
      } catch {
        return `${r.status} ${String(r.headers['content-type'])} unparseable(${r.text.length})`;
      }
    } catch (err) {
      return `network ${(err as Error).name}`;
    }
  }

  it('injects each fault kind observably', async () => {
    const sim = await start({ events: { events: 3000, seed: 2, fromMs: mintimeMs, toMs: NOW - 10 * 60_000 } });
    const seen: Record<string, string[]> = {};
    const kinds = {
      rate429: 1,
      rate500: 1,
      rate503: 1,
      rateHtml502: 1,
      rateReset: 1,
      rateTruncated: 1,
    } as const;
    for (const key of Object.keys(kinds) as Array<keyof typeof kinds>) {
      sim.setFaults({ seed: 3, [key]: 1 });
      seen[key] = [];
      for (let i = 0; i < 8; i++) seen[key].push(await outcome(sim));
    }
    expect(new Set(seen['rate429'])).toEqual(new Set(['429 42901']));
    expect(new Set(seen['rate500'])).toEqual(new Set(['500 50001']));
    expect(new Set(seen['rate503'])).toEqual(new Set(['503 application/json unparseable(0)']));
    expect(new Set(seen['rateHtml502'])).toEqual(new Set(['502 text/html unparseable(150)']));
    expect(seen['rateReset']!.every((o) => o.startsWith('network'))).toBe(true);
    // Both ways of cutting a body: a short well-framed body, and a connection closed before Content-Length.
    expect(seen['rateTruncated']!.some((o) => /^200 application\/json unparseable/.test(o))).toBe(true);
    expect(seen['rateTruncated']!.some((o) => o.startsWith('network'))).toBe(true);
    expect(sim.stats.faults).toMatchObject({ '429': 8, '500': 8, '503': 8, html502: 8, reset: 8, truncated: 8 });
    expect(sim.stats.byStatus[0]).toBe(8);
    expect(sim.stats.pagesServed).toBe(0);

    // Faults off again: the same simulator serves normally.
    sim.setFaults({});
    expect(await outcome(sim)).toBe('200 OK');
  });

  it('delays responses and mixes faults by rate, deterministically for a seed', async () => {
    const sim = await start({ faults: { rateDelay: 1, delayMs: 150 } });
    const t0 = performance.now();
    expect(await outcome(sim)).toBe('200 OK');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
    expect(sim.stats.faults.delay).toBe(1);

    const run = async () => {
      const s = await start({ faults: { seed: 99, rate500: 0.3, rate429: 0.2 } });
      const out = [];
      for (let i = 0; i < 30; i++) out.push(await outcome(s));
      return out;
    };
    const a = await run();
    expect(await run()).toEqual(a);
    expect(new Set(a)).toEqual(new Set(['200 OK', '500 50001', '429 42901']));
  });

  it('still checks credentials before any fault', async () => {
    const sim = await start({ faults: { rate500: 1 } });
    const r = await signedGet(sim, { params, skey: 'wrong' });
    expect(parseBody(r).code).toBe(40103);
  });

  it('closes with delayed requests pending', async () => {
    const sim = await startSimulator({ faults: { rateDelay: 1, delayMs: 60_000 } });
    const pending = outcome(sim);
    // Close only once the simulator holds the request (its delay is counted on arrival).
    while (sim.stats.faults.delay === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const t0 = performance.now();
    await sim.close();
    // Not the 60 s of the delay: pending answers are dropped.
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(await pending).toMatch(/^network/);
  });
});
