import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { buildPageObject, linesOf, pageObjectFromLines } from '../../../src/collect/page-object.js';
import type { TelephonyItem } from '../../../src/duo/types.js';

const item = (over: Record<string, unknown> = {}): TelephonyItem => ({ context: 'authentication', credits: 1, phone: '+15555550100', telephony_id: 'id-1', ts: '2026-11-22T10:00:00.123456+00:00', type: 'sms', ...over }) as TelephonyItem;
const spread = (it: object, host: string): string => JSON.stringify({ ...it, eventtype: 'telephony', host });

describe('buildPageObject', () => {
  it('writes each item as the spread { ...item, eventtype, host } would serialise, byte for byte', () => {
    const items = [item(), item({ telephony_id: 'id-2', note: 'quote " and \\ and \u2028' }), {} as TelephonyItem, item({ host: 'duo-sent-host', extra: [1] }), item({ eventtype: 'other' })];
    const host = 'api-1234.duosecurity.com';
    const obj = buildPageObject('k', items, { host });
    expect(obj.body.toString('utf8')).toBe(items.map((i) => `${spread(i, host)}\n`).join(''));
    expect(obj.sha256).toBe(createHash('sha256').update(obj.body).digest('hex'));
    expect(obj.itemCount).toBe(5);
  });

  it("adds a child account's id and name after eventtype and host, or alone without ENRICH", () => {
    const items = [item(), {} as TelephonyItem, item({ account_id: 'sent-by-duo' })];
    const host = 'api-c1.duosecurity.com';
    const account = { id: 'DA1', name: 'Child "1"' };
    const added = { eventtype: 'telephony', host, account_id: 'DA1', account_name: 'Child "1"' };
    expect(buildPageObject('k', items, { host, account }).body.toString('utf8')).toBe(items.map((i) => `${JSON.stringify({ ...i, ...added })}\n`).join(''));
    const alone = { account_id: 'DA1', account_name: 'Child "1"' };
    expect(buildPageObject('k', items, { account }).body.toString('utf8')).toBe(items.map((i) => `${JSON.stringify({ ...i, ...alone })}\n`).join(''));
  });

  it('writes items unchanged without enrichment', () => {
    const items = [item(), item({ telephony_id: 'id-2' })];
    expect(buildPageObject('k', items, null).body.toString('utf8')).toBe(items.map((i) => `${JSON.stringify(i)}\n`).join(''));
  });
});

describe('pageObjectFromLines', () => {
  it('makes of some lines of a page object exactly what buildPageObject makes of their items', () => {
    const items = [item(), item({ telephony_id: 'id-2', note: 'é \u2028' }), item({ telephony_id: 'id-3', ts: '2026-11-22T10:00:01+00:00' })];
    const enrich = { host: 'api-1.duosecurity.com', eventtype: 'telephony' };
    const page = buildPageObject('p', items, enrich);
    const lines = linesOf(page);
    expect(lines).toHaveLength(3);
    expect(pageObjectFromLines('s', [lines[1]!, lines[2]!])).toEqual(buildPageObject('s', [items[1]!, items[2]!], enrich));
    expect(pageObjectFromLines('s', [lines[0]!]).firstTs).toBe('2026-11-22T10:00:00.123456+00:00');
  });
});
