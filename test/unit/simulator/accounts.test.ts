import { describe, expect, it } from 'vitest';
import { rfc2822Date, signRequest } from '../../../src/duo/sign.js';
import { accountListBody, childAccounts, validateAccount, type SimAccountOptions } from '../../../src/simulator/accounts.js';
import { generateDataset, type DatasetOptions } from '../../../src/simulator/dataset.js';
import { accountIdOf, bodyParams, mayUseAccounts, parseQuery, verifyCredentials, type SimIntegration } from '../../../src/simulator/request.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);

describe('childAccounts', () => {
  it('is deterministic: the same seed gives the same children', () => {
    expect(childAccounts(5, { seed: 3, nowMs: NOW })).toEqual(childAccounts(5, { seed: 3, nowMs: NOW }));
    expect(childAccounts(5, { seed: 3, nowMs: NOW }).map((a) => a.accountId)).not.toEqual(childAccounts(5, { seed: 4, nowMs: NOW }).map((a) => a.accountId));
  });

  it('gives distinct, Duo-shaped ids, numbered names and distinct hosts', () => {
    const accounts = childAccounts(200, { nowMs: NOW });
    expect(new Set(accounts.map((a) => a.accountId)).size).toBe(200);
    expect(new Set(accounts.map((a) => a.apiHostname)).size).toBe(200);
    for (const a of accounts) expect(a.accountId).toMatch(/^DA[A-Z0-9]{18}$/);
    expect(accounts[0]).toMatchObject({ name: 'Child 001', apiHostname: 'api-c0000001.duosecurity.com' });
    expect(accounts[199]).toMatchObject({ name: 'Child 200', apiHostname: 'api-c0000200.duosecurity.com' });
  });

  it('extends an earlier batch from `first`', () => {
    const all = childAccounts(6, { seed: 9, nowMs: NOW });
    expect(childAccounts(2, { seed: 9, nowMs: NOW, first: 5 })).toEqual(all.slice(4));
  });

  it('gives each child small data sets of the streams asked for, ending 10 minutes before now, different per child', () => {
    const [a, b] = childAccounts(2, { nowMs: NOW, logs: ['telephony', 'activity'], events: 30 });
    expect(Object.keys(a!.logs!)).toEqual(['telephony', 'activity']);
    const opts = a!.logs!.telephony as DatasetOptions;
    expect(opts).toMatchObject({ stream: 'telephony', events: 30, toMs: NOW - 600_000, fromMs: NOW - 600_000 - 3_600_000 });
    const eventsA = generateDataset(opts);
    const eventsB = generateDataset(b!.logs!.telephony as DatasetOptions);
    expect(eventsA).toHaveLength(30);
    const idsA = new Set(eventsA.map((e) => e.id));
    expect(eventsB.filter((e) => idsA.has(e.id))).toEqual([]);
    expect(childAccounts(1, { nowMs: NOW, events: 0 })[0]!.logs).toEqual({});
    expect(Object.keys(childAccounts(1, { nowMs: NOW })[0]!.logs!)).toEqual(['telephony', 'authentication', 'activity', 'trust_monitor', 'administrator']);
  });

  it('refuses a count or a first number that is not whole', () => {
    expect(() => childAccounts(-1)).toThrow(RangeError);
    expect(() => childAccounts(1.5)).toThrow(RangeError);
    expect(() => childAccounts(1, { first: 0 })).toThrow(RangeError);
    expect(() => childAccounts(1, { logs: ['nope' as 'telephony'] })).toThrow(RangeError);
  });
});

describe('validateAccount', () => {
  const ok: SimAccountOptions = { accountId: 'DAAAAAAAAAAAAAAAAAAA', name: 'A', apiHostname: 'api-c0000001.duosecurity.com' };
  const none = { ids: new Set<string>(), hosts: new Set<string>() };

  it('accepts a well-formed child', () => {
    expect(() => validateAccount(ok, none)).not.toThrow();
    expect(() => validateAccount({ ...ok, rate429: 1, unsupported: ['activity'], logs: { telephony: [] } }, none)).not.toThrow();
  });

  it.each<[string, Partial<SimAccountOptions>]>([
    ['an empty id', { accountId: '' }],
    ['an id with a space', { accountId: 'DA 1' }],
    ['an id naming an Object property', { accountId: '__proto__' }],
    ['a host that is not one', { apiHostname: 'https://x' }],
    ['a rate above 1', { rate429: 1.5 }],
    ['an unknown stream in logs', { logs: { nope: [] } as SimAccountOptions['logs'] }],
    ['an unknown unsupported stream', { unsupported: ['nope' as 'telephony'] }],
  ])('refuses %s', (_, change) => {
    expect(() => validateAccount({ ...ok, ...change }, none)).toThrow(RangeError);
  });

  it('refuses an id or a host already in use (hosts compared case-insensitively)', () => {
    expect(() => validateAccount(ok, { ids: new Set([ok.accountId]), hosts: new Set() })).toThrow(/already a child/);
    expect(() => validateAccount({ ...ok, apiHostname: 'API-C0000001.duosecurity.com' }, { ids: new Set(), hosts: new Set([ok.apiHostname]) })).toThrow(/already/);
  });
});

describe('accountListBody', () => {
  it("is Duo's answer: account_id, name, api_hostname in order", () => {
    expect(JSON.parse(accountListBody([{ accountId: 'DA1', name: 'One', apiHostname: 'h1' }, { accountId: 'DA2', name: 'Two', apiHostname: 'h2' }]))).toEqual({
      stat: 'OK',
      response: [
        { account_id: 'DA1', name: 'One', api_hostname: 'h1' },
        { account_id: 'DA2', name: 'Two', api_hostname: 'h2' },
      ],
    });
    expect(accountListBody([])).toBe('{"stat":"OK","response":[]}');
  });
});

describe('request rules for accounts', () => {
  it('accountIdOf: none, one, or null when repeated', () => {
    expect(accountIdOf(parseQuery('mintime=1'))).toBeUndefined();
    expect(accountIdOf(parseQuery('account_id=DA1&mintime=1'))).toBe('DA1');
    expect(accountIdOf(parseQuery('account_id=DA1&account_id=DA2'))).toBeNull();
  });

  it('bodyParams: form pairs are signed, a JSON body has none', () => {
    expect([...bodyParams('application/x-www-form-urlencoded; charset=utf-8', 'a=1&b=x+y')]).toEqual([
      ['a', ['1']],
      ['b', ['x y']],
    ]);
    expect([...bodyParams(undefined, 'a=1')]).toEqual([['a', ['1']]]);
    expect([...bodyParams('application/json', '{"a":1}')]).toEqual([]);
    expect([...bodyParams('Application/JSON; charset=utf-8', 'a=1')]).toEqual([]);
  });

  it('mayUseAccounts: allowed unless refused', () => {
    expect(mayUseAccounts({ ikey: 'DI', skey: 's' })).toBe(true);
    expect(mayUseAccounts({ ikey: 'DI', skey: 's', permissions: { readTelephony: true } })).toBe(true);
    expect(mayUseAccounts({ ikey: 'DI', skey: 's', permissions: { accounts: false } })).toBe(false);
  });

  describe('verifyCredentials for a POST and for extra hosts', () => {
    const integration: SimIntegration = { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef' };
    const integrations = new Map([[integration.ikey, integration]]);
    const PATH = '/accounts/v1/account/list';
    const date = rfc2822Date(NOW);
    const sign = (o: { version: 2 | 5; host: string; body: string; params?: Record<string, string> }): string =>
      signRequest({ ...integration, method: 'POST', host: o.host, path: PATH, params: o.params ?? {}, date, version: o.version, body: o.body });
    const check = (authorization: string, o: { body: string; contentType?: string; apiHost?: string; extraHosts?: string[] }) =>
      verifyCredentials({
        method: 'POST',
        path: PATH,
        query: bodyParams(o.contentType, o.body),
        headers: { authorization, date, host: '127.0.0.1:1' },
        apiHost: o.apiHost ?? 'parent.example',
        ...(o.extraHosts && { extraHosts: o.extraHosts }),
        integrations,
        nowMs: NOW,
        maxSkewSeconds: 300,
        body: o.body,
      });

    it('v5 hashes the raw body, JSON or form', () => {
      expect(check(sign({ version: 5, host: 'parent.example', body: '{"x":1}' }), { body: '{"x":1}', contentType: 'application/json' }).ok).toBe(true);
      expect(check(sign({ version: 5, host: 'parent.example', body: '{"x":1}' }), { body: '{"x":2}', contentType: 'application/json' }).ok).toBe(false);
      expect(check(sign({ version: 5, host: 'parent.example', body: 'a=1', params: { a: '1' } }), { body: 'a=1' }).ok).toBe(true);
    });

    it('v2 signs the form pairs, not the body', () => {
      expect(check(sign({ version: 2, host: 'parent.example', body: 'ignored', params: { a: '1' } }), { body: 'a=1' }).ok).toBe(true);
      expect(check(sign({ version: 2, host: 'parent.example', body: '', params: {} }), { body: 'a=1' }).ok).toBe(false);
    });

    it('accepts a signature for an extra host, and only with it', () => {
      const forChild = sign({ version: 2, host: 'child.example', body: '' });
      expect(check(forChild, { body: '' }).ok).toBe(false);
      expect(check(forChild, { body: '', extraHosts: ['CHILD.example'] }).ok).toBe(true);
      expect(check(forChild, { body: '', apiHost: 'child.example' }).ok).toBe(true);
    });
  });
});
