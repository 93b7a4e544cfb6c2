/**
 * The signer against Duo's published vectors, Duo's own Node signer as an oracle, and properties of the
 * canonical parameter encoding.
 */
import { createHmac } from 'node:crypto';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalDuoHeaders,
  canonicalize,
  canonicalParams,
  parseAuthorization,
  percentEncode,
  rfc2822Date,
  sha512Hex,
  signatureHex,
  signaturesEqual,
  signRequest,
  type Params,
} from '../../../src/duo/sign.js';

const require = createRequire(import.meta.url);
type DuoSign = (ikey: string, skey: string, method: string, host: string, path: string, params: Record<string, string>, date: string, body?: string) => string;
const duoSig = require('@duosecurity/duo_api/lib/duo_sig.js') as { sign: DuoSign; signV5: DuoSign };

const UNRESERVED = /^[A-Za-z0-9\-_.~]$/;

describe('duo_api_nodejs vectors (tests/duo_sig.js "Signature Checks")', () => {
  const common = { ikey: 'test_ikey', skey: 'test_skey', method: 'POST', host: 'test.duosecurity.com', path: '/test/v1', date: 'Tue, 21 Aug 2012 17:29:18 -0000' };

  it('V2 signature, recomputed with node:crypto and pinned', () => {
    const params = { realname: 'First Last', username: 'root' };
    const canonical = [common.date, 'POST', 'test.duosecurity.com', '/test/v1', 'realname=First%20Last&username=root'].join('\n');
    const independentHex = createHmac('sha512', 'test_skey').update(canonical, 'utf8').digest('hex');
    const independent = `Basic ${Buffer.from(`test_ikey:${independentHex}`).toString('base64')}`;

    const pinnedHex =
      '042a30c682bd836fc5ba467891a956eaa10091ca0f73a7fb396aefd56a3529e56932dea427a67213af664ba6841689ff2336b7a373766ea5ab7ab9fe2638226b';
    const pinned =
      'Basic dGVzdF9pa2V5OjA0MmEzMGM2ODJiZDgzNmZjNWJhNDY3ODkxYTk1NmVhYTEwMDkxY2EwZjczYTdmYjM5NmFlZmQ1NmEzNTI5ZTU2OTMyZGVhNDI3YTY3MjEzYWY2NjRiYTY4NDE2ODlmZjIzMzZiN2EzNzM3NjZlYTVhYjdhYjlmZTI2MzgyMjZi';

    expect(independentHex).toBe(pinnedHex);
    expect(independent).toBe(pinned);
    expect(canonicalize({ ...common, params })).toBe(canonical);
    expect(signRequest({ ...common, params })).toBe(pinned);
    expect(signRequest({ ...common, params, version: 2, digest: 'sha512' })).toBe(pinned);
  });

  it('V5 signature (JSON body, no params), pinned', () => {
    const body = JSON.stringify({ realname: 'First Last', username: 'root' });
    const pinned =
      'Basic dGVzdF9pa2V5OjdkMDI0MDlhMTUyNzY0ODQzY2NjZDgyODRkYTE1M2IzZmI0NDZiYWFkNWY5OTg4ODYzMjVlMjRiYzljZDRhMjQ0ZGU4NWFkNGJmYTdlYTI4NWQ2ODIwOWYxNjA4MzU2NzNkOGI0ZjFlMWIyM2Q5Y2Q1MjFkMjZiZmU3ZjM2NmE0';
    const canonical = [common.date, 'POST', 'test.duosecurity.com', '/test/v1', '', sha512Hex(body), sha512Hex('')].join('\n');
    const independentHex = createHmac('sha512', 'test_skey').update(canonical, 'utf8').digest('hex');
    expect(`Basic ${Buffer.from(`test_ikey:${independentHex}`).toString('base64')}`).toBe(pinned);
    expect(signRequest({ ...common, params: {}, version: 5, body })).toBe(pinned);
  });
});

describe('duo_client_python vectors (tests/test_client_sign.py)', () => {
  // The unicode params shared by TestCanonicalize and TestSign.
  const params: Params = {
    '\u469a\u287b\u35d0\u8ef3\u6727\u502a\u0810\ud091\xc8\uc170': '\u0f45\u1a76\u341a\u654c\uc23f\u9b09\uabe2\u8343\u1b27\u60d0',
    '\u7449\u7e4b\uccfb\u59ff\ufe5f\u83b7\uadcc\u900c\ucfd1\u7813': '\u8db7\u5022\u92d3\u42ef\u207d\u8730\uacfe\u5617\u0946\u4e30',
    '\u7470\u9314\u901c\u9eae\u40d8\u4201\u82d8\u8c70\u1d31\ua042': '\u17d9\u0ba8\u9358\uaadf\ua42a\u48be\ufb96\u6fe9\ub7ff\u32f3',
    '\uc2c5\u2c1d\u2620\u3617\u96b3F\u8605\u20e8\uac21\u5934': '\ufba9\u41aa\ubd83\u840b\u2615\u3e6e\u652d\ua8b5\ud56bU',
  };
  const expectedParams =
    '%E4%9A%9A%E2%A1%BB%E3%97%90%E8%BB%B3%E6%9C%A7%E5%80%AA%E0%A0%90%ED%82%91%C3%88%EC%85%B0=%E0%BD%85%E1%A9%B6%E3%90%9A%E6%95%8C%EC%88%BF%E9%AC%89%EA%AF%A2%E8%8D%83%E1%AC%A7%E6%83%90' +
    '&%E7%91%89%E7%B9%8B%EC%B3%BB%E5%A7%BF%EF%B9%9F%E8%8E%B7%EA%B7%8C%E9%80%8C%EC%BF%91%E7%A0%93=%E8%B6%B7%E5%80%A2%E9%8B%93%E4%8B%AF%E2%81%BD%E8%9C%B0%EA%B3%BE%E5%98%97%E0%A5%86%E4%B8%B0' +
    '&%E7%91%B0%E9%8C%94%E9%80%9C%E9%BA%AE%E4%83%98%E4%88%81%E8%8B%98%E8%B1%B0%E1%B4%B1%EA%81%82=%E1%9F%99%E0%AE%A8%E9%8D%98%EA%AB%9F%EA%90%AA%E4%A2%BE%EF%AE%96%E6%BF%A9%EB%9F%BF%E3%8B%B3' +
    '&%EC%8B%85%E2%B0%9D%E2%98%A0%E3%98%97%E9%9A%B3F%E8%98%85%E2%83%A8%EA%B0%A1%E5%A4%B4=%EF%AE%A9%E4%86%AA%EB%B6%83%E8%90%8B%E2%98%95%E3%B9%AE%E6%94%AD%EA%A2%B5%ED%95%ABU';
  const request = { date: 'Fri, 07 Dec 2012 17:18:00 -0000', host: 'foO.BAr52.cOm', method: 'PoSt', path: '/Foo/BaR2/qux', params };

  it('TestQueryParameters: unicode keys and values, printable ASCII, simple', () => {
    expect(canonicalParams(params)).toBe(expectedParams);
    expect(canonicalParams({ realname: 'First Last', username: 'root' })).toBe('realname=First%20Last&username=root');
    expect(canonicalParams({})).toBe('');
    expect(
      canonicalParams({
        digits: '0123456789',
        letters: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
        punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
        whitespace: '\t\n\x0b\x0c\r ',
      }),
    ).toBe(
      'digits=0123456789&letters=abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ' +
        '&punctuation=%21%22%23%24%25%26%27%28%29%2A%2B%2C-.%2F%3A%3B%3C%3D%3E%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~&whitespace=%09%0A%0B%0C%0D%20',
    );
  });

  it('TestCanonicalize.test_v2', () => {
    expect(canonicalize({ ...request, version: 2 })).toBe(`Fri, 07 Dec 2012 17:18:00 -0000\nPOST\nfoo.bar52.com\n/Foo/BaR2/qux\n${expectedParams}`);
  });

  it('TestSign.test_hmac_sha1: f01811cbbf9561623ab45b893096267fd46a5178', () => {
    const skey = 'gtdfxv9YgVBYcF6dl2Eq17KUQJN2PLM2ODVTkvoT';
    expect(signatureHex(skey, canonicalize({ ...request, version: 2 }), 'sha1')).toBe('f01811cbbf9561623ab45b893096267fd46a5178');
    expect(signRequest({ ...request, ikey: 'test_ikey', skey, version: 2, digest: 'sha1' })).toBe(
      `Basic ${Buffer.from('test_ikey:f01811cbbf9561623ab45b893096267fd46a5178').toString('base64')}`,
    );
  });
});

/** Keys limited to unreserved characters: Duo's Node signer sorts raw keys, ours encoded ones; both agree there. */
const keyArb = fc.stringMatching(/^[A-Za-z0-9\-_.~]{1,12}$/);
const valueArb = fc.string({ unit: 'binary', maxLength: 24 });

describe("agreement with @duosecurity/duo_api's sign/signV5", () => {
  it('gives the same Authorization for random requests', () => {
    fc.assert(
      fc.property(
        fc.record({
          ikey: fc.stringMatching(/^DI[A-Z0-9]{18}$/),
          skey: fc.string({ minLength: 1, maxLength: 40 }),
          method: fc.constantFrom('GET', 'POST', 'get', 'Delete'),
          host: fc.constantFrom('api-1234abcd.duosecurity.com', 'API-XYZ.DuoSecurity.com', '127.0.0.1:8443'),
          path: fc.constantFrom('/admin/v2/logs/telephony', '/admin/v1/users', '/a b/c'),
          params: fc.dictionary(keyArb, valueArb, { maxKeys: 6 }),
          dateMs: fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
          body: valueArb,
        }),
        ({ ikey, skey, method, host, path, params, dateMs, body }) => {
          const date = rfc2822Date(dateMs);
          const input = { ikey, skey, method, host, path, params, date };
          expect(signRequest({ ...input, version: 2 })).toBe(duoSig.sign(ikey, skey, method, host, path, params, date));
          expect(signRequest({ ...input, version: 5, body })).toBe(duoSig.signV5(ikey, skey, method, host, path, params, date, body));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('percentEncode', () => {
  it('leaves only unreserved characters literal and decodes back to the input', () => {
    fc.assert(
      fc.property(valueArb, (s) => {
        const out = percentEncode(s);
        expect(out).toMatch(/^(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*$/);
        expect(decodeURIComponent(out)).toBe(s);
        for (const ch of s) {
          if (UNRESERVED.test(ch)) continue;
          // Every other character is encoded as its UTF-8 bytes.
          const bytes = [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
          expect(out).toContain(bytes);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('keeps unreserved text as it is', () => {
    fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9\-_.~]*$/), (s) => percentEncode(s) === s));
  });

  it.each([
    [' ', '%20'],
    [',', '%2C'],
    [':', '%3A'],
    ['!', '%21'],
    ["'", '%27'],
    ['(', '%28'],
    [')', '%29'],
    ['*', '%2A'],
    ['+', '%2B'],
    ['~', '~'],
    ['é', '%C3%A9'],
    ['😀', '%F0%9F%98%80'],
  ])('%j -> %s', (input, encoded) => {
    expect(percentEncode(input)).toBe(encoded);
  });
});

describe('canonicalParams', () => {
  const paramsArb = fc.dictionary(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), valueArb, { maxKeys: 8 });

  it('decodes back to the input pairs, sorted by encoded key', () => {
    fc.assert(
      fc.property(paramsArb, (params) => {
        const out = canonicalParams(params);
        const pairs = out === '' ? [] : out.split('&').map((p) => p.split('='));
        expect(pairs.every((p) => p.length === 2)).toBe(true);
        const decoded = Object.fromEntries(pairs.map(([k, v]) => [decodeURIComponent(k!), decodeURIComponent(v!)]));
        expect(decoded).toEqual({ ...params });
        const keys = pairs.map(([k]) => k!);
        expect(keys).toEqual([...keys].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('does not depend on the order of the input object', () => {
    fc.assert(
      fc.property(
        paramsArb.chain((params) => fc.tuple(fc.constant(params), fc.shuffledSubarray(Object.entries(params), { minLength: Object.keys(params).length }))),
        ([params, shuffled]) => {
          expect(canonicalParams(Object.fromEntries(shuffled))).toBe(canonicalParams(params));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('repeats a key for each value of an array, values sorted', () => {
    expect(canonicalParams({ b: ['z', 'a b'], a: '1' })).toBe('a=1&b=a%20b&b=z');
  });

  it('encodes the telephony query as the client sends it', () => {
    expect(
      canonicalParams({ mintime: '1700000000000', maxtime: '1700086400000', limit: '1000', sort: 'ts:asc', next_offset: '1700000000100,5bf1a860-fe39' }),
    ).toBe('limit=1000&maxtime=1700086400000&mintime=1700000000000&next_offset=1700000000100%2C5bf1a860-fe39&sort=ts%3Aasc');
  });
});

describe('rfc2822Date', () => {
  it('formats the vectors dates exactly', () => {
    expect(rfc2822Date(Date.UTC(2012, 7, 21, 17, 29, 18))).toBe('Tue, 21 Aug 2012 17:29:18 -0000');
    expect(rfc2822Date(Date.UTC(2012, 11, 7, 17, 18, 0, 999))).toBe('Fri, 07 Dec 2012 17:18:00 -0000');
    expect(rfc2822Date(Date.UTC(2026, 0, 1, 0, 0, 5))).toBe('Thu, 01 Jan 2026 00:00:05 -0000');
  });

  it('has the fixed RFC 2822 shape and parses back to the same second, in UTC', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) }), (ms) => {
        const s = rfc2822Date(ms);
        expect(s).toMatch(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} -0000$/);
        expect(Date.parse(s)).toBe(Math.floor(ms / 1000) * 1000);
      }),
      { numRuns: 500 },
    );
  });
});

describe('v5 extras and helpers', () => {
  it('hashes x-duo headers case-insensitively, sorted, NUL-separated', () => {
    expect(canonicalDuoHeaders()).toBe(sha512Hex(''));
    expect(canonicalDuoHeaders({ 'X-Duo-B': '2', 'x-duo-a': '1' })).toBe(sha512Hex('x-duo-a\x001\x00x-duo-b\x002'));
  });

  it('parses its own Authorization header and compares signatures', () => {
    const auth = signRequest({ ikey: 'DIX', skey: 's', method: 'GET', host: 'h', path: '/p', params: {}, date: 'd' });
    const parsed = parseAuthorization(auth);
    expect(parsed?.ikey).toBe('DIX');
    expect(parsed?.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(signaturesEqual(parsed!.signature, parsed!.signature)).toBe(true);
    expect(signaturesEqual(parsed!.signature, 'x')).toBe(false);
    expect(parseAuthorization('Bearer x')).toBeUndefined();
    expect(parseAuthorization(undefined)).toBeUndefined();
  });
});
