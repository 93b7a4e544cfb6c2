/**
 * Duo telephony item → UDM event: the `DUO_TELEPHONY` table of Google's guide, made precise
 * (docs/udm.md). Pure and total: any input gives an event or a reason, never an exception.
 *
 * Field presence: a string field counts as present when it holds a non-blank string; `credits` when
 * it is a finite number (0 included) or a non-blank string. `null`, blanks and values of another type
 * count as absent, as in the guide's parser, which maps only what it can read. Unknown fields are
 * ignored.
 */
import { isIP } from 'node:net';
import { toSnakeCase } from './case.js';
import { normaliseTimestamp } from './timestamp.js';
import type {
  ToUdmOptions,
  ToUdmResult,
  UdmEvent,
  UdmEventSnake,
  UdmEventType,
  UdmLabel,
  UdmMetadata,
  UdmNoun,
  UdmSecurityResult,
} from './types.js';

export const VENDOR_NAME = 'Duo';
export const PRODUCT_NAME = 'Telephony';
/** `security_result.summary` when the item has no `type`. */
export const DEFAULT_SUMMARY = 'Duo Telephony';
/**
 * Key of the guide's static `MECHANISM_UNSPECIFIED` detection field, which the guide gives no key.
 * `MECHANISM_UNSPECIFIED` is the zero value of UDM's `Authentication.Mechanism` enum, the type of
 * `extensions.auth.mechanism`, so the label is named after that field: a search for
 * `detection_fields["mechanism"]` finds it next to `credits` and `eventtype`.
 */
export const MECHANISM_KEY = 'mechanism';
export const MECHANISM_VALUE = 'MECHANISM_UNSPECIFIED';

type Fields = Record<string, unknown>;

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Own properties only: `toString` or `constructor` on the prototype are not fields of the item. The
// ownership test runs only for a value that is there, so absent fields cost one property load.
function own(item: Fields, key: string): unknown {
  const v = item[key];
  return v !== undefined && Object.hasOwn(item, key) ? v : undefined;
}

function str(item: Fields, key: string): string | undefined {
  const v = own(item, key);
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

function credits(item: Fields): string | undefined {
  const v = own(item, 'credits');
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  return typeof v === 'string' && v.trim() !== '' ? v : undefined;
}

// A file's lines nearly all name the same Duo API host: remember the last answer.
let lastHost = '';
let lastHostIsIp = false;
function isIpAddress(host: string): boolean {
  if (host !== lastHost) {
    lastHost = host;
    lastHostIsIp = isIP(host) !== 0;
  }
  return lastHostIsIp;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/**
 * The guide: USER_UNCATEGORIZED when `context` and `host` are present, STATUS_UPDATE when only `host`,
 * else GENERIC_EVENT. Our precision: USER_UNCATEGORIZED also needs `phone`, the only user identifier a
 * telephony item has; without it SecOps would reject the event, so it is downgraded to STATUS_UPDATE,
 * which its host still satisfies.
 */
export function eventTypeFor(present: { context: boolean; host: boolean; phone: boolean }): UdmEventType {
  if (present.context && present.host && present.phone) return 'USER_UNCATEGORIZED';
  if (present.host) return 'STATUS_UPDATE';
  return 'GENERIC_EVENT';
}

/**
 * What an item maps to, field by field, before it takes the shape of a UDM event: `udmEvent` builds the
 * event object from it, `udmJson` (serialize.ts) writes the same event as JSON text directly.
 */
export interface TelephonyUdmFields {
  eventTimestamp: string;
  eventType: UdmEventType;
  /** ← `context` */
  productEventType: string | undefined;
  /** ← `telephony_id` */
  productLogId: string | undefined;
  logType: string | undefined;
  /** ← `host` when it is not an IP address */
  hostname: string | undefined;
  /** ← `host` when it is an IP address */
  ip: string | undefined;
  /** ← `phone`: `principal.user.userid` and its only phone number */
  phone: string | undefined;
  /** ← `type`, else DEFAULT_SUMMARY */
  summary: string;
  credits: string | undefined;
  eventtype: string | undefined;
}

export type MapResult = { ok: true; fields: TelephonyUdmFields } | { ok: false; reason: string };

/** Read an item: its UDM fields, or the reason it cannot be an event. Pure and total. */
export function mapTelephony(item: unknown, options: Pick<ToUdmOptions, 'logType'> = {}): MapResult {
  if (!isObject(item)) return { ok: false, reason: `not a JSON object (got ${kindOf(item)})` };

  const rawTs = own(item, 'ts');
  if (rawTs === undefined) return { ok: false, reason: 'no ts field' };
  if (typeof rawTs !== 'string') return { ok: false, reason: `ts is ${kindOf(rawTs)}, not an ISO 8601 string` };
  const ts = normaliseTimestamp(rawTs);
  if (!ts.ok) return ts;

  const context = str(item, 'context');
  const host = str(item, 'host');
  const phone = str(item, 'phone');
  // An IP address is not a hostname; `principal.ip` keeps it as a machine identifier.
  const hostIsIp = host !== undefined && isIpAddress(host);
  return {
    ok: true,
    fields: {
      eventTimestamp: ts.value,
      eventType: eventTypeFor({ context: context !== undefined, host: host !== undefined, phone: phone !== undefined }),
      productEventType: context,
      productLogId: str(item, 'telephony_id'),
      logType: str(item, 'log_type') ?? (options.logType?.trim() ? options.logType : undefined),
      hostname: hostIsIp ? undefined : host,
      ip: hostIsIp ? host : undefined,
      phone,
      summary: str(item, 'type') ?? DEFAULT_SUMMARY,
      credits: credits(item),
      eventtype: str(item, 'eventtype'),
    },
  };
}

/** The UDM event (camelCase) of mapped fields. */
export function udmEvent(f: TelephonyUdmFields): UdmEvent {
  // Objects are built by assignment in one fixed key order: the NDJSON output is always the same, and
  // events share a few hidden classes.
  const metadata: UdmMetadata = { eventTimestamp: f.eventTimestamp, eventType: f.eventType, vendorName: VENDOR_NAME, productName: PRODUCT_NAME };
  if (f.productEventType !== undefined) metadata.productEventType = f.productEventType;
  if (f.productLogId !== undefined) metadata.productLogId = f.productLogId;
  if (f.logType !== undefined) metadata.logType = f.logType;

  const detectionFields: UdmLabel[] = [];
  if (f.credits !== undefined) detectionFields.push({ key: 'credits', value: f.credits });
  if (f.eventtype !== undefined) detectionFields.push({ key: 'eventtype', value: f.eventtype });
  detectionFields.push({ key: MECHANISM_KEY, value: MECHANISM_VALUE });
  const securityResult: UdmSecurityResult = { action: ['ALLOW'], severity: 'INFORMATIONAL', summary: f.summary, detectionFields };

  let principal: UdmNoun | undefined;
  if (f.hostname !== undefined || f.ip !== undefined || f.phone !== undefined) {
    principal = {};
    if (f.hostname !== undefined) principal.hostname = f.hostname;
    if (f.ip !== undefined) principal.ip = [f.ip];
    if (f.phone !== undefined) principal.user = { userid: f.phone, phoneNumbers: [f.phone] };
  }
  return principal === undefined ? { metadata, securityResult: [securityResult] } : { metadata, principal, securityResult: [securityResult] };
}

export function toUdm(item: unknown, options?: ToUdmOptions & { case?: 'camel' }): ToUdmResult<UdmEvent>;
export function toUdm(item: unknown, options: ToUdmOptions & { case: 'snake' }): ToUdmResult<UdmEventSnake>;
export function toUdm(item: unknown, options?: ToUdmOptions): ToUdmResult;
export function toUdm(item: unknown, options: ToUdmOptions = {}): ToUdmResult {
  const m = mapTelephony(item, options);
  if (!m.ok) return m;
  const event = udmEvent(m.fields);
  return { ok: true, event: options.case === 'snake' ? toSnakeCase(event) : event };
}
