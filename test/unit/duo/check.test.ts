import { describe, expect, it } from 'vitest';
import { checkDuo, formatCheckReport, type CheckReport } from '../../../src/duo/check.js';
import type { DuoClient } from '../../../src/duo/client.js';
import { HINT_CLOCK, HINT_PERMISSION, HINT_SKEY, refusalFor } from '../../../src/duo/errors-map.js';
import type { PageRequest, TelephonyPage } from '../../../src/duo/types.js';
import { AbortedError, DuoApiError } from '../../../src/errors.js';
import { STREAMS } from '../../../src/duo/streams.js';

const API_HOST = 'api-123abcde.duosecurity.com';
const NOW = Date.UTC(2026, 0, 15, 12, 0, 0);
const DAY = 86_400_000;

function fakeClient(answer: (req: PageRequest) => TelephonyPage | Error): DuoClient & { seen: PageRequest[] } {
  const seen: PageRequest[] = [];
  return {
    seen,
    getPage: async (_stream, req) => {
      seen.push(req);
      const a = answer(req);
      if (a instanceof Error) throw a;
      return a;
    },
    stats: { requests: 0, retries: 0, rateLimited: 0, serverErrors: 0, networkErrors: 0, badResponses: 0 },
    statsOf: () => ({ requests: 0, retries: 0, rateLimited: 0, serverErrors: 0, networkErrors: 0, badResponses: 0 }),
    rateOf: () => undefined,
    seedRate: () => undefined,
    close: async () => undefined,
  };
}

function refusal(status: number, duoCode: number, duoMessage: string, serverDateMs: number | undefined = NOW): DuoApiError {
  const r = refusalFor(status, duoCode);
  return new DuoApiError(r.code, { httpStatus: status, duoCode, duoMessage, path: '/admin/v2/logs/telephony', serverDateMs }, { ...(r.hint ? { hint: r.hint } : {}) });
}

async function run(answer: (req: PageRequest) => TelephonyPage | Error): Promise<{ report: CheckReport; text: string; seen: PageRequest[] }> {
  const client = fakeClient(answer);
  const report = await checkDuo(client, { apiHost: API_HOST, now: () => NOW });
  return { report, text: formatCheckReport(report), seen: client.seen };
}

describe('checkDuo', () => {
  it('shows no newest event for a first stream whose endpoint does not sort newest first', async () => {
    const client = fakeClient(() => ({ items: [{ sekey: 's', surfaced_timestamp: NOW - DAY }], nextOffset: null, serverDateMs: NOW }));
    const report = await checkDuo(client, { apiHost: API_HOST, now: () => NOW, streams: [STREAMS.trust_monitor, STREAMS.telephony] });
    expect(report).toMatchObject({ ok: true, stream: 'trust_monitor', otherStreams: [{ stream: 'telephony', permission: 'ok' }] });
    expect(report.newestEventTs).toBeUndefined();
    const text = formatCheckReport(report);
    expect(text).toMatch(/Trust monitor permission:\s+ok/);
    expect(text).not.toMatch(/Newest/);
  });

  it('sends one minimal request over the last 179 days, newest first', async () => {
    const { seen } = await run(() => ({ items: [], nextOffset: null, serverDateMs: NOW }));
    expect(seen).toEqual([{ mintimeMs: NOW - 179 * DAY, maxtimeMs: NOW, limit: 1, sort: 'ts:desc' }]);
  });

  it('all good', async () => {
    const ts = '2026-01-15T11:58:02.123456+00:00';
    // Duo's Date is whole seconds: 400 ms behind this machine once its half-second lag is allowed for.
    const { report, text } = await run(() => ({ items: [{ ts, telephony_id: 'x' }], nextOffset: 'a,b', serverDateMs: NOW - 900 }));
    expect(report).toMatchObject({
      ok: true,
      reachable: 'ok',
      integrationKey: 'ok',
      secretKey: 'ok',
      permission: 'ok',
      clock: 'ok',
      clockOffsetMs: 400,
      newestEventTs: ts,
    });
    expect(text).toContain(API_HOST);
    expect(text).toMatch(/Integration key:\s+ok/);
    expect(text).toMatch(/Secret key and host:\s+ok/);
    expect(text).toMatch(/Telephony permission:\s+ok/);
    expect(text).toContain('+0.4 s');
    expect(text).toContain(ts);
    expect(text).toContain('All checks passed.');
    expect(text).not.toContain('Fix:');
  });

  it('no events in the window', async () => {
    const { report, text } = await run(() => ({ items: [], nextOffset: null, serverDateMs: NOW - 500 }));
    expect(report.newestEventTs).toBeNull();
    expect(text).toContain('none in the last 179 days');
  });

  it('warns when the clock is more than 60 s off but Duo still answers', async () => {
    const { report, text } = await run(() => ({ items: [], nextOffset: null, serverDateMs: NOW - 90_500 }));
    expect(report.ok).toBe(true);
    expect(report.clock).toBe('warn');
    expect(text).toContain('+90.0 s');
    expect(text).toContain('warning');
    expect(text).toContain('NTP');
  });

  it('wrong secret key (40103)', async () => {
    const { report, text } = await run(() => refusal(401, 40103, 'Invalid signature in request credentials'));
    expect(report).toMatchObject({ ok: false, reachable: 'ok', integrationKey: 'ok', secretKey: 'failed', permission: 'unknown' });
    expect(text).toMatch(/Secret key and host:\s+rejected \(Duo 40103, HTTP 401\)/);
    expect(text).toContain('Secret key" of the same Admin API application into DUO_SKEY');
    expect(text).toContain('DUO_API_HOST is exactly that application');
    expect(text).toMatch(/Telephony permission:\s+not checked/);
    expect(text).toContain('Check failed');
  });

  it('wrong integration key (40102)', async () => {
    const { report, text } = await run(() => refusal(401, 40102, 'Invalid integration key in request credentials'));
    expect(report).toMatchObject({ ok: false, integrationKey: 'failed', secretKey: 'unknown' });
    expect(text).toMatch(/Integration key:\s+rejected \(Duo 40102, HTTP 401\)/);
    expect(text).toContain('check DUO_IKEY');
    expect(text).toContain('DUO_API_HOST');
    expect(text).toMatch(/Secret key and host:\s+not checked/);
  });

  it('missing permission (40301)', async () => {
    const { report, text } = await run(() => refusal(403, 40301, 'Access forbidden'));
    expect(report).toMatchObject({ ok: false, integrationKey: 'ok', secretKey: 'ok', permission: 'failed' });
    expect(text).toMatch(/Telephony permission:\s+missing \(Duo 40301, HTTP 403\)/);
    expect(text).toContain('"Read Telephony"');
    expect(text).toContain('Networks for API Access');
    expect(text).toContain('egress IP');
  });

  it('skewed clock (40105)', async () => {
    const { report, text } = await run(() => refusal(401, 40105, 'Bad request timestamp', NOW - 312_500));
    expect(report).toMatchObject({ ok: false, clock: 'failed', clockOffsetMs: 312_000 });
    expect(text).toContain("the machine's clock is off by +312.0 s");
    expect(text).toContain('sync it (NTP)');
  });

  it('skewed clock (40105) without a Date header', async () => {
    const { text } = await run(() => refusal(401, 40105, 'Bad request timestamp', undefined));
    expect(text).toContain("the machine's clock is off");
    expect(text).toContain('sync it (NTP)');
  });

  it('Duo unreachable after the client retries', async () => {
    const err = new DuoApiError('DUO_UNAVAILABLE', { httpStatus: 0, path: '/admin/v2/logs/telephony' }, {
      retryable: true,
      summary: 'Duo unreachable: no answer from https://api-123abcde.duosecurity.com after 7 attempts, the last: connect ETIMEDOUT',
    });
    const { report, text } = await run(() => err);
    expect(report).toMatchObject({ ok: false, reachable: 'failed', integrationKey: 'unknown', clock: 'unknown' });
    expect(text).toContain('Duo unreachable');
    expect(text).toContain('ETIMEDOUT');
    expect(text).toMatch(/Integration key:\s+not checked/);
  });

  it('other answers (429 after retries) are shown as Duo said them', async () => {
    const err = new DuoApiError('DUO_RATE_LIMITED', { httpStatus: 429, duoCode: 42901, duoMessage: 'Too Many Requests', path: '/p' }, { retryable: true });
    const { report, text } = await run(() => err);
    expect(report).toMatchObject({ ok: false, reachable: 'ok' });
    expect(text).toContain('Duo answered:');
    expect(text).toContain('42901 Too Many Requests');
  });

  it('lets an abort through', async () => {
    const client = fakeClient(() => new AbortedError());
    await expect(checkDuo(client, { apiHost: API_HOST })).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('refusal hints', () => {
  it('map Duo codes to the fix', () => {
    expect(refusalFor(401, 40103).hint).toBe(HINT_SKEY);
    expect(refusalFor(401, 40105)).toMatchObject({ code: 'DUO_CLOCK_SKEW', hint: HINT_CLOCK });
    expect(refusalFor(403, 40301).hint).toBe(HINT_PERMISSION);
    expect(refusalFor(403, undefined).hint).toBe(HINT_PERMISSION);
    // A code that disagrees with the status is not trusted.
    expect(refusalFor(400, 40105).code).toBe('DUO_BAD_REQUEST');
    expect(refusalFor(418, undefined)).toMatchObject({ code: 'DUO_BAD_REQUEST' });
    expect(refusalFor(302, undefined).hint).toContain('DUO_API_URL');
  });
});

describe('an answer that is not a page of logs', () => {
  it('is shown as what Duo (or a proxy) answered, not as Duo unreachable', async () => {
    const err = new DuoApiError('DUO_BAD_RESPONSE', { httpStatus: 200, path: '/admin/v2/logs/telephony' }, {
      retryable: true,
      summary: "Duo's answer for /admin/v2/logs/telephony was unusable after 2 attempts, the last: HTTP 200 with a body over the client's 32 MiB size limit",
    });
    const client = fakeClient(() => err);
    const report = await checkDuo(client, { apiHost: API_HOST, now: () => NOW });
    const text = formatCheckReport(report);
    expect(report).toMatchObject({ ok: false, reachable: 'ok' });
    expect(text).not.toContain('Duo unreachable');
    expect(text).toContain('Duo answered:');
    expect(text).toContain('32 MiB size limit');
  });
});
