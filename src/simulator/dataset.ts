/**
 * Deterministic, seeded telephony data sets for the Duo simulator.
 *
 * Pure: the same options give byte-identical events on every run, so a failing integration test or
 * benchmark can be replayed. Every item is serialised once, here, in Duo's key order; the server only
 * concatenates those strings, which is what keeps 1000-item pages from a million-event set cheap.
 */
import { createRng, type Rng } from './rng.js';

export interface DatasetOptions {
  /** Total number of events, bursts included. */
  events: number;
  seed: number;
  /** Background events are spread over [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /**
   * `count` events all inside the single millisecond `atMs` (distinct microseconds while there are
   * fewer than 1000, then repeated microseconds; ids always differ). Carved out of `events`.
   */
  bursts?: Array<{ atMs: number; count: number }>;
  /** That many events (chosen by the seed) become visible only `delayMs` after their `ts`. */
  late?: { count: number; delayMs: number };
  /**
   * Events published late by a random amount: each event, with probability `rate` (default 1),
   * becomes visible a whole number of ms after its `ts`, uniform in [0, maxDelayMs]. An event also
   * chosen by `late` arrives at the later of the two.
   */
  lateness?: { maxDelayMs: number; rate?: number };
  /**
   * Probability per event (default 0) that its item has no `telephony_id`. The simulator still pages
   * it: its `id`, which cursors name, is the simulator's own.
   */
  missingIdRate?: number;
}

export interface SimEvent {
  /** Epoch microseconds of `ts`. */
  tsMicros: number;
  /** `telephony_id`. */
  id: string;
  /** The item serialised once, Duo's key order: context, credits, phone, telephony_id, ts, txid, type. */
  json: string;
  /** Epoch ms from which the simulator serves the event (Duo's ingestion delay, late arrivals). */
  visibleAtMs: number;
  /** The item has no `telephony_id`: `id` is the simulator's own, seen only in cursors. */
  missingId?: true;
}

/** Order of every data set and of `ts:asc` pages: time, then id (code-unit order). */
export function compareEvents(a: SimEvent, b: SimEvent): number {
  return a.tsMicros - b.tsMicros || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Largest data set accepted. Each event holds ~380 bytes of heap (mostly its JSON); beyond this,
 * Node's default heap limit, not the generator, is what fails.
 */
export const MAX_DATASET_EVENTS = 5_000_000;

const HOUR_MS = 3_600_000;
const MAX_BURST_DISTINCT_MICROS = 1000;

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex8(n: number): string {
  return (HEX[(n >>> 24) & 0xff] as string) + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];
}

function hex4(n: number): string {
  return (HEX[(n >>> 8) & 0xff] as string) + HEX[n & 0xff];
}

/** A UUID v4-looking string (version nibble 4, RFC 4122 variant) drawn from the seeded generator. */
export function seededUuid(rng: Rng): string {
  const a = rng.u32();
  const b = ((rng.u32() & 0xffff0fff) | 0x00004000) >>> 0;
  const c = ((rng.u32() & 0x3fffffff) | 0x80000000) >>> 0;
  const d = rng.u32();
  return `${hex8(a)}-${hex4(b >>> 16)}-${hex4(b)}-${hex4(c >>> 16)}-${hex4(c)}${hex8(d)}`;
}

/**
 * Duo's `ts` format: `2023-03-21T22:34:49.466370+00:00`, without the fraction when it is zero
 * (docs/duo-api.md: sometimes without the fraction).
 */
export function formatTs(tsMicros: number): string {
  const seconds = Math.floor(tsMicros / 1_000_000);
  const micros = tsMicros - seconds * 1_000_000;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  return micros === 0 ? `${base}+00:00` : `${base}.${String(micros).padStart(6, '0')}+00:00`;
}

interface Phone {
  e164: string;
  international: boolean;
}

/**
 * Phone pool. Numbers come from ranges reserved for fiction where the country has one (US 555,
 * Ofcom's 07700 900xxx, ACMA's 0491 570xxx, Berlin's 030 23125xxx, ARCEP's 0639 98xxxx), so the
 * simulator never prints a real person's number.
 */
function buildPhonePool(rng: Rng, size: number): Phone[] {
  const npas = ['212', '312', '415', '617', '734', '206', '512', '303', '404', '646', '416', '604'];
  const digits = (n: number): string => String(rng.int(10 ** n)).padStart(n, '0');
  const pool: Phone[] = [];
  const seen = new Set<string>();
  while (pool.length < size) {
    const r = rng.next();
    let phone: Phone;
    if (r < 0.62) phone = { e164: `+1${rng.pick(npas)}555${digits(4)}`, international: false };
    else if (r < 0.76) phone = { e164: `+447700900${digits(3)}`, international: true };
    else if (r < 0.86) phone = { e164: `+493023125${digits(3)}`, international: true };
    else if (r < 0.94) phone = { e164: `+3363998${digits(4)}`, international: true };
    else phone = { e164: `+61491570${String(6 + rng.int(154)).padStart(3, '0')}`, international: true };
    if (seen.has(phone.e164)) continue;
    seen.add(phone.e164);
    pool.push(phone);
  }
  return pool;
}

/** Relative activity at a UTC instant: office hours in the Americas and Europe, a smaller APAC peak, quiet weekends. */
function activityRate(ms: number): number {
  const d = new Date(ms);
  const hour = d.getUTCHours() + d.getUTCMinutes() / 60;
  const circular = (center: number): number => {
    const x = Math.abs(hour - center);
    return Math.min(x, 24 - x);
  };
  const westPeak = Math.exp(-((circular(15) / 3.5) ** 2));
  const apacPeak = 0.35 * Math.exp(-((circular(2) / 3) ** 2));
  const dow = d.getUTCDay();
  return (0.12 + westPeak + apacPeak) * (dow === 0 || dow === 6 ? 0.35 : 1);
}

/** Hour-aligned segments of [fromMs, toMs) with cumulative weights, for inverse-CDF sampling. */
function buildSegments(fromMs: number, toMs: number): { starts: Float64Array; ends: Float64Array; cumulative: Float64Array } {
  const bounds: number[] = [fromMs];
  for (let t = (Math.floor(fromMs / HOUR_MS) + 1) * HOUR_MS; t < toMs; t += HOUR_MS) bounds.push(t);
  bounds.push(toMs);
  const n = bounds.length - 1;
  const starts = new Float64Array(n);
  const ends = new Float64Array(n);
  const cumulative = new Float64Array(n);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const s = bounds[i] as number;
    const e = bounds[i + 1] as number;
    starts[i] = s;
    ends[i] = e;
    total += (e - s) * activityRate((s + e) / 2);
    cumulative[i] = total;
  }
  return { starts, ends, cumulative };
}

const CONTEXTS = ['authentication', 'enrollment', 'administrator login', 'verify'] as const;
const CONTEXT_CUMULATIVE = [0.86, 0.93, 0.97, 1] as const;

function pickContext(rng: Rng): string {
  const r = rng.next();
  for (let i = 0; i < CONTEXTS.length; i++) if (r < (CONTEXT_CUMULATIVE[i] as number)) return CONTEXTS[i] as string;
  return 'authentication';
}

/** Telephony credits: calls cost more than texts, abroad more than at home, failed deliveries nothing. */
function creditsFor(rng: Rng, type: string, phone: Phone): number {
  if (rng.chance(0.03)) return 0;
  if (type === 'sms') return phone.international ? 2 : 1;
  return phone.international ? 3 : 1 + rng.int(2);
}

function assertInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`generateDataset: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function assertProbability(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`generateDataset: ${name} must be a probability in [0, 1], got ${p}`);
}

function validate(opts: DatasetOptions): number {
  assertInteger('events', opts.events, 0, MAX_DATASET_EVENTS);
  if (!Number.isFinite(opts.seed)) throw new RangeError(`generateDataset: seed must be a finite number, got ${opts.seed}`);
  assertInteger('fromMs', opts.fromMs, 0);
  assertInteger('toMs', opts.toMs, 0);
  let burstTotal = 0;
  for (const [i, b] of (opts.bursts ?? []).entries()) {
    assertInteger(`bursts[${i}].atMs`, b.atMs, 0);
    assertInteger(`bursts[${i}].count`, b.count, 0);
    burstTotal += b.count;
  }
  if (burstTotal > opts.events) {
    throw new RangeError(`generateDataset: bursts hold ${burstTotal} events but the data set has only ${opts.events}`);
  }
  const background = opts.events - burstTotal;
  if (background > 0 && opts.toMs <= opts.fromMs) {
    throw new RangeError(`generateDataset: toMs (${opts.toMs}) must be greater than fromMs (${opts.fromMs})`);
  }
  if (opts.late) {
    assertInteger('late.count', opts.late.count, 0, opts.events);
    assertInteger('late.delayMs', opts.late.delayMs, 0);
  }
  if (opts.lateness) {
    assertInteger('lateness.maxDelayMs', opts.lateness.maxDelayMs, 0);
    assertProbability('lateness.rate', opts.lateness.rate);
  }
  assertProbability('missingIdRate', opts.missingIdRate);
  return background;
}

/** Event times in microseconds, sorted: background events by activity, then the bursts. */
function drawTimes(rng: Rng, opts: DatasetOptions, background: number): Float64Array {
  const times = new Float64Array(opts.events);
  let n = 0;
  if (background > 0) {
    const { starts, ends, cumulative } = buildSegments(opts.fromMs, opts.toMs);
    const total = cumulative[cumulative.length - 1] as number;
    const last = cumulative.length - 1;
    for (let k = 0; k < background; k++) {
      const target = rng.next() * total;
      let lo = 0;
      let hi = last;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if ((cumulative[mid] as number) <= target) lo = mid + 1;
        else hi = mid;
      }
      const startUs = (starts[lo] as number) * 1000;
      const spanUs = ((ends[lo] as number) - (starts[lo] as number)) * 1000;
      times[n++] = startUs + Math.floor(rng.next53() * spanUs);
    }
  }
  const offsets = Array.from({ length: MAX_BURST_DISTINCT_MICROS }, (_, i) => i);
  for (const burst of opts.bursts ?? []) {
    // A fresh shuffle per burst: distinct microseconds first, then each one again.
    for (let i = offsets.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const t = offsets[i] as number;
      offsets[i] = offsets[j] as number;
      offsets[j] = t;
    }
    for (let k = 0; k < burst.count; k++) times[n++] = burst.atMs * 1000 + (offsets[k % MAX_BURST_DISTINCT_MICROS] as number);
  }
  times.sort();
  return times;
}

function drawLate(rng: Rng, total: number, count: number): Uint8Array {
  const late = new Uint8Array(total);
  // Rejection sampling is fine up to half; beyond it pick the ones that stay on time instead.
  const invert = count > total / 2;
  const want = invert ? total - count : count;
  if (invert) late.fill(1);
  let chosen = 0;
  while (chosen < want) {
    const i = rng.int(total);
    if ((late[i] === 1) === invert) {
      late[i] = invert ? 0 : 1;
      chosen++;
    }
  }
  return late;
}

/** How close in time two events must be to belong to the same authentication (shared txid). */
const SAME_TX_WINDOW_US = 90_000_000;

export function generateDataset(opts: DatasetOptions): SimEvent[] {
  const background = validate(opts);
  const total = opts.events;
  // Independent streams so that, e.g., adding a late count does not reshuffle every phone number.
  const timeRng = createRng(opts.seed);
  const fieldRng = createRng(opts.seed + 0x5bd1e995);
  const lateRng = createRng(opts.seed + 0x1b873593);
  const latenessRng = createRng(opts.seed + 0x27d4eb2f);
  const missingIdRng = createRng(opts.seed + 0x165667b1);

  const times = drawTimes(timeRng, opts, background);
  const late = opts.late && opts.late.count > 0 ? drawLate(lateRng, total, opts.late.count) : undefined;
  const lateDelayMs = opts.late?.delayMs ?? 0;
  const latenessRate = opts.lateness?.rate ?? 1;
  // Whole ms from 0 to maxDelayMs: the span of the draw is one more than the largest delay.
  const latenessSpan = opts.lateness && latenessRate > 0 ? opts.lateness.maxDelayMs + 1 : 0;
  const missingIdRate = opts.missingIdRate ?? 0;
  const phones = buildPhonePool(fieldRng, 600);

  const events = new Array<SimEvent>(total);
  let prevTxid = '';
  let prevPhone = phones[0] as Phone;
  let prevContext = 'authentication';
  let prevTs = -Infinity;
  let tsSecond = -1;
  let tsBase = '';
  const runIds: string[] = [];

  let i = 0;
  while (i < total) {
    const tsMicros = times[i] as number;
    let runEnd = i + 1;
    while (runEnd < total && times[runEnd] === tsMicros) runEnd++;
    // Events sharing a microsecond are ordered by id: draw the run's ids, then sort them.
    runIds.length = 0;
    for (let k = i; k < runEnd; k++) runIds.push(seededUuid(fieldRng));
    if (runIds.length > 1) runIds.sort();

    const second = Math.floor(tsMicros / 1_000_000);
    if (second !== tsSecond) {
      tsSecond = second;
      tsBase = new Date(second * 1000).toISOString().slice(0, 19);
    }
    const micros = tsMicros - second * 1_000_000;
    const ts = micros === 0 ? `${tsBase}+00:00` : `${tsBase}.${String(micros).padStart(6, '0')}+00:00`;
    const tsMs = Math.floor(tsMicros / 1000);

    for (let k = i; k < runEnd; k++) {
      const id = runIds[k - i] as string;
      let txid: string;
      let phone: Phone;
      let context: string;
      // A retried or escalated authentication (text, then a call) shares its txid and phone.
      if (tsMicros - prevTs < SAME_TX_WINDOW_US && fieldRng.chance(0.12)) {
        txid = prevTxid;
        phone = prevPhone;
        context = prevContext;
      } else {
        txid = seededUuid(fieldRng);
        // Skewed toward the start of the pool: a few people authenticate far more than the rest.
        const r = fieldRng.next();
        phone = phones[Math.floor(r * r * phones.length)] as Phone;
        context = pickContext(fieldRng);
      }
      const type = context === 'verify' || fieldRng.next() >= 0.27 ? 'sms' : 'phone';
      const credits = creditsFor(fieldRng, type, phone);
      let visibleAtMs = late !== undefined && late[k] === 1 ? tsMs + lateDelayMs : tsMs;
      if (latenessSpan > 0 && latenessRng.chance(latenessRate)) visibleAtMs = Math.max(visibleAtMs, tsMs + Math.floor(latenessRng.next53() * latenessSpan));
      if (missingIdRng.chance(missingIdRate)) {
        const json = `{"context":"${context}","credits":${credits},"phone":"${phone.e164}","ts":"${ts}","txid":"${txid}","type":"${type}"}`;
        events[k] = { tsMicros, id, json, visibleAtMs, missingId: true };
      } else {
        const json = `{"context":"${context}","credits":${credits},"phone":"${phone.e164}","telephony_id":"${id}","ts":"${ts}","txid":"${txid}","type":"${type}"}`;
        // Slicing the id out of the item flattens `json` and shares its memory instead of keeping two copies.
        const idStart = json.indexOf('"telephony_id":"') + 16;
        events[k] = { tsMicros, id: json.slice(idStart, idStart + id.length), json, visibleAtMs };
      }
      prevTxid = txid;
      prevPhone = phone;
      prevContext = context;
      prevTs = tsMicros;
    }
    i = runEnd;
  }
  return events;
}

export interface SimEventFields {
  tsMicros: number;
  id: string;
  /** Default: the millisecond of `ts` (visible as soon as it happened). */
  visibleAtMs?: number;
  context?: string;
  credits?: number;
  phone?: string;
  txid?: string;
  type?: string;
  /** Fields Duo might add later: appended after the known ones, so parsers meet unknown keys. */
  extra?: Record<string, unknown>;
  /** Leave `telephony_id` out of the item; `id` still orders the event and names it in cursors. */
  missingId?: boolean;
}

/** One hand-made event (a test adding a late or odd event to a running simulator). */
export function createSimEvent(f: SimEventFields): SimEvent {
  const item = {
    context: f.context ?? 'authentication',
    credits: f.credits ?? 1,
    phone: f.phone ?? '+12125550100',
    ...(f.missingId !== true && { telephony_id: f.id }),
    ts: formatTs(f.tsMicros),
    txid: f.txid ?? f.id,
    type: f.type ?? 'sms',
    ...f.extra,
  };
  const event: SimEvent = { tsMicros: f.tsMicros, id: f.id, json: JSON.stringify(item), visibleAtMs: f.visibleAtMs ?? Math.floor(f.tsMicros / 1000) };
  if (f.missingId === true) event.missingId = true;
  return event;
}
