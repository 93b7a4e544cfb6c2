import { describe, expect, it } from 'vitest';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import { toSnakeCase } from '../../../src/udm/case.js';
import type { UdmEvent } from '../../../src/udm/types.js';

const BASE: UdmEvent = {
  metadata: { eventTimestamp: '2022-10-25T16:07:45.304526Z', eventType: 'GENERIC_EVENT', vendorName: 'Duo', productName: 'Telephony' },
  securityResult: [{ action: ['ALLOW'], severity: 'INFORMATIONAL', summary: 'sms', detectionFields: [{ key: 'credits', value: '1' }] }],
};
const HOST = { hostname: 'api-x.duosecurity.com' };
const USER = { user: { userid: '+12125556707', phoneNumbers: ['+12125556707'] } };

function withEvent(type: string, principal?: unknown): unknown {
  return { ...BASE, metadata: { ...BASE.metadata, eventType: type }, ...(principal !== undefined && { principal }) };
}

describe('validateUdmEvent', () => {
  it('accepts a GENERIC_EVENT with only a timestamp and a type', () => {
    expect(validateUdmEvent(BASE)).toEqual([]);
  });

  it('USER_UNCATEGORIZED needs a user and a machine identifier', () => {
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED', { ...HOST, ...USER }))).toEqual([]);
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED', { ip: ['192.0.2.1'], ...USER }))).toEqual([]);
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED', HOST))).toEqual([expect.stringContaining('needs a principal user identifier')]);
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED', USER))).toEqual([expect.stringContaining('needs a principal machine identifier')]);
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED'))).toHaveLength(2);
    expect(validateUdmEvent(withEvent('USER_UNCATEGORIZED', { hostname: ' ', user: { userid: '' } }))).toHaveLength(2);
  });

  it('STATUS_UPDATE needs a machine identifier', () => {
    expect(validateUdmEvent(withEvent('STATUS_UPDATE', HOST))).toEqual([]);
    expect(validateUdmEvent(withEvent('STATUS_UPDATE', { ip: ['2001:db8::1'] }))).toEqual([]);
    expect(validateUdmEvent(withEvent('STATUS_UPDATE', USER))).toEqual([expect.stringContaining('STATUS_UPDATE needs a principal machine identifier')]);
    expect(validateUdmEvent(withEvent('STATUS_UPDATE', { ip: [] }))).toHaveLength(1);
  });

  it('every event needs a timestamp and a type', () => {
    const { eventTimestamp: _t, ...noTs } = BASE.metadata;
    expect(validateUdmEvent({ ...BASE, metadata: noTs })).toEqual(['metadata.eventTimestamp is missing']);
    const { eventType: _e, ...noType } = BASE.metadata;
    expect(validateUdmEvent({ ...BASE, metadata: noType })).toEqual(['metadata.eventType is missing']);
    expect(validateUdmEvent(withEvent('EVENTTYPE_UNSPECIFIED'))).toHaveLength(1);
    expect(validateUdmEvent({})).toEqual(['metadata is missing']);
    expect(validateUdmEvent(null)).toEqual(['event must be a JSON object']);
    expect(validateUdmEvent([BASE])).toEqual(['event must be a JSON object']);
  });

  it.each(['2022-10-25T16:07:45.304526+00:00', '2022-10-25T16:07:45', '2022-02-30T16:07:45Z', '2022-10-25T16:07:45.1234567890Z', 'x'])(
    'rejects eventTimestamp %s (not UTC Z or not a date)',
    (ts) => {
      expect(validateUdmEvent({ ...BASE, metadata: { ...BASE.metadata, eventTimestamp: ts } })).toEqual([
        expect.stringContaining('is not an RFC 3339 UTC timestamp'),
      ]);
    },
  );

  it('checks the shape of what the mapping writes', () => {
    const bad = {
      metadata: { ...BASE.metadata, productLogId: 7 },
      principal: { hostname: 5, ip: ['not-an-ip'], user: { userid: 1, phoneNumbers: '+1555' } },
      securityResult: [{ action: ['PERMIT'], severity: 'LOUD', summary: 3, detectionFields: [{ key: '', value: 'x' }, { key: 'n', value: 1 }] }],
    };
    expect(validateUdmEvent(bad)).toEqual([
      'metadata.productLogId must be a string',
      'principal.hostname must be a string',
      'principal.ip "not-an-ip" is not an IP address',
      'principal.user.userid must be a string',
      'principal.user.phoneNumbers must be an array of strings',
      'securityResult[0].action "PERMIT" is not a UDM action',
      'securityResult[0].severity "LOUD" is not a UDM severity',
      'securityResult[0].summary must be a string',
      'securityResult[0].detectionFields[0] must be {key, value} with a non-empty string key and a string value',
      'securityResult[0].detectionFields[1] must be {key, value} with a non-empty string key and a string value',
    ]);
    expect(validateUdmEvent({ ...BASE, securityResult: {} })).toEqual(['securityResult must be an array']);
    expect(validateUdmEvent({ ...BASE, securityResult: [1] })).toEqual(['securityResult[0] must be an object']);
    expect(validateUdmEvent({ ...BASE, principal: 'host' })).toEqual(['principal must be an object']);
  });

  it('applies the same rules to snake_case events', () => {
    expect(validateUdmEvent(toSnakeCase(withEvent('USER_UNCATEGORIZED', { ...HOST, ...USER })))).toEqual([]);
    expect(validateUdmEvent(toSnakeCase(withEvent('USER_UNCATEGORIZED', HOST)))).toHaveLength(1);
    expect(validateUdmEvent(toSnakeCase({ ...BASE, metadata: { ...BASE.metadata, eventTimestamp: 'x' } }))).toHaveLength(1);
  });
});
