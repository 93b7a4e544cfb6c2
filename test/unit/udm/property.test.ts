/**
 * Whatever a line holds, `toUdm` either returns an event the validator accepts or a reason, and never
 * throws: the CLI relies on this to keep converting past any bad line.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toSnakeCase } from '../../../src/udm/case.js';
import { toUdm } from '../../../src/udm/telephony.js';
import { serializeUdm } from '../../../src/udm/serialize.js';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import type { ToUdmOptions, UdmEvent } from '../../../src/udm/types.js';

const RUNS = 1000;

function checkTotal(item: unknown, options?: ToUdmOptions): void {
  let result: ReturnType<typeof toUdm>;
  try {
    result = toUdm(item, options);
  } catch (err) {
    throw new Error(`toUdm threw for ${JSON.stringify(item)}: ${String(err)}`);
  }
  if (result.ok) {
    expect(validateUdmEvent(result.event)).toEqual([]);
    // What is written as NDJSON reads back as the same event.
    expect(JSON.parse(JSON.stringify(result.event))).toEqual(result.event);
    // The converter's writer gives exactly JSON.stringify's text, in either key style.
    const camel = toUdm(item, { ...options, case: 'camel' });
    expect(camel.ok && serializeUdm(camel.event, options?.case ?? 'camel')).toBe(JSON.stringify(result.event));
  } else {
    expect(typeof result.reason).toBe('string');
    expect(result.reason.trim()).not.toBe('');
  }
}

const options: fc.Arbitrary<ToUdmOptions | undefined> = fc.option(
  fc.record({ logType: fc.string(), case: fc.constantFrom('camel' as const, 'snake' as const) }, { requiredKeys: [] }),
  { nil: undefined },
);

/** A value of any JSON type, with blanks and null weighted up: the edges of "present". */
const anyField = fc.oneof(
  fc.string(),
  fc.constantFrom('', ' ', '\t', 'null'),
  fc.constant(null),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.jsonValue({ maxDepth: 2 }),
);

const validTs = fc
  .tuple(
    fc.date({ min: new Date('0001-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }),
    fc.stringMatching(/^(\.\d{1,9})?$/),
    fc.constantFrom('Z', '+00:00', '-00:00', '+05:30', '-08:00', '+14:00', '+0530', '+02', ''),
  )
  .map(([d, frac, zone]) => `${d.toISOString().slice(0, 19)}${frac}${zone}`);

/** Near misses: valid shapes with out-of-range parts, and plain noise. */
const anyTs = fc.oneof(
  validTs,
  fc.stringMatching(/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{0,12})?([Zz]|[+-]\d{2}(:?\d{2})?)?$/),
  fc.string(),
  anyField,
);

const host = fc.oneof(fc.domain(), fc.ipV4(), fc.ipV6(), fc.string(), anyField);

const itemShaped = fc
  .tuple(
    fc.record(
      {
        context: fc.oneof(fc.constantFrom('authentication', 'enrollment', 'administrator login', 'verify'), anyField),
        credits: fc.oneof(fc.nat(10), anyField),
        phone: fc.oneof(fc.stringMatching(/^\+[1-9]\d{6,14}$/), anyField),
        telephony_id: fc.oneof(fc.uuid(), anyField),
        ts: anyTs,
        txid: fc.oneof(fc.uuid(), anyField),
        type: fc.oneof(fc.constantFrom('sms', 'phone'), anyField),
        eventtype: fc.oneof(fc.constant('telephony'), anyField),
        host,
        log_type: anyField,
      },
      { requiredKeys: [] },
    ),
    fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
  )
  // Extra fields first so they never shadow the known ones.
  .map(([known, extra]) => ({ ...extra, ...known }));

describe('toUdm is total', () => {
  it('any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), options, checkTotal), { numRuns: RUNS });
  });

  it('any object, including odd keys', () => {
    fc.assert(fc.property(fc.object({ withNullPrototype: true, withBigInt: false }), options, checkTotal), { numRuns: RUNS });
  });

  it('item-shaped objects with random values and random ts strings', () => {
    fc.assert(fc.property(itemShaped, options, checkTotal), { numRuns: RUNS * 3 });
  });

  it('item-shaped objects after a JSON round trip, as the CLI reads them', () => {
    fc.assert(fc.property(itemShaped, options, (item, opts) => checkTotal(JSON.parse(JSON.stringify(item)), opts)), { numRuns: RUNS });
  });

  it('a valid ts is never the reason for a rejection', () => {
    fc.assert(
      fc.property(itemShaped, validTs, (item, ts) => {
        const r = toUdm({ ...item, ts });
        expect(r.ok).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('the event type follows what is present', () => {
    fc.assert(
      fc.property(itemShaped, validTs, (item, ts) => {
        const r = toUdm({ ...item, ts });
        if (!r.ok) return;
        const present = (k: string): boolean => {
          const v: unknown = (item as Record<string, unknown>)[k];
          return typeof v === 'string' && v.trim() !== '';
        };
        const expected = present('context') && present('host') && present('phone') ? 'USER_UNCATEGORIZED' : present('host') ? 'STATUS_UPDATE' : 'GENERIC_EVENT';
        expect(r.event.metadata.eventType).toBe(expected);
      }),
      { numRuns: RUNS },
    );
  });
});

/** Any string at all: lone surrogates, control characters, quotes, backslashes, astral characters. */
const anyString = fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }), fc.constantFrom('"', '\\', '\u2028', '\ud800', '\udfff\ud800', '\u0000\u001f'));
const strings = fc.array(anyString, { maxLength: 3 });

/** Events of every shape `UdmEvent` allows, built in `toUdm`'s key order, with hostile values. */
const anyEvent: fc.Arbitrary<UdmEvent> = fc
  .record(
    {
      metadata: fc.record(
        {
          eventTimestamp: anyString,
          eventType: fc.constantFrom('USER_UNCATEGORIZED' as const, 'STATUS_UPDATE' as const, 'GENERIC_EVENT' as const),
          vendorName: anyString,
          productName: anyString,
          productEventType: anyString,
          productLogId: anyString,
          logType: anyString,
        },
        { requiredKeys: ['eventTimestamp', 'eventType', 'vendorName', 'productName'] },
      ),
      principal: fc.record(
        { hostname: anyString, ip: strings, user: fc.record({ userid: anyString, phoneNumbers: strings }, { requiredKeys: [] }) },
        { requiredKeys: [] },
      ),
      securityResult: fc.array(
        fc.record(
          {
            action: fc.array(fc.constantFrom('ALLOW' as const, 'BLOCK' as const), { maxLength: 2 }),
            severity: fc.constantFrom('INFORMATIONAL' as const, 'LOW' as const),
            summary: anyString,
            detectionFields: fc.array(fc.record({ key: anyString, value: anyString }), { maxLength: 4 }),
          },
          { requiredKeys: ['action', 'severity', 'summary'] },
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: ['metadata', 'securityResult'] },
  )
  .map((e) => e as UdmEvent);

describe('serializeUdm', () => {
  it('writes exactly what JSON.stringify writes, for events of any shape and content', () => {
    fc.assert(
      fc.property(anyEvent, (event) => {
        expect(serializeUdm(event)).toBe(JSON.stringify(event));
        expect(serializeUdm(event, 'snake')).toBe(JSON.stringify(toSnakeCase(event)));
      }),
      { numRuns: RUNS * 3 },
    );
  });
});
