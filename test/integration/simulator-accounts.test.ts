/**
 * The simulator's Accounts API and child accounts over real loopback HTTP: the list (form and JSON
 * bodies, v2 and v5), a child's logs read with `account_id` and signed for the child's host, and the
 * answers a collector in accounts mode must tell apart (401, 400, 403, 404, 429), with children added
 * and removed while the simulator runs and both readings of the child rate limit.
 */
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { request } from 'undici';
import { parseSimulateFlags, register, simulatorOptionsFrom, type SimulateJson } from '../../src/entry/commands/simulate.js';
import type { CliIo } from '../../src/entry/io.js';
import { canonicalParams, rfc2822Date, signRequest } from '../../src/duo/sign.js';
import { STREAMS } from '../../src/duo/streams.js';
import { createSimEvent } from '../../src/simulator/dataset.js';
import { childAccounts, type SimAccountOptions } from '../../src/simulator/accounts.js';
import { randomIntegration, type Simulator, type SimulatorOptions } from '../../src/simulator/server.js';
import { parseBody, signedGet, signedPost, type SimResponse, type SimTarget } from '../unit/simulator/support.js';
import { simulatorsClosedAfterEach } from '../support/simulators.js';

const start = simulatorsClosedAfterEach();
const MINUTE = 60_000;

function children(n: number, more: Partial<SimAccountOptions>[] = []): SimAccountOptions[] {
  return childAccounts(n, { seed: 7, logs: ['telephony', 'authentication'], events: 20 }).map((a, i) => ({ ...a, ...more[i] }));
}

/** The last two hours of telephony (every child's data lies in the hour ending 10 minutes ago). */
function window(): Record<string, string> {
  const now = Date.now();
  return { mintime: String(now - 120 * MINUTE), maxtime: String(now - MINUTE), limit: '1000' };
}

/** A telephony page of `account`, signed for `host` (default the child's own). */
function childGet(sim: Simulator, account: { accountId: string; apiHostname: string }, o: { host?: string; path?: string; ikey?: string; skey?: string } = {}) {
  return signedGet(sim, {
    params: { ...window(), account_id: account.accountId },
    signedHost: o.host ?? account.apiHostname,
    ...(o.path && { path: o.path }),
    ...(o.ikey && { ikey: o.ikey }),
    ...(o.skey && { skey: o.skey }),
  });
}

function failureOf(r: SimResponse): { status: number; code: number | undefined; detail: string | undefined } {
  const body = parseBody(r);
  return { status: r.status, code: body.code, detail: body.message_detail };
}

function listed(r: SimResponse): Array<{ account_id: string; name: string; api_hostname: string }> {
  expect(r.status, r.text).toBe(200);
  const body = JSON.parse(r.text) as { stat: string; response: Array<{ account_id: string; name: string; api_hostname: string }> };
  expect(body.stat).toBe('OK');
  return body.response;
}

async function simWith(opts: SimulatorOptions = {}): Promise<Simulator> {
  return start({ accounts: children(3), ...opts });
}

describe('simulator: the Accounts API', () => {
  it('lists the children in order, for a form body signed v2 and a JSON body signed v5', async () => {
    const sim = await simWith();
    const want = sim.accounts.map((a) => ({ account_id: a.accountId, name: a.name, api_hostname: a.apiHostname }));
    expect(want).toHaveLength(3);
    expect(listed(await signedPost(sim))).toEqual(want);
    // A form body's pairs are the signed parameters.
    expect(listed(await signedPost(sim, { body: 'hint=a+b', signedParams: { hint: 'a b' } }))).toEqual(want);
    expect(listed(await signedPost(sim, { body: '{}', contentType: 'application/json', version: 5 }))).toEqual(want);
    expect(listed(await signedPost(sim, { body: 'hint=x', signedParams: { hint: 'x' }, version: 5, digest: 'sha1' }))).toEqual(want);
  });

  it('checks the body and the host as for any request', async () => {
    const sim = await simWith();
    // v5 hashes the raw body: a body other than the one signed fails; v2 signs the form pairs.
    const v5 = await signedPost(sim, { body: '{"a":2}', signedBody: '{"a":1}', contentType: 'application/json', version: 5 });
    expect(failureOf(v5)).toMatchObject({ status: 401, code: 40103 });
    const v2 = await signedPost(sim, { body: 'hint=x', signedParams: {}, version: 2 });
    expect(failureOf(v2)).toMatchObject({ status: 401, code: 40103 });
    // Signed for a child's host: the list is the parent's.
    expect(failureOf(await signedPost(sim, { signedHost: sim.accounts[0]!.apiHostname }))).toMatchObject({ status: 401, code: 40103 });
    expect(failureOf(await signedPost(sim, { skey: 'not-the-secret' }))).toMatchObject({ status: 401, code: 40103 });
    expect(failureOf(await signedPost(sim, { dateMs: Date.now() - 3_600_000 }))).toMatchObject({ status: 401, code: 40105 });
  });

  it('answers 405 to any method but POST', async () => {
    const sim = await simWith();
    const r = await signedGet(sim, { path: '/accounts/v1/account/list' });
    expect(failureOf(r)).toMatchObject({ status: 405, code: 40500 });
    expect(failureOf(await signedPost(sim, { method: 'PUT' }))).toMatchObject({ status: 405, code: 40500 });
  });

  it('refuses an integration without the accounts permission: the list and every call with account_id', async () => {
    const parent = randomIntegration();
    const plain = { ...randomIntegration(), permissions: { accounts: false } };
    const sim = await simWith({ integrations: [parent, plain] });
    const child = sim.accounts[0]!;
    expect(failureOf(await signedPost(sim, { ikey: plain.ikey, skey: plain.skey }))).toMatchObject({ status: 403, code: 40301 });
    expect(failureOf(await childGet(sim, child, { ikey: plain.ikey, skey: plain.skey }))).toMatchObject({ status: 403, code: 40301 });
    const unknown = await childGet(sim, { accountId: 'DA000000000000000000', apiHostname: sim.apiHost }, { ikey: plain.ikey, skey: plain.skey });
    expect(failureOf(unknown)).toMatchObject({ status: 403, code: 40301 });
    // Its own logs stay readable.
    expect((await signedGet(sim, { params: window(), ikey: plain.ikey, skey: plain.skey })).status).toBe(200);
    expect(listed(await signedPost(sim, { ikey: parent.ikey, skey: parent.skey }))).toHaveLength(3);
  });

  it('gives the list a bucket of its own per integration', async () => {
    const sim = await simWith({ rpm: 1 });
    expect(listed(await signedPost(sim))).toHaveLength(3);
    expect(failureOf(await signedPost(sim))).toMatchObject({ status: 429, code: 42901 });
    expect((await signedGet(sim, { params: window() })).status).toBe(200);
  });
});

describe('simulator: child accounts', () => {
  it("serves a child's own events with account_id, signed for the child's host", async () => {
    const sim = await simWith();
    const [a, b] = sim.accounts;
    const ra = await childGet(sim, a!);
    expect(ra.status, ra.text).toBe(200);
    const ids = parseBody(ra).response!.items.map((i) => i['telephony_id']);
    const want = sim.eventsOf('telephony', a!.accountId).map((e) => e.id);
    expect(want).toHaveLength(20);
    expect([...ids].sort()).toEqual([...want].sort());
    const idsB = parseBody(await childGet(sim, b!)).response!.items.map((i) => i['telephony_id']);
    expect(idsB).toHaveLength(20);
    expect(idsB.filter((id) => ids.includes(id))).toEqual([]);
    // The parent's own log is empty here, and stays what it was.
    expect(parseBody(await signedGet(sim, { params: window() })).response!.items).toEqual([]);
    // Another stream of the child, signed v5.
    const auth = await signedGet(sim, {
      path: STREAMS.authentication.path,
      params: { ...window(), account_id: a!.accountId },
      signedHost: a!.apiHostname,
      version: 5,
    });
    expect(auth.status, auth.text).toBe(200);
    expect((JSON.parse(auth.text) as { response: { authlogs: unknown[] } }).response.authlogs).toHaveLength(20);

    expect(sim.stats.byAccount[a!.accountId]).toEqual({ requests: 2, itemsServed: 40, byStatus: { 200: 2 } });
    expect(sim.stats.byAccount[b!.accountId]).toEqual({ requests: 1, itemsServed: 20, byStatus: { 200: 1 } });
    expect(sim.stats.itemsServed).toBe(60);
  });

  it('refuses a child call signed for the parent host, and a call signed for a child host without account_id (401 40103)', async () => {
    const sim = await simWith();
    const child = sim.accounts[1]!;
    expect(failureOf(await childGet(sim, child, { host: sim.apiHost }))).toMatchObject({ status: 401, code: 40103 });
    const noAccount = await signedGet(sim, { params: window(), signedHost: child.apiHostname });
    expect(failureOf(noAccount)).toMatchObject({ status: 401, code: 40103 });
    // Another child's host is not this child's either.
    expect(failureOf(await childGet(sim, child, { host: sim.accounts[0]!.apiHostname }))).toMatchObject({ status: 401, code: 40103 });
    expect(sim.stats.byAccount[child.accountId]!.byStatus).toEqual({ 401: 2 });
  });

  it('answers 400 40002 account_id to an account_id that names no child, once the credentials hold', async () => {
    const sim = await simWith();
    const unknown = { accountId: 'DA000000000000000000', apiHostname: sim.apiHost };
    expect(failureOf(await childGet(sim, unknown))).toEqual({ status: 400, code: 40002, detail: 'account_id' });
    expect(failureOf(await childGet(sim, unknown, { skey: 'wrong' }))).toMatchObject({ status: 401, code: 40103 });
    // Sent twice: no one account is named.
    const child = sim.accounts[0]!;
    const params = { ...window(), account_id: [child.accountId, child.accountId] };
    const date = rfc2822Date(Date.now());
    const { ikey, skey } = sim.integrations[0]!;
    const authorization = signRequest({ ikey, skey, method: 'GET', host: child.apiHostname, path: STREAMS.telephony.path, params, date });
    const twice = await request(`${sim.url}${STREAMS.telephony.path}?${canonicalParams(params)}`, { headers: { date, authorization } });
    expect(twice.statusCode).toBe(400);
    expect(JSON.parse(await twice.body.text())).toMatchObject({ code: 40002, message_detail: 'account_id' });
    expect(sim.stats.byAccount).not.toHaveProperty(unknown.accountId);
  });

  it('answers 403 for a denied child, 404 where its edition lacks the endpoint, 429 in its storm', async () => {
    const sim = await start({ accounts: children(3, [{ denied: true }, { unsupported: ['authentication'] }, { rate429: 1 }]) });
    const [denied, partial, storm] = sim.accounts;
    expect(failureOf(await childGet(sim, denied!))).toMatchObject({ status: 403, code: 40301 });
    expect(failureOf(await childGet(sim, partial!, { path: STREAMS.authentication.path }))).toMatchObject({ status: 404, code: 40401 });
    expect((await childGet(sim, partial!)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect(failureOf(await childGet(sim, storm!))).toMatchObject({ status: 429, code: 42901 });
    // The others are untouched by one child's rules.
    expect((await signedGet(sim, { params: window(), path: STREAMS.authentication.path })).status).toBe(200);
    expect(sim.stats.byAccount[storm!.accountId]).toEqual({ requests: 5, itemsServed: 0, byStatus: { 429: 5 } });
    expect(sim.stats.faults['429']).toBe(5);
  });

  it('draws a partial rate429 deterministically', async () => {
    const statuses = async (): Promise<number[]> => {
      const sim = await start({ accounts: children(1, [{ rate429: 0.5 }]) });
      const out: number[] = [];
      for (let i = 0; i < 16; i++) out.push((await childGet(sim, sim.accounts[0]!)).status);
      await sim.close();
      return out;
    };
    const first = await statuses();
    expect(first).toContain(429);
    expect(first).toContain(200);
    expect(await statuses()).toEqual(first);
  });

  it('adds and removes children while it runs: the list follows, a removed child answers 400', async () => {
    const sim = await simWith();
    const [gone] = sim.accounts;
    const extra = childAccounts(1, { seed: 7, first: 4, logs: ['telephony'], events: 5 })[0]!;
    sim.addAccount(extra);
    expect(sim.removeAccount(gone!.accountId)).toBe(true);
    expect(sim.removeAccount(gone!.accountId)).toBe(false);
    const ids = listed(await signedPost(sim)).map((a) => a.account_id);
    expect(ids).toEqual([...sim.accounts.map((a) => a.accountId)]);
    expect(ids).toHaveLength(3);
    expect(ids.at(-1)).toBe(extra.accountId);
    expect(ids).not.toContain(gone!.accountId);

    // The removed child's client still signs for its host.
    expect(failureOf(await childGet(sim, gone!))).toEqual({ status: 400, code: 40002, detail: 'account_id' });
    expect(sim.stats.byAccount[gone!.accountId]!.byStatus).toEqual({ 400: 1 });
    expect(() => sim.eventsOf('telephony', gone!.accountId)).toThrow(RangeError);

    const r = await childGet(sim, extra);
    expect(parseBody(r).response!.items).toHaveLength(5);
    const late = createSimEvent({ tsMicros: (Date.now() - 30 * MINUTE) * 1000, id: 'added-to-the-child' });
    sim.addEvents([late], 'telephony', extra.accountId);
    const again = parseBody(await childGet(sim, extra)).response!.items.map((i) => i['telephony_id']);
    expect(again).toHaveLength(6);
    expect(again).toContain('added-to-the-child');
    expect(sim.eventsOf('telephony')).toEqual([]);
    expect(() => sim.addAccount(extra)).toThrow(/already a child/);
    expect(() => sim.addAccount({ ...extra, accountId: 'DAOTHER', apiHostname: sim.apiHost })).toThrow(/already/);
  });

  describe('the child rate limit', () => {
    // One request a minute: a second request within the test is refused whatever the machine's load.
    it("per-child: a child's endpoint has its own bucket, apart from the parent's and the other children's", async () => {
      const sim = await simWith({ rpm: 1 });
      const [a, b] = sim.accounts;
      expect((await signedGet(sim, { params: window() })).status).toBe(200);
      expect((await childGet(sim, a!)).status).toBe(200);
      expect((await childGet(sim, b!)).status).toBe(200);
      expect(failureOf(await childGet(sim, a!))).toMatchObject({ status: 429, code: 42901 });
      // Another endpoint of the same child: another bucket.
      expect((await childGet(sim, a!, { path: STREAMS.authentication.path })).status).toBe(200);
    });

    it("shared: every child draws on the parent integration's bucket of that endpoint", async () => {
      const sim = await simWith({ rpm: 1, childLimit: 'shared' });
      const [a, b] = sim.accounts;
      expect((await childGet(sim, a!)).status).toBe(200);
      expect(failureOf(await childGet(sim, b!))).toMatchObject({ status: 429, code: 42901 });
      expect(failureOf(await signedGet(sim, { params: window() }))).toMatchObject({ status: 429, code: 42901 });
      expect((await childGet(sim, b!, { path: STREAMS.authentication.path })).status).toBe(200);
    });

    it('follows setRateLimit in every bucket', async () => {
      const sim = await simWith({ rpm: 1 });
      const a = sim.accounts[0]!;
      expect((await childGet(sim, a)).status).toBe(200);
      expect((await childGet(sim, a)).status).toBe(429);
      sim.setRateLimit({ rpm: 0 });
      expect((await childGet(sim, a)).status).toBe(200);
    });
  });
});

describe('duo-secops simulate --accounts', () => {
  it('reads --accounts and --child-limit into the simulator options', () => {
    const s = parseSimulateFlags({ accounts: '4', childLimit: 'shared', logs: 'telephony,activity', seed: '5' }, Date.now());
    const opts = simulatorOptionsFrom(s);
    expect(opts.childLimit).toBe('shared');
    expect(opts.accounts).toHaveLength(4);
    expect(Object.keys(opts.accounts![0]!.logs!)).toEqual(['telephony', 'activity']);
    expect(opts.accounts).toEqual(simulatorOptionsFrom(s).accounts);
    expect(simulatorOptionsFrom(parseSimulateFlags({}, Date.now()))).not.toHaveProperty('accounts');
    expect(() => parseSimulateFlags({ accounts: 'many', childLimit: 'both' }, Date.now())).toThrow(/--accounts.*\n.*--child-limit/s);
  });

  it('serves the children it prints, and names them in its JSON line', async () => {
    const stdout = new PassThrough();
    let out = '';
    stdout.on('data', (c: Buffer) => (out += c.toString()));
    const io: CliIo = { stdout, stderr: new PassThrough(), stdin: new PassThrough(), env: {}, isTTY: false, setExitCode: () => {} };
    const program = new Command('duo-secops').exitOverride();
    register(program, io);
    const done = program.parseAsync(['node', 'duo-secops', 'simulate', '--json', '--events', '50', '--logs', 'telephony', '--accounts', '2']);
    try {
      for (let i = 0; !out.includes('\n'); i++) {
        if (i > 1000) throw new Error('no JSON line');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const summary = JSON.parse(out) as SimulateJson;
      expect(summary.accounts).toHaveLength(2);
      expect(summary.accounts[0]).toMatchObject({ name: 'Child 001', apiHostname: 'api-c0000001.duosecurity.com', events: 50 });
      expect(summary.env['DUO_ACCOUNTS']).toBe('all');
      const target: SimTarget = { url: summary.url, apiHost: summary.apiHost, integrations: [{ ikey: summary.ikey, skey: summary.skey }] };
      expect(listed(await signedPost(target, { version: 5 })).map((a) => a.account_id)).toEqual(summary.accounts.map((a) => a.accountId));
      const child = summary.accounts[1]!;
      const r = await signedGet(target, {
        params: { mintime: String(summary.window.fromMs), maxtime: String(summary.window.toMs), limit: '1000', account_id: child.accountId },
        signedHost: child.apiHostname,
      });
      expect(parseBody(r).response!.items).toHaveLength(50);
    } finally {
      process.emit('SIGTERM');
      await done;
    }
  });
});
