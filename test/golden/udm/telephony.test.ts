/**
 * Golden cases for the `DUO_TELEPHONY` mapping: `telephony/<case>.raw.json` (one item, as the collector
 * writes it) → `telephony/<case>.udm.json` (the event, byte for byte, or `{"rejected": reason}`), with
 * `<case>.options.json` when the case needs `toUdm` options.
 *
 * The expected files change only on purpose: `UPDATE_GOLDEN=1 npx vitest run test/golden/udm` rewrites
 * them, and the named checks below still have to hold, so a wrong regeneration fails anyway.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toUdm } from '../../../src/udm/telephony.js';
import { validateUdmEvent } from '../../../src/udm/validate.js';
import type { ToUdmOptions, UdmEvent } from '../../../src/udm/types.js';

const DIR = fileURLToPath(new URL('./telephony/', import.meta.url));
const UPDATE = process.env['UPDATE_GOLDEN'] === '1';

const CASES = readdirSync(DIR)
  .filter((f) => f.endsWith('.raw.json'))
  .map((f) => f.slice(0, -'.raw.json'.length))
  .sort();

type Fields = Record<string, unknown>;

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(join(DIR, file), 'utf8'));
}

function optionsOf(name: string): ToUdmOptions | undefined {
  const file = `${name}.options.json`;
  if (!existsSync(join(DIR, file))) return undefined;
  const o = readJson(file) as Fields;
  const opts: ToUdmOptions = {};
  if (typeof o['logType'] === 'string') opts.logType = o['logType'];
  if (o['case'] === 'camel' || o['case'] === 'snake') opts.case = o['case'];
  return opts;
}

function serialise(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}

/** The golden output of a case, parsed; camelCase cases only. */
function golden(name: string): { raw: Fields; event: UdmEvent } {
  const raw = readJson(`${name}.raw.json`) as Fields;
  const out = readJson(`${name}.udm.json`) as Fields;
  if ('rejected' in out) throw new Error(`${name} is a rejection`);
  return { raw, event: out as unknown as UdmEvent };
}

function label(e: UdmEvent, key: string): string | undefined {
  return e.securityResult[0]?.detectionFields?.find((l) => l.key === key)?.value;
}

function instantMicros(ts: string): bigint {
  // Seconds from Date.parse, sub-second digits from the text: exact to the digit, offset applied.
  const m = /^(.*?:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) throw new Error(`test cannot read ${ts}`);
  const [, head, frac = '', zone] = m;
  return BigInt(Date.parse(`${head}${zone}`)) * 1000n + BigInt(frac.padEnd(6, '0').slice(0, 6));
}

describe('golden UDM cases', () => {
  it('has cases', () => {
    expect(CASES.length).toBeGreaterThan(40);
  });

  it.each(CASES)('%s', (name) => {
    const raw = readJson(`${name}.raw.json`);
    const result = toUdm(raw, optionsOf(name));
    const actual = serialise(result.ok ? result.event : { rejected: result.reason });
    const file = join(DIR, `${name}.udm.json`);
    if (UPDATE) writeFileSync(file, actual);
    expect(actual).toBe(readFileSync(file, 'utf8'));
    if (name.startsWith('reject-')) {
      expect(result.ok).toBe(false);
    } else {
      expect(result.ok).toBe(true);
      if (result.ok) expect(validateUdmEvent(result.event)).toEqual([]);
    }
  });
});

/** The guide's UDM mapping table, row by row, each with the golden case that shows it. */
const TABLE: Array<{ row: string; name: string; check: (raw: Fields, e: UdmEvent) => void }> = [
  {
    row: 'context → metadata.product_event_type',
    name: 'row-01-context-product-event-type',
    check: (raw, e) => expect(e.metadata.productEventType).toBe(raw['context']),
  },
  {
    row: 'credits → security_result.detection_fields (key credits)',
    name: 'row-02-credits-detection-field',
    check: (raw, e) => expect(label(e, 'credits')).toBe(String(raw['credits'])),
  },
  {
    row: 'eventtype → security_result.detection_fields (key eventtype)',
    name: 'row-03-eventtype-detection-field',
    check: (raw, e) => expect(label(e, 'eventtype')).toBe(raw['eventtype']),
  },
  {
    row: 'host → principal.hostname (not an IP address)',
    name: 'row-04-host-principal-hostname',
    check: (raw, e) => {
      expect(e.principal?.hostname).toBe(raw['host']);
      expect(e.principal?.ip).toBeUndefined();
    },
  },
  {
    row: 'security_result.action static "ALLOW"',
    name: 'row-05-static-action-allow',
    check: (_raw, e) => expect(e.securityResult[0]?.action).toEqual(['ALLOW']),
  },
  {
    row: 'security_result.detection_fields.value static "MECHANISM_UNSPECIFIED"',
    name: 'row-06-static-mechanism-unspecified',
    check: (_raw, e) => expect(label(e, 'mechanism')).toBe('MECHANISM_UNSPECIFIED'),
  },
  {
    row: 'metadata.event_timestamp parsed from ts',
    name: 'row-07-event-timestamp',
    check: (raw, e) => expect(instantMicros(e.metadata.eventTimestamp)).toBe(instantMicros(String(raw['ts']))),
  },
  {
    row: 'metadata.event_type USER_UNCATEGORIZED / STATUS_UPDATE / GENERIC_EVENT',
    name: 'row-08-event-type',
    check: (_raw, e) => expect(e.metadata.eventType).toBe('USER_UNCATEGORIZED'),
  },
  {
    row: 'metadata.log_type from log_type',
    name: 'row-09-log-type',
    check: (raw, e) => expect(e.metadata.logType).toBe(raw['log_type']),
  },
  {
    row: 'metadata.product_name static "Telephony"',
    name: 'row-10-static-product-name',
    check: (_raw, e) => expect(e.metadata.productName).toBe('Telephony'),
  },
  {
    row: 'metadata.vendor_name static "Duo"',
    name: 'row-11-static-vendor-name',
    check: (_raw, e) => expect(e.metadata.vendorName).toBe('Duo'),
  },
  {
    row: 'phone → principal.user.phone_numbers',
    name: 'row-12-phone-phone-numbers',
    check: (raw, e) => expect(e.principal?.user?.phoneNumbers).toEqual([raw['phone']]),
  },
  {
    row: 'phone → principal.user.userid',
    name: 'row-13-phone-userid',
    check: (raw, e) => expect(e.principal?.user?.userid).toBe(raw['phone']),
  },
  {
    row: 'security_result.severity static "INFORMATIONAL"',
    name: 'row-14-static-severity',
    check: (_raw, e) => expect(e.securityResult[0]?.severity).toBe('INFORMATIONAL'),
  },
  {
    row: 'security_result.summary static "Duo Telephony"',
    name: 'row-15-static-summary-without-type',
    check: (raw, e) => {
      expect(raw['type']).toBeUndefined();
      expect(e.securityResult[0]?.summary).toBe('Duo Telephony');
    },
  },
  {
    row: 'ts → metadata.event_timestamp',
    name: 'row-16-ts-event-timestamp',
    check: (raw, e) => expect(instantMicros(e.metadata.eventTimestamp)).toBe(instantMicros(String(raw['ts']))),
  },
  {
    row: 'type → security_result.summary',
    name: 'row-17-type-summary',
    check: (raw, e) => expect(e.securityResult[0]?.summary).toBe(raw['type']),
  },
];

/** Each branch of the mapping (docs/udm.md), with what its golden output must show. */
const BRANCHES: Array<{ name: string; check: (raw: Fields, e: UdmEvent) => void }> = [
  { name: 'branch-context-and-host', check: (_r, e) => expect(e.metadata.eventType).toBe('USER_UNCATEGORIZED') },
  {
    name: 'branch-context-and-host-without-phone',
    check: (_r, e) => {
      expect(e.metadata.eventType).toBe('STATUS_UPDATE');
      expect(e.principal?.user).toBeUndefined();
    },
  },
  { name: 'branch-host-only', check: (_r, e) => expect(e.metadata.eventType).toBe('STATUS_UPDATE') },
  {
    name: 'branch-ip-host-v4',
    check: (raw, e) => {
      expect(e.principal?.ip).toEqual([raw['host']]);
      expect(e.principal?.hostname).toBeUndefined();
      expect(e.metadata.eventType).toBe('USER_UNCATEGORIZED');
    },
  },
  {
    name: 'branch-ip-host-v6',
    check: (raw, e) => {
      expect(e.principal?.ip).toEqual([raw['host']]);
      expect(e.principal?.hostname).toBeUndefined();
    },
  },
  {
    name: 'branch-neither-context-nor-host',
    check: (_r, e) => {
      expect(e.metadata.eventType).toBe('GENERIC_EVENT');
      expect(e.principal?.user?.userid).toBeDefined();
    },
  },
  { name: 'branch-context-only', check: (_r, e) => expect(e.metadata.eventType).toBe('GENERIC_EVENT') },
  {
    name: 'branch-missing-fields',
    check: (_r, e) => {
      expect(e.metadata.eventType).toBe('GENERIC_EVENT');
      expect(e.principal).toBeUndefined();
      expect(e.securityResult[0]?.detectionFields).toEqual([{ key: 'mechanism', value: 'MECHANISM_UNSPECIFIED' }]);
    },
  },
  { name: 'branch-credits-zero', check: (_r, e) => expect(label(e, 'credits')).toBe('0') },
  {
    name: 'branch-null-and-blank-fields',
    check: (_r, e) => {
      expect(e.metadata.eventType).toBe('GENERIC_EVENT');
      expect(e.principal).toBeUndefined();
      expect(e.metadata.productLogId).toBeUndefined();
    },
  },
  {
    name: 'branch-wrong-type-fields',
    check: (_r, e) => {
      expect(e.metadata.eventType).toBe('GENERIC_EVENT');
      expect(e.principal).toBeUndefined();
      expect(label(e, 'credits')).toBe('2');
    },
  },
  { name: 'branch-ts-no-fraction', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-03-21T22:34:49.000000Z') },
  { name: 'branch-ts-offset-plus-0530', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-03-21T22:34:49.466370Z') },
  { name: 'branch-ts-offset-crosses-year', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-01-01T01:00:00.000001Z') },
  { name: 'branch-ts-milliseconds', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-03-21T22:34:49.466000Z') },
  { name: 'branch-ts-nanoseconds', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-03-21T22:34:49.466370123Z') },
  { name: 'branch-ts-no-offset-is-utc', check: (_r, e) => expect(e.metadata.eventTimestamp).toBe('2023-03-21T22:34:49.466370Z') },
  {
    name: 'branch-unknown-extra-fields',
    check: (_r, e) => {
      const golden2 = golden('example-authentication').event;
      expect(e).toEqual(golden2);
    },
  },
  { name: 'branch-log-type-present', check: (_r, e) => expect(e.metadata.logType).toBe('DUO_TELEPHONY') },
  { name: 'branch-log-type-option', check: (_r, e) => expect(e.metadata.logType).toBe('DUO_TELEPHONY') },
  { name: 'branch-log-type-field-wins-over-option', check: (_r, e) => expect(e.metadata.logType).toBe('DUO_TELEPHONY') },
];

describe("every row of the guide's UDM mapping table has a named golden case", () => {
  it('covers all 17 rows', () => {
    expect(TABLE).toHaveLength(17);
    expect(new Set(TABLE.map((r) => r.name)).size).toBe(17);
  });
  it.each(TABLE)('$row ($name)', ({ name, check }) => {
    expect(CASES).toContain(name);
    const { raw, event } = golden(name);
    check(raw, event);
  });
});

describe('every branch has a named golden case', () => {
  it.each(BRANCHES)('$name', ({ name, check }) => {
    expect(CASES).toContain(name);
    const { raw, event } = golden(name);
    check(raw, event);
  });

  it('branch-case-snake is the snake_case form of the same event', () => {
    const snake = readJson('branch-case-snake.udm.json') as Fields;
    expect(Object.keys(snake)).toEqual(['metadata', 'principal', 'security_result']);
    expect(Object.keys(snake['metadata'] as Fields)).toContain('event_timestamp');
    expect(validateUdmEvent(snake)).toEqual([]);
  });

  it('rejections say why', () => {
    for (const name of CASES.filter((n) => n.startsWith('reject-'))) {
      const out = readJson(`${name}.udm.json`) as Fields;
      expect(typeof out['rejected']).toBe('string');
      expect(String(out['rejected']).length).toBeGreaterThan(0);
    }
  });
});
