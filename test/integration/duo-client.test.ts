/**
 * The Duo client over loopback against a scripted HTTP server: paging, retries and their schedule,
 * refusals, timeouts, pacing, abort, and that no secret ever reaches a log line or an error.
 */
import { createRequire } from 'node:module';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { checkDuo, formatCheckReport } from '../../src/duo/check.js';
import { createDuoClient, type DuoClient, type DuoClientOptions } from '../../src/duo/client.js';
import { rfc2822Date } from '../../src/duo/sign.js';
import type { PageRequest, TelephonyItem } from '../../src/duo/types.js';
import { AbortedError, DuoApiError } from '../../src/errors.js';
import { createLogger } from '../../src/log.js';
import { startScriptedServer, type ScriptedReply, type ScriptedServer } from '../support/scripted-server.js';
import { STREAMS } from '../../src/duo/streams.js';

const TELEPHONY_PATH = STREAMS.telephony.path;

const require = createRequire(import.meta.url);
type DuoSign = (ikey: string, skey: string, method: string, host: string, path: string, params: Record<string, string>, date: string, body?: string) => string;
/** Duo's own Node signer: an independent check of what went over the wire. */
const duoSig = require('@duosecurity/duo_api/lib/duo_sig.js') as { sign: DuoSign; signV5: DuoSign };

const IKEY = 'DIWJ8X6AEYOR5OMC6TQ1';
const SKEY = 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zT1bLc';
const API_HOST = 'api-123abcde.duosecurity.com';
const WINDOW: PageRequest = { mintimeMs: 1_700_000_000_000, maxtimeMs: 1_700_086_400_000, limit: 2 };

/** Everything written anywhere, checked for secrets by the last test. */
const logLines: string[] = [];
const errorTexts: string[] = [];
const servers: ScriptedServer[] = [];
const clients: DuoClient[] = [];
const logger = createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } as unknown as NodeJS.WritableStream });

function item(n: number): TelephonyItem {
  return {
    context: 'authentication',
    credits: 1,
    phone: `+1212555${String(1000 + n)}`,
    telephony_id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    ts: `2023-11-14T22:13:${String(20 + n).padStart(2, '0')}.123456+00:00`,
    txid: `11111111-0000-4000-8000-${String(n).padStart(12, '0')}`,
    type: 'sms',
  };
}

function ok(items: TelephonyItem[], nextOffset?: unknown): ScriptedReply {
  const metadata: Record<string, unknown> = { total_objects: { relation: 'eq', value: items.length } };
  if (nextOffset !== undefined) metadata['next_offset'] = nextOffset;
  return { body: { stat: 'OK', response: { items, metadata } } };
}

function duoFail(status: number, code: number, message: string, detail?: string): ScriptedReply {
  return { status, body: { stat: 'FAIL', code, message, ...(detail ? { message_detail: detail } : {}) } };
}

async function serve(script: ScriptedReply[]): Promise<ScriptedServer> {
  const server = await startScriptedServer(script);
  servers.push(server);
  return server;
}

interface Harness {
  client: DuoClient;
  sleeps: number[];
}

function clientFor(server: ScriptedServer, extra: Partial<DuoClientOptions> = {}): Harness {
  const sleeps: number[] = [];
  let clock = Date.UTC(2026, 0, 1, 12, 0, 0);
  const client = createDuoClient({
    ikey: IKEY,
    skey: SKEY,
    apiHost: API_HOST,
    baseUrl: server.url,
    requestsPerMinute: Number.POSITIVE_INFINITY,
    backoffBaseMs: 1,
    jitterMs: 0,
    timeoutMs: 2_000,
    logger,
    // A second per call, so every attempt's Date (1 s resolution) differs.
    now: () => (clock += 1_000),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...extra,
  });
  clients.push(client);
  return { client, sleeps };
}

async function failure(p: Promise<unknown>): Promise<DuoApiError> {
  try {
    await p;
  } catch (err) {
    errorTexts.push(errorText(err));
    if (err instanceof DuoApiError) return err;
    throw err;
  }
  throw new Error('expected a DuoApiError');
}

function errorText(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  while (e !== undefined && e !== null) {
    parts.push(String(e), JSON.stringify(e));
    if (e instanceof Error) {
      parts.push(e.message, e.stack ?? '');
      e = e.cause;
    } else break;
  }
  return parts.join('\n');
}

function query(url: string): URLSearchParams {
  return new URL(url, 'http://x').searchParams;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});


/** Wait until `check` holds; for what the server sees in its own time. */
async function until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('paging', () => {
  it('re-sends the window, limit and sort=ts:asc with every request, and next_offset only when given', async () => {
    const server = await serve([ok([item(1), item(2)], '1700000000100,c1'), ok([item(3)], '1700000000200,c2')]);
    const { client } = clientFor(server);
    const first = await client.getPage(STREAMS.telephony, WINDOW);
    const second = await client.getPage(STREAMS.telephony, { ...WINDOW, nextOffset: first.nextOffset });

    expect([first.items.length, second.items.length]).toEqual([2, 1]);
    expect([first.nextOffset, second.nextOffset]).toEqual(['1700000000100,c1', '1700000000200,c2']);
    expect(server.requests).toHaveLength(2);
    for (const req of server.requests) {
      expect(req.method).toBe('GET');
      expect(req.url.startsWith(`${TELEPHONY_PATH}?`)).toBe(true);
      const q = query(req.url);
      // The same window is re-sent with every cursor.
      expect([q.get('mintime'), q.get('maxtime'), q.get('limit'), q.get('sort')]).toEqual(['1700000000000', '1700086400000', '2', 'ts:asc']);
      expect(req.url).toContain('sort=ts%3Aasc');
    }
    expect(query(server.requests[0]!.url).has('next_offset')).toBe(false);
    expect(server.requests[1]!.url).toContain('next_offset=1700000000100%2Cc1');
    expect(first.serverDateMs).toEqual(expect.any(Number));
  });

  it.each([
    ['null', null],
    ['absent', undefined],
  ])('reads a next_offset that is %s as the end of the window', async (_name, last) => {
    const server = await serve([ok([item(3)], last), ok([])]);
    const { client } = clientFor(server);
    const page = await client.getPage(STREAMS.telephony, WINDOW);
    expect(page.items).toHaveLength(1);
    expect(page.nextOffset).toBeNull();
    const empty = await client.getPage(STREAMS.telephony, WINDOW);
    expect(empty).toMatchObject({ items: [], nextOffset: null });
  });

  it('joins an array cursor with "," and sends it back', async () => {
    const server = await serve([ok([item(1)], ['1700000000100', 'abc-def']), ok([])]);
    const { client } = clientFor(server);
    const first = await client.getPage(STREAMS.telephony, WINDOW);
    expect(first.nextOffset).toBe('1700000000100,abc-def');
    await client.getPage(STREAMS.telephony, { ...WINDOW, nextOffset: first.nextOffset });
    expect(query(server.requests[1]!.url).get('next_offset')).toBe('1700000000100,abc-def');
  });

  it('signs each request as Duo checks it (v5 and v2, SHA-512)', async () => {
    const server = await serve([ok([]), ok([])]);
    await clientFor(server).client.getPage(STREAMS.telephony, { ...WINDOW, nextOffset: '1700000000100,x y' });
    await clientFor(server, { signatureVersion: 2 }).client.getPage(STREAMS.telephony, WINDOW);
    const [v5, v2] = server.requests;
    const expectOracle = (req: typeof v5, sign: DuoSign): void => {
      const params = Object.fromEntries(query(req!.url));
      const date = String(req!.headers.date);
      expect(req!.headers.authorization).toBe(sign(IKEY, SKEY, 'GET', API_HOST, TELEPHONY_PATH, params, date, ''));
    };
    expectOracle(v5, duoSig.signV5);
    expectOracle(v2, duoSig.sign);
    expect(v5!.url).toContain('next_offset=1700000000100%2Cx%20y');
    expect(v5!.headers['user-agent']).toMatch(/^duo-secops\/\d+\.\d+\.\d+/);
  });
});

describe('retries', () => {
  it('backs off 1, 2, 4… on 429 and signs every attempt anew', async () => {
    const rateLimited = duoFail(429, 42901, 'Too Many Requests');
    const server = await serve([rateLimited, rateLimited, rateLimited, ok([item(1)])]);
    const { client, sleeps } = clientFor(server);
    const page = await client.getPage(STREAMS.telephony, WINDOW);
    expect(page.items).toHaveLength(1);
    expect(sleeps).toEqual([1, 2, 4]);
    const dates = server.requests.map((r) => r.headers.date);
    const auths = server.requests.map((r) => r.headers.authorization);
    expect(new Set(dates).size).toBe(4);
    expect(new Set(auths).size).toBe(4);
    for (const req of server.requests) {
      const params = Object.fromEntries(query(req.url));
      expect(req.headers.authorization).toBe(duoSig.signV5(IKEY, SKEY, 'GET', API_HOST, TELEPHONY_PATH, params, String(req.headers.date), ''));
    }
    expect(client.stats).toMatchObject({ requests: 4, retries: 3, rateLimited: 3 });
  });

  it('adds jitter and uses the default base', async () => {
    const server = await serve([duoFail(429, 42901, 'Too Many Requests'), ok([])]);
    const { client, sleeps } = clientFor(server, { backoffBaseMs: undefined, jitterMs: undefined, random: () => 0.5 });
    await client.getPage(STREAMS.telephony, WINDOW);
    expect(sleeps).toEqual([1500]);
  });

  it('gives up after maxRetries with DUO_RATE_LIMITED (exit 4)', async () => {
    const server = await serve(Array.from({ length: 4 }, () => duoFail(429, 42901, 'Too Many Requests')));
    const { client, sleeps } = clientFor(server, { maxRetries: 3 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_RATE_LIMITED');
    expect(err.exitCode).toBe(4);
    expect(err.httpStatus).toBe(429);
    expect(err.duoCode).toBe(42901);
    expect(err.message).toContain('after 4 attempts');
    expect(err.message).toContain('42901');
    expect(sleeps).toEqual([1, 2, 4]);
    expect(server.requests).toHaveLength(4);
  });

  it('retries 5xx, a reset connection and a cut body, then succeeds', async () => {
    const server = await serve([
      duoFail(500, 50001, 'Internal error'),
      { reset: true },
      { status: 503, body: '', headers: { 'content-type': 'text/plain' } },
      { ...ok([item(1)]), cutAfterBytes: 20 },
      ok([item(1), item(2)], '1700000000100,c1'),
    ]);
    const { client, sleeps } = clientFor(server);
    const page = await client.getPage(STREAMS.telephony, WINDOW);
    expect(page.items).toHaveLength(2);
    expect(page.nextOffset).toBe('1700000000100,c1');
    expect(sleeps).toEqual([1, 2, 4, 8]);
    expect(client.stats).toMatchObject({ requests: 5, retries: 4, serverErrors: 2, networkErrors: 2 });
  });

  it('retries an HTML 502 from a proxy, then says what came back', async () => {
    const html: ScriptedReply = {
      status: 502,
      headers: { 'content-type': 'text/html; charset=utf-8' },
      body: '<html>\n<head><title>502 Bad Gateway</title></head><body>nginx</body></html>',
    };
    const server = await serve([html, html, html]);
    const { client } = clientFor(server, { maxRetries: 2 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_UNAVAILABLE');
    expect(err.exitCode).toBe(4);
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('HTML body (content-type text/html)');
    expect(err.message).toContain('502 Bad Gateway');
    expect(server.requests).toHaveLength(3);
  });

  it('retries truncated JSON, then reports DUO_BAD_RESPONSE', async () => {
    const truncated: ScriptedReply = { headers: { 'content-type': 'application/json' }, body: '{"stat":"OK","response":{"items":[{"phone":"+1212' };
    const server = await serve([truncated, truncated]);
    const { client } = clientFor(server, { maxRetries: 1 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_BAD_RESPONSE');
    expect(err.exitCode).toBe(4);
    expect(err.message).toContain('truncated JSON');
    // A body that looks like Duo's is never quoted: it may carry phone numbers.
    expect(err.message).not.toContain('+1212');
    expect(client.stats.badResponses).toBe(2);
  });

  it('treats a 200 whose items are not objects as a bad response', async () => {
    const server = await serve([{ body: { stat: 'OK', response: { items: [1, 2] } } }]);
    const { client } = clientFor(server, { maxRetries: 0 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_BAD_RESPONSE');
    expect(err.message).toContain('"response.items[0]" is not an object');
  });

  it('says an answer over the size limit is too large, not that Duo is unreachable, and retries it as unusable', async () => {
    // 40 MB of a page that never ends: far more than any Duo page, past the client's 32 MiB limit.
    const huge: ScriptedReply = { headers: { 'content-type': 'application/json' }, body: `{"stat":"OK","response":{"items":[${'{"phone":"+12125556707"},'.repeat(1_600_000)}` };
    const server = await serve([huge, huge]);
    const { client, sleeps } = clientFor(server, { maxRetries: 1 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.message).toBe(
      "Duo's answer for /admin/v2/logs/telephony was unusable after 2 attempts, the last: HTTP 200 with a body over the client's 32 MiB size limit " +
        "(a full page of 1000 items is under 1 MiB). A proxy in between or a change on Duo's side may be the cause: try again later",
    );
    expect(err.code).toBe('DUO_BAD_RESPONSE');
    expect(err.exitCode).toBe(4);
    expect(err.httpStatus).toBe(200);
    expect(err.message).not.toContain('unreachable');
    expect(sleeps).toEqual([1]);
    expect(client.stats).toMatchObject({ requests: 2, retries: 1, badResponses: 2, networkErrors: 0 });
  });

  it('retries a 5xxxx stat FAIL inside a 200 as the 5xx it stands for', async () => {
    const failIn200: ScriptedReply = { status: 200, body: { stat: 'FAIL', code: 50001, message: 'Internal error' } };
    const server = await serve([failIn200, failIn200, ok([item(1)])]);
    const { client, sleeps } = clientFor(server);
    expect((await client.getPage(STREAMS.telephony, WINDOW)).items).toHaveLength(1);
    expect(sleeps).toEqual([1, 2]);
    expect(client.stats).toMatchObject({ requests: 3, retries: 2, serverErrors: 2, badResponses: 0 });
  });

  it('gives up on a 5xxxx stat FAIL inside a 200 with DUO_UNAVAILABLE, saying it came in a 200', async () => {
    const failIn200: ScriptedReply = { status: 200, body: { stat: 'FAIL', code: 50001, message: 'Internal error' } };
    const server = await serve([failIn200, failIn200]);
    const { client } = clientFor(server, { maxRetries: 1 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.message).toBe(
      'Duo failed /admin/v2/logs/telephony 2 attempts in a row, the last with HTTP 200 with stat FAIL: 50001 Internal error. ' +
        'Duo or a proxy in front of it is failing: try again later (status.duo.com lists Duo incidents)',
    );
    expect(err.code).toBe('DUO_UNAVAILABLE');
    expect(err.exitCode).toBe(4);
    expect(err).toMatchObject({ httpStatus: 200, duoCode: 50001, retryable: true });
  });

  it('retries a 42901 stat FAIL inside a 200 as Duo’s rate limit', async () => {
    const failIn200: ScriptedReply = { status: 200, body: { stat: 'FAIL', code: 42901, message: 'Too Many Requests' } };
    const server = await serve([failIn200, failIn200]);
    const { client, sleeps } = clientFor(server, { maxRetries: 1 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.message).toBe(
      'Duo kept answering HTTP 200 with stat FAIL (too many requests) for /admin/v2/logs/telephony after 2 attempts: 42901 Too Many Requests. ' +
        'Other clients of the same integration share its rate limit: lower REQUESTS_PER_MINUTE or poll less often',
    );
    expect(err.code).toBe('DUO_RATE_LIMITED');
    expect(err.exitCode).toBe(4);
    expect(sleeps).toEqual([1]);
  });

  it('retries a stat FAIL inside a 200 that carries no Duo code as an unusable answer', async () => {
    const server = await serve([{ body: { stat: 'FAIL', message: 'odd' } }]);
    const { client } = clientFor(server, { maxRetries: 0 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_BAD_RESPONSE');
    expect(err.message).toContain('the last: HTTP 200 with stat "FAIL" (Duo error odd)');
  });

  it('times out a slow answer and retries it', async () => {
    const server = await serve([{ ...ok([item(1)]), delayMs: 60_000 }, ok([item(2)])]);
    const { client } = clientFor(server, { timeoutMs: 150, maxRetries: 1 });
    const page = await client.getPage(STREAMS.telephony, WINDOW);
    expect(page.items[0]!.telephony_id).toBe(item(2).telephony_id);
    expect(client.stats.networkErrors).toBe(1);
  });

  it('gives up on timeouts with DUO_UNAVAILABLE', async () => {
    const server = await serve([{ ...ok([]), delayMs: 60_000 }]);
    const { client } = clientFor(server, { timeoutMs: 100, maxRetries: 0 });
    const started = performance.now();
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    // The answer would have taken a minute: the timeout ended it.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(err.code).toBe('DUO_UNAVAILABLE');
    expect(err.message).toContain('within 100 ms (timeout)');
    expect(err.message).toContain('Duo unreachable');
  });

  it('reports a closed port as unreachable', async () => {
    const server = await serve([]);
    const url = server.url;
    await server.close();
    const { client } = clientFor({ ...server, url }, { maxRetries: 1 });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe('DUO_UNAVAILABLE');
    expect(err.httpStatus).toBe(0);
    expect(err.message).toContain('ECONNREFUSED');
  });
});

describe('refusals are not retried', () => {
  const cases: Array<{ name: string; reply: ScriptedReply; code: string; exitCode: number; contains: string[] }> = [
    {
      name: '400 with message_detail',
      reply: duoFail(400, 40002, 'Invalid request parameters', 'mintime must be within the past 180 days'),
      code: 'DUO_BAD_REQUEST',
      exitCode: 2,
      contains: ['40002', 'Invalid request parameters', 'mintime must be within the past 180 days'],
    },
    {
      name: '401 40101',
      reply: duoFail(401, 40101, 'Missing request credentials'),
      code: 'DUO_UNAUTHORIZED',
      exitCode: 3,
      contains: ['40101', 'Missing request credentials', 'Check DUO_IKEY and DUO_API_HOST'],
    },
    {
      name: '401 40102',
      reply: duoFail(401, 40102, 'Invalid integration key in request credentials'),
      code: 'DUO_UNAUTHORIZED',
      exitCode: 3,
      contains: ['40102', 'Check DUO_IKEY and DUO_API_HOST'],
    },
    {
      name: '401 40103',
      reply: duoFail(401, 40103, 'Invalid signature in request credentials'),
      code: 'DUO_UNAUTHORIZED',
      exitCode: 3,
      contains: ['40103', 'Invalid signature in request credentials', 'Check DUO_SKEY (the secret key of the same Admin API application', 'and DUO_API_HOST'],
    },
    {
      name: '401 40105',
      reply: duoFail(401, 40105, 'Bad request timestamp'),
      code: 'DUO_CLOCK_SKEW',
      exitCode: 3,
      contains: ['40105', 'Bad request timestamp', "clock is off", 'sync it with NTP'],
    },
    {
      name: '403 40301',
      reply: duoFail(403, 40301, 'Access forbidden'),
      code: 'DUO_FORBIDDEN',
      exitCode: 3,
      contains: ['40301', 'Access forbidden', '"Read Telephony"', 'Networks for API Access'],
    },
    {
      name: '200 carrying stat FAIL 40002 (refused as the 400 it stands for)',
      reply: duoFail(200, 40002, 'Invalid request parameters', 'mintime must be within the past 180 days'),
      code: 'DUO_BAD_REQUEST',
      exitCode: 2,
      contains: [
        'Duo answered HTTP 200 for /admin/v2/logs/telephony with stat FAIL: 40002 Invalid request parameters (mintime must be within the past 180 days). ' +
          'Duo refused the request window or parameters: the detail names which',
      ],
    },
    {
      name: '200 carrying stat FAIL 40103',
      reply: duoFail(200, 40103, 'Invalid signature in request credentials'),
      code: 'DUO_UNAUTHORIZED',
      exitCode: 3,
      contains: ['Duo answered HTTP 200 for /admin/v2/logs/telephony with stat FAIL: 40103 Invalid signature in request credentials. Check DUO_SKEY'],
    },
    {
      name: '404 from something that is not Duo',
      reply: { status: 404, headers: { 'content-type': 'text/html' }, body: '<h1>Not Found</h1>' },
      code: 'DUO_BAD_REQUEST',
      exitCode: 2,
      contains: ['HTTP 404', 'HTML body', 'Not Found', 'DUO_API_URL'],
    },
  ];

  it.each(cases)('$name', async ({ reply, code, exitCode, contains }) => {
    const server = await serve([reply, ok([])]);
    const { client, sleeps } = clientFor(server);
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.code).toBe(code);
    expect(err.exitCode).toBe(exitCode);
    expect(err.retryable).toBe(false);
    for (const text of contains) expect(err.message).toContain(text);
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('measures the clock offset on 40105 from Duo\'s Date header', async () => {
    const localNow = Date.UTC(2026, 0, 1, 12, 0, 0);
    const server = await serve([{ ...duoFail(401, 40105, 'Bad request timestamp'), headers: { date: new Date(localNow - 600_000).toUTCString() } }]);
    const { client } = clientFor(server, { now: () => localNow });
    const err = await failure(client.getPage(STREAMS.telephony, WINDOW));
    expect(err.serverDateMs).toBe(localNow - 600_000);
    expect(err.duoCode).toBe(40105);
    expect(err.message).toContain('off by +600.0 s');
  });
});

describe('pacing and abort', () => {
  /** `now()` is read once per attempt, right when it starts: the moment pacing controls. */
  function startTimes(): { now: () => number; starts: number[] } {
    const starts: number[] = [];
    return {
      starts,
      now: () => {
        starts.push(performance.now());
        return Date.now();
      },
    };
  }

  it('spaces request starts by 60000/rpm ms', async () => {
    const server = await serve([ok([]), ok([]), ok([])]);
    const { now, starts } = startTimes();
    const { client } = clientFor(server, { requestsPerMinute: 600, sleep: undefined, now });
    for (let i = 0; i < 3; i += 1) await client.getPage(STREAMS.telephony, WINDOW);
    expect(starts).toHaveLength(3);
    // Timers may fire up to 1 ms early relative to performance.now().
    expect(starts[1]! - starts[0]!).toBeGreaterThanOrEqual(99);
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(99);
    // The server sees them spaced too; loosely, since the first also opens the connection and a busy
    // machine delays arrivals.
    expect(server.requests[2]!.receivedAt - server.requests[0]!.receivedAt).toBeGreaterThanOrEqual(100);
  });

  it('paces concurrent callers and retries too', async () => {
    const server = await serve([ok([]), duoFail(500, 50001, 'Internal error'), ok([])]);
    const { now, starts } = startTimes();
    const { client } = clientFor(server, { requestsPerMinute: 600, sleep: undefined, now });
    await Promise.all([client.getPage(STREAMS.telephony, WINDOW), client.getPage(STREAMS.telephony, WINDOW)]);
    expect(starts).toHaveLength(3);
    const sorted = [...starts].sort((a, b) => a - b);
    expect(sorted[1]! - sorted[0]!).toBeGreaterThanOrEqual(99);
    expect(sorted[2]! - sorted[1]!).toBeGreaterThanOrEqual(99);
  });

  it('paced: a first 429 halves the pace and waits one new interval; the backoff comes on top only while 429s repeat', async () => {
    const rateLimited = duoFail(429, 42901, 'Too Many Requests');
    const server = await serve([ok([]), rateLimited, rateLimited, ok([])]);
    const { now, starts } = startTimes();
    const backoffs: number[] = [];
    const { client } = clientFor(server, {
      requestsPerMinute: 600,
      backoffBaseMs: 300,
      now,
      sleep: async (ms, signal) => {
        if (ms >= 300) backoffs.push(ms);
        await delay(ms, undefined, { signal });
      },
    });
    await client.getPage(STREAMS.telephony, WINDOW);
    await client.getPage(STREAMS.telephony, WINDOW);
    expect(starts).toHaveLength(4);
    // The first 429: no backoff, but the pace fell from 600 to 300 per minute (200 ms), counted from the answer.
    expect(starts[2]! - starts[1]!).toBeGreaterThanOrEqual(199);
    // The second in a row: the backoff (300 ms) on top of the pace.
    expect(backoffs).toEqual([300]);
    expect(starts[3]! - starts[2]!).toBeGreaterThanOrEqual(299);
    expect(client.rateOf(STREAMS.telephony)?.endpoint).toMatchObject({ rpm: 150, hi: 300 });
  });

  it('aborts during a backoff wait', async () => {
    const server = await serve([duoFail(429, 42901, 'Too Many Requests'), ok([])]);
    const { client } = clientFor(server, { backoffBaseMs: 10_000, sleep: undefined });
    const controller = new AbortController();
    const started = performance.now();
    const pending = client.getPage(STREAMS.telephony, WINDOW, controller.signal);
    // The 429 has been answered: the client is in its 10 s backoff.
    await until(() => server.requests.length === 1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    // Well before the 10 s wait would have ended.
    expect(performance.now() - started).toBeLessThan(8_000);
    expect(server.requests).toHaveLength(1);
  });

  it('aborts a request in flight and never starts one when already aborted', async () => {
    const server = await serve([{ ...ok([]), delayMs: 60_000 }]);
    const { client } = clientFor(server);
    const controller = new AbortController();
    const pending = client.getPage(STREAMS.telephony, WINDOW, controller.signal);
    // Abort once the request has reached the server, whatever the machine's speed.
    await until(() => server.requests.length === 1);
    controller.abort();
    await expect(pending).rejects.toBeInstanceOf(AbortedError);
    await expect(client.getPage(STREAMS.telephony, WINDOW, AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
    expect(server.requests).toHaveLength(1);
  });
});

describe('check', () => {
  it('checkDuo reads the newest event and the clock offset over the wire', async () => {
    const localNow = Date.UTC(2026, 0, 1, 12, 0, 0);
    const server = await serve([{ ...ok([item(7)], 'x'), headers: { date: new Date(localNow).toUTCString() } }, duoFail(401, 40103, 'Invalid signature in request credentials')]);
    const { client } = clientFor(server, { now: () => localNow });
    const good = await checkDuo(client, { apiHost: API_HOST, now: () => localNow });
    expect(good).toMatchObject({ ok: true, newestEventTs: item(7).ts, clockOffsetMs: -500 });
    const q = query(server.requests[0]!.url);
    expect([q.get('limit'), q.get('sort'), q.get('maxtime')]).toEqual(['1', 'ts:desc', String(localNow)]);
    const bad = await checkDuo(client, { apiHost: API_HOST, now: () => localNow });
    expect(bad).toMatchObject({ ok: false, secretKey: 'failed' });
    expect(formatCheckReport(bad)).toContain('into DUO_SKEY, and check that DUO_API_HOST');
  });
});

describe('secrets', () => {
  it('never writes the secret key or any Authorization value to logs or errors', async () => {
    // A few more scenarios of its own, so this holds when run alone too, including proxies that echo
    // the request's Authorization header and the secret key into their error pages.
    const server = await serve([duoFail(401, 40103, 'Invalid signature in request credentials'), { reset: true }, { reset: true }]);
    const { client } = clientFor(server, { maxRetries: 1 });
    await failure(client.getPage(STREAMS.telephony, WINDOW));
    await failure(client.getPage(STREAMS.telephony, WINDOW));

    const fixedNow = Date.UTC(2026, 0, 2);
    const params = { mintime: String(WINDOW.mintimeMs), maxtime: String(WINDOW.maxtimeMs), limit: String(WINDOW.limit), sort: 'ts:asc' };
    const expectedAuth = duoSig.signV5(IKEY, SKEY, 'GET', API_HOST, TELEPHONY_PATH, params, rfc2822Date(fixedNow), '');
    const echo = await serve([
      { status: 502, headers: { 'content-type': 'text/html' }, body: `<p>${expectedAuth}</p>` },
      { status: 400, headers: { 'content-type': 'text/plain' }, body: `Authorization: ${expectedAuth} ${SKEY}` },
      { status: 403, headers: { 'content-type': 'text/plain' }, body: `${SKEY} ${expectedAuth.slice(6)}` },
    ]);
    const leaky = clientFor(echo, { now: () => fixedNow, maxRetries: 1 }).client;
    await failure(leaky.getPage(STREAMS.telephony, WINDOW));
    await failure(leaky.getPage(STREAMS.telephony, WINDOW));
    expect(echo.requests.map((r) => r.headers.authorization)).toEqual([expectedAuth, expectedAuth, expectedAuth]);

    const sent = servers.flatMap((s) => s.requests.map((r) => String(r.headers.authorization)));
    expect(sent.length).toBeGreaterThan(10);

    const corpus = [...logLines, ...errorTexts].join('\n');
    expect(logLines.some((l) => l.includes('"event":"duo.request"'))).toBe(true);
    expect(logLines.some((l) => l.includes('"event":"duo.retry"'))).toBe(true);
    expect(corpus).not.toContain(SKEY);
    for (const auth of sent) {
      const b64 = auth.replace(/^Basic /, '');
      const signature = Buffer.from(b64, 'base64').toString('utf8').split(':')[1]!;
      expect(corpus).not.toContain(b64);
      expect(corpus).not.toContain(signature);
    }
    expect(logLines.join('\n').toLowerCase()).not.toContain('authorization"');
  });
});
