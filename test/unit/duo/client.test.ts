/** The client's pure parts: body checks, cursor normalisation, redaction, option validation. */
import fc from 'fast-check';
import { normalizeNextOffset, STREAMS } from '../../../src/duo/streams.js';
import { describe, expect, it } from 'vitest';
import {
  createDuoClient,
  createRedactor,
  formatOffset,
  looksTruncated,
  parseHttpDate,
  readBody,
} from '../../../src/duo/client.js';
import { isRetryableStatus, refusalFor, RETRYABLE_STATUSES, statusOfDuoCode } from '../../../src/duo/errors-map.js';
import { ConfigError } from '../../../src/errors.js';

describe('normalizeNextOffset', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['', null],
    [[], null],
    ['1666714065304,5bf1a860-fe39-49e3-be29-217659663a74', '1666714065304,5bf1a860-fe39-49e3-be29-217659663a74'],
    [['1666714065304', '5bf1a860'], '1666714065304,5bf1a860'],
    [[1666714065304, 'abc'], '1666714065304,abc'],
    [1666714065304, '1666714065304'],
  ])('%j -> %j', (input, expected) => {
    expect(normalizeNextOffset(input)).toEqual({ nextOffset: expected });
  });

  it.each([[{ a: 1 }], [[{}]], [true], [Number.NaN]])('refuses %j', (input) => {
    expect(normalizeNextOffset(input)).toHaveProperty('problem');
  });
});

const parseTelephonyBody = (v: unknown) => STREAMS.telephony.parse(v, { mintimeMs: 0, maxtimeMs: 1, limit: 1000 });

describe('parseTelephonyBody', () => {
  const item = { context: 'authentication', credits: 1, phone: '+12125556707', telephony_id: 'id-1', ts: '2023-03-21T22:34:49.466370+00:00', txid: 't', type: 'sms', new_field: { x: 1 } };

  it('keeps items exactly as sent, ignores total_objects whatever its type', () => {
    for (const total of [3, { relation: 'eq', value: 3 }, 'x', undefined]) {
      const parsed = parseTelephonyBody({ stat: 'OK', response: { items: [item], metadata: { next_offset: 'a,b', total_objects: total } } });
      expect(parsed).toEqual({ page: { items: [item], nextOffset: 'a,b' } });
    }
    const parsed = parseTelephonyBody(JSON.parse(JSON.stringify({ stat: 'OK', response: { items: [item] } })));
    expect('page' in parsed && Object.keys(parsed.page.items[0]!)).toEqual(Object.keys(item));
  });

  it('accepts a page without metadata as the last one', () => {
    expect(parseTelephonyBody({ stat: 'OK', response: { items: [] } })).toEqual({ page: { items: [], nextOffset: null } });
  });

  it.each([
    [null, 'not an object'],
    [[], 'not an object'],
    [{ response: { items: [] } }, '"stat"'],
    [{ stat: 'FAIL', code: 40002, message: 'Invalid request parameters' }, '40002 Invalid request parameters'],
    [{ stat: 'OK' }, '"response" missing'],
    [{ stat: 'OK', response: { items: {} } }, '"response.items" missing or not an array'],
    [{ stat: 'OK', response: { items: [{}, null] } }, '"response.items[1]" is not an object'],
    [{ stat: 'OK', response: { items: [[]] } }, '"response.items[0]" is not an object'],
    [{ stat: 'OK', response: { items: [], metadata: 'x' } }, '"response.metadata"'],
    [{ stat: 'OK', response: { items: [], metadata: { next_offset: { a: 1 } } } }, 'next_offset'],
  ])('refuses %j', (body, problem) => {
    const parsed = parseTelephonyBody(body);
    expect('problem' in parsed && parsed.problem).toContain(problem);
  });

  it('never throws, whatever JSON comes back', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => typeof parseTelephonyBody(v) === 'object'));
  });
});

describe('readBody', () => {
  it('quotes the start of an HTML body from a proxy', () => {
    const r = readBody('<html>\n<head><title>502 Bad Gateway</title></head>' + 'x'.repeat(200), 'text/html; charset=utf-8');
    expect(r.json).toBe(false);
    if (r.json) return;
    expect(r.description).toContain('HTML body (content-type text/html)');
    expect(r.description).toContain('<html> <head><title>502 Bad Gateway');
    expect(r.description.length).toBeLessThan(200);
  });

  it('says when a body is empty, truncated, malformed or not JSON, and quotes only the last', () => {
    const describe = (text: string, ct?: string): string => {
      const r = readBody(text, ct);
      return r.json ? 'json' : r.description;
    };
    expect(describe('', 'application/json')).toBe('an empty body (content-type application/json)');
    expect(describe('{"stat":"OK","response":{"items":[{"phone":"+1212', 'application/json')).toMatch(/^truncated JSON \(\d+ bytes/);
    expect(describe('{"stat":"OK"}}', 'application/json')).toMatch(/^malformed JSON/);
    expect(describe('{"stat":"OK","phone":"+1212555}x', 'application/json')).not.toContain('+1212');
    expect(describe('upstream connect error', 'text/plain')).toBe('a non-JSON body (content-type text/plain): "upstream connect error"');
    expect(describe('{"stat":"OK"}')).toBe('json');
  });

  it('redacts what it quotes', () => {
    const r = readBody(`<p>Authorization: Basic ${Buffer.from('DIX:' + 'a'.repeat(128)).toString('base64')} sekrit</p>`, 'text/html', createRedactor('sekrit'));
    expect(!r.json && r.description).not.toMatch(/sekrit|RElYOm/);
  });
});

describe('looksTruncated', () => {
  it('is true for every strict prefix of a JSON object and false for the whole', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue(), { minKeys: 1 }), fc.nat(), (obj, cut) => {
        const text = JSON.stringify(obj);
        expect(looksTruncated(text)).toBe(false);
        const prefix = text.slice(0, cut % text.length);
        if (prefix.length > 0) expect(looksTruncated(prefix)).toBe(true);
      }),
    );
  });
});

describe('small helpers', () => {
  it('redacts the secret key, Basic credentials and long hex', () => {
    const redact = createRedactor('Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zT1bLc');
    const text = `k=Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zT1bLc auth=Basic RElYOmFiYw== sig=${'ab12'.repeat(32)} id=5bf1a860-fe39-49e3-be29-217659663a74`;
    expect(redact(text)).toBe('k=[redacted] auth=Basic [redacted] sig=[redacted] id=5bf1a860-fe39-49e3-be29-217659663a74');
  });

  it('parses HTTP dates and formats offsets', () => {
    expect(parseHttpDate('Thu, 01 Jan 2026 12:00:00 GMT')).toBe(Date.UTC(2026, 0, 1, 12));
    expect(parseHttpDate('garbage')).toBeUndefined();
    expect(parseHttpDate(undefined)).toBeUndefined();
    expect(formatOffset(400)).toBe('+0.4 s');
    expect(formatOffset(-312_000)).toBe('-312.0 s');
  });

  it('retries 429 and 5xx only (kept as data)', () => {
    expect(RETRYABLE_STATUSES).toEqual([
      [429, 429],
      [500, 599],
    ]);
    expect([429, 500, 502, 503, 504, 599].every(isRetryableStatus)).toBe(true);
    expect([200, 301, 400, 401, 403, 404, 408, 428, 430, 600].some(isRetryableStatus)).toBe(false);
  });

  it('reads the status a Duo code stands for, for a stat FAIL inside a 2xx', () => {
    expect([40002, 40103, 40105, 40301, 42901, 50001, 59999].map(statusOfDuoCode)).toEqual([400, 401, 401, 403, 429, 500, 599]);
    for (const code of [undefined, 0, 200, 4000, 39999, 60000, 400020, 40002.5]) expect(statusOfDuoCode(code), String(code)).toBeUndefined();
    // Judged by that status, 40002 maps as it does on a 400.
    expect(refusalFor(statusOfDuoCode(40002)!, 40002)).toEqual(refusalFor(400, 40002));
    expect(refusalFor(statusOfDuoCode(40002)!, 40002).code).toBe('DUO_BAD_REQUEST');
  });
});

describe('createDuoClient options', () => {
  const good = { ikey: 'DIX', skey: 's', apiHost: 'api-x.duosecurity.com' };

  it('lists every bad option at once', () => {
    try {
      createDuoClient({ ikey: '', skey: '', apiHost: 'h', baseUrl: 'ftp://x', requestsPerMinute: 0, timeoutMs: -1, maxRetries: 1.5, backoffBaseMs: -1, jitterMs: Number.NaN });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as ConfigError).problems).toHaveLength(8);
    }
  });

  it('accepts defaults, a base URL with a path, and no pacing', async () => {
    for (const extra of [{}, { baseUrl: 'http://127.0.0.1:8080/proxy/' }, { requestsPerMinute: Number.POSITIVE_INFINITY }]) {
      const client = createDuoClient({ ...good, ...extra });
      expect(client.stats).toEqual({ requests: 0, retries: 0, rateLimited: 0, serverErrors: 0, networkErrors: 0, badResponses: 0 });
      await client.close();
    }
  });

  it('never puts the secret key in a configuration error', () => {
    expect(() => createDuoClient({ ...good, skey: 'sekrit', baseUrl: 'nope' })).toThrow(ConfigError);
    try {
      createDuoClient({ ...good, skey: 'sekrit', baseUrl: 'nope' });
    } catch (err) {
      expect(JSON.stringify(err) + String(err)).not.toContain('sekrit');
    }
  });
});
