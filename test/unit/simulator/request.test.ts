import { describe, expect, it } from 'vitest';
import { createHmac } from 'node:crypto';
import { parsePageQuery, parseQuery, verifyCredentials, type CredentialCheck, type SimIntegration } from '../../../src/simulator/request.js';
import { canonicalize, rfc2822Date, signRequest } from '../../../src/duo/sign.js';

const NOW = Date.UTC(2024, 5, 1, 12, 0, 0);
const integration: SimIntegration = { ikey: 'DIXXXXXXXXXXXXXXXXXX', skey: 'deadbeefdeadbeefdeadbeefdeadbeefdeadbeef' };
const integrations = new Map([[integration.ikey, integration]]);
const PATH = '/admin/v2/logs/telephony';
const HOST = 'api-sim00000.duosecurity.com';

function check(headers: CredentialCheck['headers'], rawQuery = 'mintime=1717200000000&maxtime=1717243200000'): ReturnType<typeof verifyCredentials> {
  return verifyCredentials({ method: 'GET', path: PATH, query: parseQuery(rawQuery), headers, apiHost: HOST, integrations, nowMs: NOW, maxSkewSeconds: 300 });
}

function auth(params: Record<string, string>, opts: { date?: string; version?: 2 | 5; digest?: 'sha1' | 'sha512'; host?: string; skey?: string; duoHeaders?: Record<string, string> } = {}): string {
  return signRequest({
    ikey: integration.ikey,
    skey: opts.skey ?? integration.skey,
    method: 'GET',
    host: opts.host ?? HOST,
    path: PATH,
    params,
    date: opts.date ?? rfc2822Date(NOW),
    version: opts.version ?? 2,
    digest: opts.digest ?? 'sha512',
    duoHeaders: opts.duoHeaders ?? {},
  });
}

const PARAMS = { mintime: '1717200000000', maxtime: '1717243200000' };

describe('parseQuery', () => {
  it('decodes pairs, plus as space, repeated keys, empty values', () => {
    const q = parseQuery('a=1&b=x+y%2Cz&a=2&c&d=&=e&&');
    expect([...q]).toEqual([
      ['a', ['1', '2']],
      ['b', ['x y,z']],
      ['c', ['']],
      ['d', ['']],
      ['', ['e']],
    ]);
  });

  it('keeps malformed escapes as sent', () => {
    expect(parseQuery('a=%E0%A4%A')).toEqual(new Map([['a', ['%E0%A4%A']]]));
  });
});

describe('verifyCredentials', () => {
  const date = rfc2822Date(NOW);

  it('accepts v2 and v5, SHA-512 and SHA-1', () => {
    for (const version of [2, 5] as const) {
      for (const digest of ['sha512', 'sha1'] as const) {
        expect(check({ date, authorization: auth(PARAMS, { version, digest }) }).ok).toBe(true);
      }
    }
  });

  it('accepts the Host header as the signed host, case-insensitively', () => {
    expect(check({ date, host: '127.0.0.1:8080', authorization: auth(PARAMS, { host: '127.0.0.1:8080' }) }).ok).toBe(true);
    expect(check({ date, authorization: auth(PARAMS, { host: HOST.toUpperCase() }) }).ok).toBe(true);
  });

  it('re-canonicalises the query: order and encoding of the URL do not matter', () => {
    const a = auth({ ...PARAMS, sort: 'ts:asc', next_offset: '1717200000001,abc' });
    const raw = 'sort=ts:asc&next_offset=1717200000001%2cabc&maxtime=1717243200000&mintime=1717200000000';
    expect(check({ date, authorization: a }, raw).ok).toBe(true);
  });

  it('hashes x-duo-* headers into v5 and signs X-Duo-Date in place of Date', () => {
    const xDate = rfc2822Date(NOW - 1000);
    const a = auth(PARAMS, { version: 5, date: xDate, duoHeaders: { 'X-Duo-Date': xDate } });
    expect(check({ 'x-duo-date': xDate, authorization: a }).ok).toBe(true);
    // The same header sent but left out of the v5 hash does not verify.
    const b = auth(PARAMS, { version: 5, date: xDate });
    expect(check({ 'x-duo-date': xDate, authorization: b })).toMatchObject({ ok: false, failure: { code: 40103 } });
  });

  it('matches an independent HMAC of the documented canonical string', () => {
    const canonical = [date, 'GET', HOST, PATH, 'maxtime=1717243200000&mintime=1717200000000'].join('\n');
    expect(canonicalize({ date, method: 'get', host: HOST, path: PATH, params: PARAMS })).toBe(canonical);
    const sig = createHmac('sha512', integration.skey).update(canonical).digest('hex');
    const header = `Basic ${Buffer.from(`${integration.ikey}:${sig}`).toString('base64')}`;
    expect(check({ date, authorization: header }).ok).toBe(true);
  });

  it('answers Duo codes for each failure', () => {
    const good = auth(PARAMS);
    expect(check({ date })).toMatchObject({ ok: false, failure: { status: 401, code: 40101, message: 'Missing request credentials' } });
    expect(check({ date, authorization: 'Bearer abc' })).toMatchObject({ ok: false, failure: { code: 40101 } });
    expect(check({ date, authorization: `Basic ${Buffer.from('nocolon').toString('base64')}` })).toMatchObject({ ok: false, failure: { code: 40101 } });
    const unknown = `Basic ${Buffer.from('DIUNKNOWN:abcd').toString('base64')}`;
    expect(check({ date, authorization: unknown })).toMatchObject({ ok: false, failure: { status: 401, code: 40102 } });
    expect(check({ date, authorization: auth(PARAMS, { skey: 'wrong' }) })).toMatchObject({ ok: false, failure: { status: 401, code: 40103 } });
    expect(check({ date, authorization: good }, 'mintime=1717200000000&maxtime=1717243200001')).toMatchObject({ ok: false, failure: { code: 40103 } });
    expect(check({ authorization: good })).toMatchObject({ ok: false, failure: { status: 401, code: 40105 } });
    expect(check({ date: 'yesterday', authorization: auth(PARAMS, { date: 'yesterday' }) })).toMatchObject({ ok: false, failure: { code: 40105 } });
    const stale = rfc2822Date(NOW - 301_000);
    expect(check({ date: stale, authorization: auth(PARAMS, { date: stale }) })).toMatchObject({ ok: false, failure: { code: 40105 } });
    const ahead = rfc2822Date(NOW + 299_000);
    expect(check({ date: ahead, authorization: auth(PARAMS, { date: ahead }) }).ok).toBe(true);
  });
});

describe('parsePageQuery', () => {
  const ok = (raw: string) => parsePageQuery(parseQuery(raw), NOW);
  const MIN = NOW - 3_600_000;
  const base = `mintime=${MIN}&maxtime=${NOW}`;

  it('applies defaults: limit 100, sort ts:desc', () => {
    expect(ok(base)).toEqual({ ok: true, query: { mintimeMs: MIN, maxtimeMs: NOW, limit: 100, sort: 'ts:desc', cursor: undefined } });
  });

  it('reads limit, sort and the cursor', () => {
    expect(ok(`${base}&limit=1000&sort=ts:asc&next_offset=${MIN}%2Cabc-def`)).toEqual({
      ok: true,
      query: { mintimeMs: MIN, maxtimeMs: NOW, limit: 1000, sort: 'ts:asc', cursor: { tsMs: MIN, id: 'abc-def' } },
    });
  });

  it.each([
    ['', 40001, 'mintime, maxtime'],
    [`maxtime=${NOW}`, 40001, 'mintime'],
    [`mintime=${MIN}`, 40001, 'maxtime'],
    [`mintime=${Math.floor(MIN / 1000)}&maxtime=${NOW}`, 40002, 'mintime'],
    [`mintime=abc&maxtime=${NOW}`, 40002, 'mintime'],
    [`mintime=${MIN}&maxtime=${NOW}.5`, 40002, 'maxtime'],
    [`mintime=${MIN}&mintime=${MIN}&maxtime=${NOW}`, 40002, 'mintime'],
    [`mintime=${NOW - 181 * 86_400_000}&maxtime=${NOW}`, 40002, 'mintime must be within the past 180 days'],
    [`mintime=${NOW}&maxtime=${NOW}`, 40002, 'maxtime must be greater than mintime'],
    [`${base}&limit=0`, 40002, 'limit'],
    [`${base}&limit=1001`, 40002, 'limit'],
    [`${base}&limit=ten`, 40002, 'limit'],
    [`${base}&sort=ts`, 40002, 'sort'],
    [`${base}&next_offset=abc`, 40002, 'next_offset'],
    [`${base}&next_offset=${MIN}`, 40002, 'next_offset'],
    [`${base}&next_offset=${MIN}&next_offset=abc`, 40002, 'next_offset'],
  ])('%s → %i %s', (raw, code, detail) => {
    expect(ok(raw)).toEqual({
      ok: false,
      failure: { status: 400, code, message: code === 40001 ? 'Missing required request parameters' : 'Invalid request parameters', detail },
    });
  });

  it('accepts mintime exactly 180 days back', () => {
    expect(ok(`mintime=${NOW - 180 * 86_400_000}&maxtime=${NOW}`).ok).toBe(true);
  });
});
