/**
 * Whatever a line holds, `toUdm` either returns an event the validator accepts or a reason, and never
 * throws: the CLI relies on this to keep converting past any bad line.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { toUdm } from '../../../src/udm/telephony.js';
import { toUdmJson } from '../../../src/udm/serialize.js';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import type { ToUdmOptions } from '../../../src/udm/types.js';

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
  } else {
    expect(typeof result.reason).toBe('string');
    expect(result.reason.trim()).not.toBe('');
  }
  // The converter's writer gives exactly JSON.stringify's text of that event, in either key style, and
  // rejects with the same reason.
  const json = toUdmJson(item, options);
  expect(json.ok ? json.json : json.reason).toBe(result.ok ? JSON.stringify(result.event) : result.reason);
  if (json.ok && result.ok) expect(json.eventType).toBe('eventType' in result.event.metadata ? result.event.metadata.eventType : result.event.metadata.event_type);
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

/** Items whose strings are hostile to a JSON writer: every field that is copied into the event. */
const hostileItem = fc.record(
  {
    context: anyString,
    credits: fc.oneof(anyString, fc.double(), fc.integer()),
    phone: anyString,
    telephony_id: anyString,
    ts: validTs,
    type: anyString,
    eventtype: anyString,
    host: fc.oneof(anyString, fc.ipV4(), fc.ipV6()),
    log_type: anyString,
  },
  { requiredKeys: ['ts'] },
);

describe('toUdmJson', () => {
  it('writes exactly what JSON.stringify writes of the event, for items with any strings', () => {
    fc.assert(fc.property(hostileItem, options, checkTotal), { numRuns: RUNS * 3 });
  });
});
