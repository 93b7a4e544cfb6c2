/**
 * The checks SecOps applies to a UDM event before accepting it, as far as this mapping can break them:
 * every event needs a timestamp and a type; `USER_UNCATEGORIZED` needs a principal user and a principal
 * machine identifier; `STATUS_UPDATE` a principal machine identifier. Plus shape checks on what the
 * mapping writes (IP addresses, labels, enum values), so a mapping bug shows up here and not at ingestion.
 *
 * Accepts an event in either naming style (`eventTimestamp` or `event_timestamp`), so the CLI's
 * `--case snake` output is checked by the same rules.
 */
import { isIP } from 'node:net';
import { snakeKey } from './case.js';
import { quote } from '../duo/ts.js';
import { UTC_TIMESTAMP_RE, normaliseTimestamp } from './timestamp.js';
import type { UdmSecurityAction, UdmSeverity } from './types.js';

type Fields = Record<string, unknown>;

const ACTIONS: ReadonlySet<UdmSecurityAction> = new Set<UdmSecurityAction>([
  'UNKNOWN_ACTION',
  'ALLOW',
  'BLOCK',
  'ALLOW_WITH_MODIFICATION',
  'QUARANTINE',
  'FAIL',
  'CHALLENGE',
]);
const SEVERITIES: ReadonlySet<UdmSeverity> = new Set<UdmSeverity>([
  'UNKNOWN_SEVERITY',
  'INFORMATIONAL',
  'ERROR',
  'NONE',
  'LOW',
  'MEDIUM',
  'HIGH',
  'CRITICAL',
]);

/** UDM `User` fields that identify a user. */
const USER_ID_FIELDS = ['userid', 'emailAddresses', 'productObjectId', 'windowsSid', 'employeeId', 'userDisplayName'] as const;
/** UDM `Noun` fields that identify a machine. */
const MACHINE_ID_FIELDS = ['hostname', 'ip', 'mac', 'assetId'] as const;

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A field by its camelCase name, or by its snake_case name when the event is in that style. */
function get(obj: Fields, camel: string): unknown {
  if (Object.hasOwn(obj, camel)) return obj[camel];
  const snake = snakeKey(camel);
  return Object.hasOwn(obj, snake) ? obj[snake] : undefined;
}

function nonBlank(v: unknown): boolean {
  if (typeof v === 'string') return v.trim() !== '';
  if (Array.isArray(v)) return v.some(nonBlank);
  return false;
}

function hasAny(obj: unknown, fields: readonly string[]): boolean {
  return isObject(obj) && fields.some((f) => nonBlank(get(obj, f)));
}

function checkStringArray(v: unknown, path: string, problems: string[]): v is unknown[] {
  if (v === undefined) return false;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) {
    problems.push(`${path} must be an array of strings`);
    return false;
  }
  return true;
}

function checkNoun(noun: unknown, path: string, problems: string[]): void {
  if (noun === undefined) return;
  if (!isObject(noun)) {
    problems.push(`${path} must be an object`);
    return;
  }
  const hostname = get(noun, 'hostname');
  if (hostname !== undefined && typeof hostname !== 'string') problems.push(`${path}.hostname must be a string`);
  const ip = get(noun, 'ip');
  if (checkStringArray(ip, `${path}.ip`, problems)) {
    for (const a of ip) if (typeof a === 'string' && isIP(a) === 0) problems.push(`${path}.ip ${quote(a)} is not an IP address`);
  }
  const user = get(noun, 'user');
  if (user !== undefined) {
    if (!isObject(user)) problems.push(`${path}.user must be an object`);
    else {
      const userid = get(user, 'userid');
      if (userid !== undefined && typeof userid !== 'string') problems.push(`${path}.user.userid must be a string`);
      checkStringArray(get(user, 'phoneNumbers'), `${path}.user.phoneNumbers`, problems);
    }
  }
}

function checkSecurityResults(v: unknown, problems: string[]): void {
  if (v === undefined) return;
  if (!Array.isArray(v)) {
    problems.push('securityResult must be an array');
    return;
  }
  v.forEach((sr: unknown, i) => {
    const path = `securityResult[${i}]`;
    if (!isObject(sr)) {
      problems.push(`${path} must be an object`);
      return;
    }
    const action = get(sr, 'action');
    if (checkStringArray(action, `${path}.action`, problems)) {
      for (const a of action) if (!ACTIONS.has(a as UdmSecurityAction)) problems.push(`${path}.action ${quote(String(a))} is not a UDM action`);
    }
    const severity = get(sr, 'severity');
    if (severity !== undefined && !SEVERITIES.has(severity as UdmSeverity)) {
      problems.push(`${path}.severity ${quote(String(severity))} is not a UDM severity`);
    }
    const summary = get(sr, 'summary');
    if (summary !== undefined && typeof summary !== 'string') problems.push(`${path}.summary must be a string`);
    const labels = get(sr, 'detectionFields');
    if (labels === undefined) return;
    if (!Array.isArray(labels)) {
      problems.push(`${path}.detectionFields must be an array`);
      return;
    }
    labels.forEach((l: unknown, j) => {
      if (!isObject(l) || typeof l['key'] !== 'string' || l['key'] === '' || typeof l['value'] !== 'string') {
        problems.push(`${path}.detectionFields[${j}] must be {key, value} with a non-empty string key and a string value`);
      }
    });
  });
}

/** Every problem that would make SecOps refuse the event, or that shows the mapping misbehaved; `[]` when none. */
export function validateUdmEvent(e: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(e)) return ['event must be a JSON object'];
  const metadata = get(e, 'metadata');
  if (!isObject(metadata)) return ['metadata is missing'];

  const ts = get(metadata, 'eventTimestamp');
  if (ts === undefined) problems.push('metadata.eventTimestamp is missing');
  else if (typeof ts !== 'string' || !UTC_TIMESTAMP_RE.test(ts) || !normaliseTimestamp(ts).ok) {
    problems.push(`metadata.eventTimestamp ${quote(String(ts))} is not an RFC 3339 UTC timestamp`);
  }

  for (const f of ['vendorName', 'productName', 'productEventType', 'productLogId', 'logType']) {
    const v = get(metadata, f);
    if (v !== undefined && typeof v !== 'string') problems.push(`metadata.${f} must be a string`);
  }

  const principal = get(e, 'principal');
  checkNoun(principal, 'principal', problems);
  checkSecurityResults(get(e, 'securityResult'), problems);

  const type = get(metadata, 'eventType');
  const machine = hasAny(principal, MACHINE_ID_FIELDS);
  const user = isObject(principal) && hasAny(get(principal, 'user'), USER_ID_FIELDS);
  if (typeof type !== 'string' || type.trim() === '') problems.push('metadata.eventType is missing');
  else if (type === 'EVENTTYPE_UNSPECIFIED') problems.push('metadata.eventType must not be EVENTTYPE_UNSPECIFIED');
  else if (type === 'USER_UNCATEGORIZED') {
    if (!user) problems.push('USER_UNCATEGORIZED needs a principal user identifier (principal.user.userid, emailAddresses, …)');
    if (!machine) problems.push('USER_UNCATEGORIZED needs a principal machine identifier (principal.hostname, ip, mac or assetId)');
  } else if (type === 'STATUS_UPDATE') {
    if (!machine) problems.push('STATUS_UPDATE needs a principal machine identifier (principal.hostname, ip, mac or assetId)');
  }
  return problems;
}
