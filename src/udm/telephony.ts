/**
 * Duo telephony item → UDM event: the `DUO_TELEPHONY` table of Google's guide, made precise
 * (design.md section 5). Pure and total: any input gives an event or a reason, never an exception.
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

export function toUdm(item: unknown, options?: ToUdmOptions & { case?: 'camel' }): ToUdmResult<UdmEvent>;
export function toUdm(item: unknown, options: ToUdmOptions & { case: 'snake' }): ToUdmResult<UdmEventSnake>;
export function toUdm(item: unknown, options?: ToUdmOptions): ToUdmResult;
export function toUdm(item: unknown, options: ToUdmOptions = {}): ToUdmResult {
  if (!isObject(item)) return { ok: false, reason: `not a JSON object (got ${kindOf(item)})` };

  const rawTs = own(item, 'ts');
  if (rawTs === undefined) return { ok: false, reason: 'no ts field' };
  if (typeof rawTs !== 'string') return { ok: false, reason: `ts is ${kindOf(rawTs)}, not an ISO 8601 string` };
  const ts = normaliseTimestamp(rawTs);
  if (!ts.ok) return ts;

  const context = str(item, 'context');
  const host = str(item, 'host');
  const phone = str(item, 'phone');
  const type = str(item, 'type');
  const eventtype = str(item, 'eventtype');
  const telephonyId = str(item, 'telephony_id');
  const logType = str(item, 'log_type') ?? (options.logType?.trim() ? options.logType : undefined);
  const creditsValue = credits(item);

  // Objects are built by assignment in one fixed key order: the NDJSON output is always the same, and
  // events share a few hidden classes, which keeps mapping and serialising a million of them fast.
  const metadata: UdmMetadata = {
    eventTimestamp: ts.value,
    eventType: eventTypeFor({ context: context !== undefined, host: host !== undefined, phone: phone !== undefined }),
    vendorName: VENDOR_NAME,
    productName: PRODUCT_NAME,
  };
  if (context !== undefined) metadata.productEventType = context;
  if (telephonyId !== undefined) metadata.productLogId = telephonyId;
  if (logType !== undefined) metadata.logType = logType;

  const detectionFields: UdmLabel[] = [];
  if (creditsValue !== undefined) detectionFields.push({ key: 'credits', value: creditsValue });
  if (eventtype !== undefined) detectionFields.push({ key: 'eventtype', value: eventtype });
  detectionFields.push({ key: MECHANISM_KEY, value: MECHANISM_VALUE });
  const securityResult: UdmSecurityResult = {
    action: ['ALLOW'],
    severity: 'INFORMATIONAL',
    summary: type ?? DEFAULT_SUMMARY,
    detectionFields,
  };

  let principal: UdmNoun | undefined;
  if (host !== undefined || phone !== undefined) {
    principal = {};
    // An IP address is not a hostname; `principal.ip` keeps it as a machine identifier.
    if (host !== undefined) {
      if (isIpAddress(host)) principal.ip = [host];
      else principal.hostname = host;
    }
    if (phone !== undefined) principal.user = { userid: phone, phoneNumbers: [phone] };
  }
  const event: UdmEvent =
    principal === undefined ? { metadata, securityResult: [securityResult] } : { metadata, principal, securityResult: [securityResult] };

  return { ok: true, event: options.case === 'snake' ? toSnakeCase(event) : event };
}
