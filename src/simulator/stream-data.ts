/**
 * Seeded data sets of the log streams other than telephony (dataset.ts): authentication, activity,
 * trust monitor and administrator items shaped as Duo documents them, keys in sorted order as Duo's
 * JSON has them. Same design as telephony: each item is serialised once, here, and pages only
 * concatenate those strings.
 *
 * Every name, address and key is made up: people and hosts are on example.com, addresses in the
 * documentation ranges of RFC 5737 (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
 */
import type { StreamName } from '../duo/streams.js';
import { arrivalsOf, drawTimes, formatTs, hex8, sameTimeRun, seededUuid, validateDataset, type DatasetOptions, type SimEvent } from './dataset-core.js';
import { createRng, type Rng } from './rng.js';

type Json = Record<string, unknown>;

const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** A Duo object key: a two-letter prefix (`DU` user, `DI` integration, `DP` phone, `SE` event) and 18 characters. */
export function duoKey(rng: Rng, prefix: string): string {
  let out = prefix;
  for (let i = 0; i < 18; i++) out += UPPER[rng.int(UPPER.length)];
  return out;
}

/** Whole-second ISO 8601 as the administrator log writes it: `2020-01-24T15:09:42+00:00`. */
export function isoSeconds(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 19)}+00:00`;
}

// --- the people, devices and places the items speak of ------------------------------------------------

interface Place {
  city: string;
  country: string;
  state: string;
}

const PLACES: readonly Place[] = [
  { city: 'Ann Arbor', country: 'United States', state: 'Michigan' },
  { city: 'Austin', country: 'United States', state: 'Texas' },
  { city: 'San Francisco', country: 'United States', state: 'California' },
  { city: 'New York', country: 'United States', state: 'New York' },
  { city: 'London', country: 'United Kingdom', state: 'England' },
  { city: 'Berlin', country: 'Germany', state: 'Land Berlin' },
  { city: 'Paris', country: 'France', state: 'Île-de-France' },
  { city: 'Sydney', country: 'Australia', state: 'New South Wales' },
  { city: 'Toronto', country: 'Canada', state: 'Ontario' },
];

const FIRST = ['ada', 'alan', 'grace', 'edsger', 'barbara', 'donald', 'frances', 'ken', 'margaret', 'niklaus', 'radia', 'tim', 'shafi', 'leslie', 'john', 'hedy'];
const LAST = ['lovelace', 'turing', 'hopper', 'dijkstra', 'liskov', 'knuth', 'allen', 'thompson', 'hamilton', 'wirth', 'perlman', 'lee', 'goldwasser', 'lamport', 'backus', 'lamarr'];
const GROUPS = ['Duo Users', 'Engineering', 'Finance', 'Contractors', 'IT Admins', 'Sales'];
const APPS = ['Microsoft 365', 'Cisco ASA VPN', 'Okta SSO', 'Salesforce', 'AWS Console', 'GitHub Enterprise', 'Workday', 'Duo Admin Panel'];
const BROWSERS: ReadonlyArray<readonly [string, string]> = [
  ['Chrome', '124.0.6367.91'],
  ['Firefox', '125.0'],
  ['Safari', '17.4.1'],
  ['Edge', '124.0.2478.67'],
];
const SYSTEMS: ReadonlyArray<readonly [string, string]> = [
  ['Mac OS X', '14.4.1'],
  ['Windows', '11'],
  ['iOS', '17.4.1'],
  ['Android', '14'],
  ['Linux', ''],
];

interface User {
  name: string;
  email: string;
  key: string;
  groups: string[];
  place: Place;
  phone: { key: string; name: string };
}

interface App {
  key: string;
  name: string;
}

interface Pools {
  users: User[];
  apps: App[];
  admins: User[];
}

function buildPools(rng: Rng): Pools {
  const users: User[] = [];
  const seen = new Set<string>();
  while (users.length < 120) {
    const name = `${rng.pick(FIRST)}.${rng.pick(LAST)}`;
    if (seen.has(name)) continue;
    seen.add(name);
    const groups = [GROUPS[0] as string, ...(rng.chance(0.7) ? [GROUPS[1 + rng.int(GROUPS.length - 1)] as string] : [])];
    users.push({
      name,
      email: `${name}@example.com`,
      key: duoKey(rng, 'DU'),
      groups,
      place: rng.pick(PLACES),
      phone: { key: duoKey(rng, 'DP'), name: `${rng.chance(0.5) ? 'iPhone' : 'Pixel'} (+1 212-555-${String(rng.int(10_000)).padStart(4, '0')})` },
    });
  }
  const apps = APPS.map((name) => ({ key: duoKey(rng, 'DI'), name }));
  return { users, apps, admins: users.slice(0, 6) };
}

/** An address in one of the three documentation ranges. */
function docIp(rng: Rng): string {
  return `${rng.pick(['192.0.2', '198.51.100', '203.0.113'])}.${1 + rng.int(254)}`;
}

/** Skewed toward the start of the pool: a few people log far more than the rest. */
function pickSkewed<T>(rng: Rng, items: readonly T[]): T {
  const r = rng.next();
  return items[Math.floor(r * r * items.length)] as T;
}

// --- authentication ------------------------------------------------------------------------------------

const AUTH_OUTCOMES: ReadonlyArray<readonly [number, string, string, string]> = [
  // cumulative share, factor, result, reason
  [0.55, 'duo_push', 'success', 'user_approved'],
  [0.63, 'phone_call', 'success', 'user_approved'],
  [0.71, 'sms_passcode', 'success', 'valid_passcode'],
  [0.77, 'passcode', 'success', 'valid_passcode'],
  [0.83, 'webauthn_security_key', 'success', 'user_approved'],
  [0.89, 'remembered_device', 'success', 'remembered_device'],
  [0.95, 'duo_push', 'denied', 'user_denied'],
  [0.975, 'sms_passcode', 'denied', 'invalid_passcode'],
  [0.99, 'duo_push', 'denied', 'no_response'],
  [1, 'duo_push', 'fraud', 'user_marked_fraud'],
];

function authOutcome(rng: Rng): readonly [string, string, string] {
  const r = rng.next();
  const row = AUTH_OUTCOMES.find(([p]) => r < p) ?? (AUTH_OUTCOMES[0] as (typeof AUTH_OUTCOMES)[number]);
  return [row[1], row[2], row[3]];
}

function accessDevice(rng: Rng, user: User): Json {
  const [browser, browserVersion] = rng.pick(BROWSERS);
  const [os, osVersion] = rng.pick(SYSTEMS);
  return {
    browser,
    browser_version: browserVersion,
    flash_version: 'uninstalled',
    hostname: null,
    ip: docIp(rng),
    is_encryption_enabled: rng.pick(['true', 'false', 'unknown']),
    is_firewall_enabled: rng.pick(['true', 'false', 'unknown']),
    is_password_set: rng.pick(['true', 'unknown']),
    java_version: 'uninstalled',
    location: rng.chance(0.9) ? user.place : rng.pick(PLACES),
    os,
    os_version: osVersion,
    security_agents: 'unknown',
  };
}

/** One authentication log item (also what a trust monitor event's `surfaced_auth` holds). */
function authItem(rng: Rng, pools: Pools, tsMicros: number, txid: string | undefined): Json {
  const user = pickSkewed(rng, pools.users);
  const app = rng.pick(pools.apps);
  const [factor, result, reason] = authOutcome(rng);
  const device = accessDevice(rng, user);
  return {
    access_device: device,
    alias: rng.chance(0.1) ? user.name.split('.')[0] : '',
    application: { key: app.key, name: app.name },
    auth_device: factor === 'remembered_device' ? { ip: null, location: { city: null, country: null, state: null }, name: null } : { ip: docIp(rng), location: user.place, name: user.phone.name },
    email: user.email,
    event_type: 'authentication',
    factor,
    isotimestamp: formatTs(tsMicros),
    ood_software: null,
    reason,
    result,
    timestamp: Math.floor(tsMicros / 1_000_000),
    trusted_endpoint_status: rng.pick(['trusted', 'not trusted', 'unknown']),
    ...(txid !== undefined && { txid }),
    user: { groups: user.groups, key: user.key, name: user.name },
  };
}

// --- activity ----------------------------------------------------------------------------------------

const ACTIVITY_ACTIONS: ReadonlyArray<readonly [string, string]> = [
  // action, target type
  ['user_update', 'user'],
  ['user_create', 'user'],
  ['user_delete', 'user'],
  ['phone_create', 'phone'],
  ['phone_update', 'phone'],
  ['group_update', 'group'],
  ['integration_update', 'integration'],
  ['policy_update', 'policy'],
  ['admin_login', 'admin'],
];

function activityItem(rng: Rng, pools: Pools, tsMicros: number, id: string | undefined, akey: string): Json {
  const admin = rng.pick(pools.admins);
  const user = pickSkewed(rng, pools.users);
  const [name, targetType] = rng.pick(ACTIVITY_ACTIONS);
  const [browser, browserVersion] = rng.pick(BROWSERS);
  const [os, osVersion] = rng.pick(SYSTEMS);
  const target =
    targetType === 'user' || targetType === 'admin'
      ? { details: null, key: user.key, name: user.name, type: targetType }
      : targetType === 'phone'
        ? { details: null, key: user.phone.key, name: user.phone.name, type: 'phone' }
        : { details: null, key: duoKey(rng, targetType === 'integration' ? 'DI' : 'DG'), name: targetType === 'integration' ? rng.pick(APPS) : rng.pick(GROUPS), type: targetType };
  const details = name.endsWith('_update') ? JSON.stringify({ status: rng.pick(['active', 'bypass', 'disabled']) }) : null;
  return {
    access_device: { browser, browser_version: browserVersion, ip: { address: docIp(rng) }, location: admin.place, os, os_version: osVersion },
    action: { details, name },
    ...(id !== undefined && { activity_id: id }),
    actor: { details: JSON.stringify({ created: '2023-01-09T18:22:07+00:00', status: 'Active' }), key: admin.key, name: admin.email, type: 'admin' },
    akey,
    application: { key: pools.apps[pools.apps.length - 1]?.key ?? null, name: 'Duo Admin Panel', type: 'Admin Panel' },
    target,
    ts: formatTs(tsMicros),
  };
}

// --- trust monitor -----------------------------------------------------------------------------------

const EXPLANATIONS = ['NEW_COUNTRY_CODE', 'NEW_DEVICE', 'NEW_FACTOR', 'NEW_NETBLOCK', 'UNREALISTIC_GEOVELOCITY', 'UNUSUAL_TIME_OF_WEEK', 'USER_MARKED_FRAUD'];

function trustMonitorItem(rng: Rng, pools: Pools, tsMicros: number, sekey: string | undefined): Json {
  const surfacedMs = Math.floor(tsMicros / 1000);
  const bypass = rng.chance(0.1);
  const auth = bypass ? null : authItem(rng, pools, (surfacedMs - 1000 - rng.int(600_000)) * 1000, seededUuid(rng));
  const triaged = rng.chance(0.3);
  const triagedMs = surfacedMs + 60_000 + rng.int(3_600_000);
  const reasons = bypass ? ['BYPASS_STATUS_ENABLED'] : [rng.pick(EXPLANATIONS), ...(rng.chance(0.4) ? [rng.pick(EXPLANATIONS)] : [])];
  const priority = rng.chance(0.25);
  const user = auth?.['user'] as { name: string } | undefined;
  return {
    explanations: [...new Set(reasons)].map((type) => ({ summary: `${user?.name ?? 'a user'}: ${type.toLowerCase().replace(/_/g, ' ')}`, type })),
    from_common_netblock: rng.chance(0.6),
    from_new_user: rng.chance(0.05),
    low_risk_ip: rng.chance(0.2),
    priority_event: priority,
    priority_reasons: priority ? [{ label: rng.pick(['CN', 'RU', 'KP']), type: 'country' }] : [],
    ...(sekey !== undefined && { sekey }),
    state: triaged ? 'triaged' : 'new',
    state_updated_timestamp: triaged ? triagedMs : null,
    surfaced_auth: auth,
    surfaced_timestamp: surfacedMs,
    triage_reason: triaged ? rng.pick(['Known travel', 'New laptop', 'Investigating']) : null,
    triaged_as_interesting: triaged && rng.chance(0.3),
    triaged_timestamp: triaged ? triagedMs : null,
    type: bypass ? 'bypass_status_enabled' : 'auth',
  };
}

// --- administrator -----------------------------------------------------------------------------------

const ADMIN_ACTIONS = ['admin_login', 'admin_login', 'admin_login', 'user_update', 'user_create', 'phone_create', 'group_update', 'integration_update', 'bypass_create', 'admin_login_error'];

function administratorItem(rng: Rng, pools: Pools, tsMicros: number): Json {
  const seconds = Math.floor(tsMicros / 1_000_000);
  const admin = rng.pick(pools.admins);
  const user = pickSkewed(rng, pools.users);
  const action = rng.pick(ADMIN_ACTIONS);
  let object: string | null = user.name;
  let description: Json;
  if (action === 'admin_login' || action === 'admin_login_error') {
    object = null;
    description = { device: user.phone.name, factor: 'push', ip_address: docIp(rng), primary_auth_method: 'Password' };
    if (action === 'admin_login_error') description = { error: 'Invalid passcode', ip_address: docIp(rng) };
  } else if (action === 'user_update') {
    description = { notes: 'Asked for a nickname instead of the full name.', realname: user.name.replace('.', ' ') };
  } else if (action === 'user_create' || action === 'bypass_create') {
    description = { email: user.email, realname: user.name.replace('.', ' '), status: 'Active' };
  } else if (action === 'phone_create') {
    object = user.phone.name;
    description = { platform: 'Apple iOS', type: 'Mobile' };
  } else if (action === 'group_update') {
    object = rng.pick(GROUPS);
    description = { desc: 'members changed', name: object };
  } else {
    object = rng.pick(APPS);
    description = { name: object, type: 'Microsoft 365' };
  }
  // Duo's description is a JSON document in a string, written by Python's json.dumps: ", " and ": ".
  const text = JSON.stringify(description).replace(/","/g, '", "').replace(/":"/g, '": "');
  return { action, description: text, isotimestamp: isoSeconds(seconds), object, timestamp: seconds, username: admin.name };
}

// --- the generator -----------------------------------------------------------------------------------

/** Microseconds per unit of a stream's time: the precision its items carry. */
const TIME_UNIT_US: Readonly<Record<Exclude<StreamName, 'telephony'>, number>> = {
  authentication: 1,
  activity: 1,
  trust_monitor: 1000,
  administrator: 1_000_000,
};

const FIELD_SALT: Readonly<Record<Exclude<StreamName, 'telephony'>, number>> = {
  authentication: 0x1000,
  activity: 0x2000,
  trust_monitor: 0x3000,
  administrator: 0x4000,
};

/**
 * Events of one stream other than telephony. Times are drawn as for telephony, then cut to the
 * stream's precision (trust monitor: ms, administrator: s), so a burst fills one millisecond or one
 * second. Events of the same time are ordered by id, as the store pages them.
 */
export function generateStreamDataset(stream: Exclude<StreamName, 'telephony'>, opts: DatasetOptions): SimEvent[] {
  const background = validateDataset(opts);
  const total = opts.events;
  const timeRng = createRng(opts.seed);
  // Its own field stream per log: the same seed gives the same times, not the same ids in every log.
  const fieldRng = createRng(opts.seed + 0x5bd1e995 + FIELD_SALT[stream]);
  const arrival = arrivalsOf(opts, createRng(opts.seed + 0x1b873593), createRng(opts.seed + 0x27d4eb2f));
  const missingIdRng = createRng(opts.seed + 0x165667b1);
  const identicalRng = createRng(opts.seed + 0x3c6ef372);
  const pools = buildPools(fieldRng);
  const akey = duoKey(fieldRng, 'DA');
  const unit = TIME_UNIT_US[stream];

  const times = drawTimes(timeRng, opts, background);
  if (unit > 1) for (let k = 0; k < total; k++) times[k] = Math.floor((times[k] as number) / unit) * unit;

  const missingIdRate = opts.missingIdRate ?? 0;
  const identicalRate = opts.identicalRate ?? 0;
  const events = new Array<SimEvent>(total);
  const runIds: string[] = [];
  let i = 0;
  while (i < total) {
    const tsMicros = times[i] as number;
    const runEnd = sameTimeRun(times, i, runIds, () =>
      stream === 'trust_monitor' ? duoKey(fieldRng, 'SE') : stream === 'administrator' ? `admin-${hex8(fieldRng.u32())}${hex8(fieldRng.u32())}` : seededUuid(fieldRng),
    );
    const tsMs = Math.floor(tsMicros / 1000);
    for (let k = i; k < runEnd; k++) {
      const id = runIds[k - i] as string;
      const visibleAtMs = arrival(k, tsMs);
      if (stream === 'administrator') {
        // A copy of an earlier event of the same second: the same content, nothing to tell them apart.
        const copyOf = k > i && identicalRng.chance(identicalRate) ? (events[i + identicalRng.int(k - i)] as SimEvent) : undefined;
        const json = copyOf ? copyOf.json : JSON.stringify(administratorItem(fieldRng, pools, tsMicros));
        events[k] = { tsMicros, id, json, visibleAtMs, missingId: true };
        continue;
      }
      const missing = missingIdRng.chance(missingIdRate);
      const itemId = missing ? undefined : id;
      const item =
        stream === 'authentication'
          ? authItem(fieldRng, pools, tsMicros, itemId)
          : stream === 'activity'
            ? activityItem(fieldRng, pools, tsMicros, itemId, akey)
            : trustMonitorItem(fieldRng, pools, tsMicros, itemId);
      events[k] = missing ? { tsMicros, id, json: JSON.stringify(item), visibleAtMs, missingId: true } : { tsMicros, id, json: JSON.stringify(item), visibleAtMs };
    }
    i = runEnd;
  }
  return events;
}
