import { describe, expect, expectTypeOf, it } from 'vitest';
import { eventTypeFor, toUdm } from '../../../src/udm/telephony.js';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import type { ToUdmResult, UdmEvent, UdmEventSnake } from '../../../src/udm/types.js';
import { EXAMPLE_ITEMS } from './examples.js';

const TS = '2023-03-21T22:34:49.466370+00:00';

function event(item: unknown, opts?: { logType?: string }): UdmEvent {
  const r = toUdm(item, opts);
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

describe('eventTypeFor', () => {
  it.each([
    [{ context: true, host: true, phone: true }, 'USER_UNCATEGORIZED'],
    // No user identifier: downgraded, the host keeps STATUS_UPDATE valid.
    [{ context: true, host: true, phone: false }, 'STATUS_UPDATE'],
    [{ context: false, host: true, phone: true }, 'STATUS_UPDATE'],
    [{ context: false, host: true, phone: false }, 'STATUS_UPDATE'],
    [{ context: true, host: false, phone: true }, 'GENERIC_EVENT'],
    [{ context: true, host: false, phone: false }, 'GENERIC_EVENT'],
    [{ context: false, host: false, phone: true }, 'GENERIC_EVENT'],
    [{ context: false, host: false, phone: false }, 'GENERIC_EVENT'],
  ] as const)('%j → %s', (present, type) => {
    expect(eventTypeFor(present)).toBe(type);
  });
});

describe('toUdm', () => {
  it('maps context + host + phone to USER_UNCATEGORIZED', () => {
    expect(event({ context: 'verify', host: 'api-x.duosecurity.com', phone: '+15555550100', ts: TS }).metadata.eventType).toBe('USER_UNCATEGORIZED');
  });

  it('downgrades context + host without phone to STATUS_UPDATE, which the validator accepts', () => {
    const e = event({ context: 'verify', host: 'api-x.duosecurity.com', ts: TS });
    expect(e.metadata.eventType).toBe('STATUS_UPDATE');
    expect(validateUdmEvent(e)).toEqual([]);
  });

  it.each(['192.0.2.1', '::1', '2001:db8::5', '::ffff:192.0.2.1'])('puts IP host %s into principal.ip', (host) => {
    const e = event({ host, ts: TS });
    expect(e.principal).toEqual({ ip: [host] });
    expect(e.metadata.eventType).toBe('STATUS_UPDATE');
    expect(validateUdmEvent(e)).toEqual([]);
  });

  it.each(['api-x.duosecurity.com', 'localhost', '192.0.2.1:443', '[::1]', '999.1.1.1'])('keeps non-IP host %s as principal.hostname', (host) => {
    expect(event({ host, ts: TS }).principal).toEqual({ hostname: host });
  });

  it('counts credits 0 as present and stringifies numbers', () => {
    const labels = (c: unknown): unknown => event({ credits: c, ts: TS }).securityResult[0]?.detectionFields?.find((l) => l.key === 'credits');
    expect(labels(0)).toEqual({ key: 'credits', value: '0' });
    expect(labels(2.5)).toEqual({ key: 'credits', value: '2.5' });
    expect(labels(Number.NaN)).toBeUndefined();
    expect(labels(null)).toBeUndefined();
    expect(labels(false)).toBeUndefined();
  });

  it('takes log_type from the item first, then the logType option', () => {
    expect(event({ ts: TS }).metadata.logType).toBeUndefined();
    expect(event({ ts: TS }, { logType: 'DUO_TELEPHONY' }).metadata.logType).toBe('DUO_TELEPHONY');
    expect(event({ ts: TS }, { logType: '  ' }).metadata.logType).toBeUndefined();
    expect(event({ ts: TS, log_type: 'FROM_ITEM' }, { logType: 'DUO_TELEPHONY' }).metadata.logType).toBe('FROM_ITEM');
  });

  it('ignores inherited properties: only the item own fields are read', () => {
    const item: unknown = Object.assign(Object.create({ context: 'inherited', host: 'inherited' }) as object, { ts: TS });
    expect(event(item).metadata.eventType).toBe('GENERIC_EVENT');
    expect(toUdm(Object.create({ ts: TS }) as object)).toEqual({ ok: false, reason: 'no ts field' });
  });

  it.each([
    [null, 'not a JSON object (got null)'],
    [[], 'not a JSON object (got an array)'],
    ['{"ts":"x"}', 'not a JSON object (got a string)'],
    [42, 'not a JSON object (got a number)'],
    [{}, 'no ts field'],
    [{ ts: null }, 'ts is null, not an ISO 8601 string'],
    [{ ts: 1666714065304 }, 'ts is a number, not an ISO 8601 string'],
    [{ ts: ['2022-10-25T16:07:45Z'] }, 'ts is an array, not an ISO 8601 string'],
    [{ ts: 'now' }, 'ts "now" is not an ISO 8601 timestamp'],
  ])('rejects %j: %s', (item, reason) => {
    expect(toUdm(item)).toEqual({ ok: false, reason });
  });

  it('returns snake_case names with case: snake, typed as such', () => {
    const r = toUdm(EXAMPLE_ITEMS[0], { case: 'snake' });
    expectTypeOf(r).toEqualTypeOf<ToUdmResult<UdmEventSnake>>();
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.event.metadata.event_type).toBe('USER_UNCATEGORIZED');
    expect(r.event.principal?.user?.phone_numbers).toEqual(['+12125556707']);
    expect(r.event.security_result[0]?.detection_fields?.map((l) => l.key)).toEqual(['credits', 'eventtype', 'mechanism']);
    expect(validateUdmEvent(r.event)).toEqual([]);
  });

  it('is typed camelCase by default', () => {
    expectTypeOf(toUdm({})).toEqualTypeOf<ToUdmResult<UdmEvent>>();
  });

  it('writes keys in the same order every time (stable NDJSON)', () => {
    const a = JSON.stringify(event({ ...EXAMPLE_ITEMS[1], log_type: 'X' }));
    const b = JSON.stringify(event({ log_type: 'X', ...EXAMPLE_ITEMS[1] }));
    expect(a).toBe(b);
  });
});
