/**
 * What every seeded data set shares, whatever its stream: the options, the event record, the
 * validation of the options, and the draws of event times (office hours, bursts) and of late arrival.
 * Item shapes are in dataset.ts (telephony) and stream-data.ts (the other streams).
 */
import type { StreamName } from '../duo/streams.js';
import type { Rng } from './rng.js';

export interface DatasetOptions {
  /** Which log the events are items of (default telephony): each stream has its own item shape. */
  stream?: StreamName;
  /** Total number of events, bursts included. */
  events: number;
  seed: number;
  /** Background events are spread over [fromMs, toMs). */
  fromMs: number;
  toMs: number;
  /**
   * `count` events all inside the single millisecond `atMs` (distinct microseconds while there are
   * fewer than 1000, then repeated microseconds; ids always differ). Carved out of `events`. For the
   * administrator log, whose times are whole seconds, the burst fills the second of `atMs`; for the
   * trust monitor, whose times are whole ms, every event of it has the time `atMs`.
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
  /**
   * Administrator log only: probability per event that shares its second with earlier ones that it
   * is an exact copy of one of those (same content, same second), as Duo's log may hold. Default 0.
   */
  identicalRate?: number;
}

export interface SimEvent {
  /**
   * Epoch microseconds of the item's time: `ts` (telephony, activity), `isotimestamp`
   * (authentication), `surfaced_timestamp` * 1000 (trust monitor), `timestamp` * 1e6 (administrator).
   */
  tsMicros: number;
  /**
   * The item's id (`telephony_id`, `txid`, `activity_id`, `sekey`), which orders events of the same
   * time and names an event in cursors; for the administrator log, which has none, the simulator's own.
   */
  id: string;
  /**
   * The item serialised once, in Duo's key order (telephony: context, credits, phone, telephony_id,
   * ts, txid, type; the other streams: keys sorted, as Duo's JSON is).
   */
  json: string;
  /** Epoch ms from which the simulator serves the event (Duo's ingestion delay, late arrivals). */
  visibleAtMs: number;
  /** The item has no id field (always so in the administrator log): `id` is the simulator's own, seen only in cursors. */
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

export function hex8(n: number): string {
  return (HEX[(n >>> 24) & 0xff] as string) + HEX[(n >>> 16) & 0xff] + HEX[(n >>> 8) & 0xff] + HEX[n & 0xff];
}

export function hex4(n: number): string {
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

function assertInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`generateDataset: ${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function assertProbability(name: string, p: number | undefined): void {
  if (p !== undefined && !(p >= 0 && p <= 1)) throw new RangeError(`generateDataset: ${name} must be a probability in [0, 1], got ${p}`);
}

/** Checks the options (a RangeError naming the first bad one); returns how many events are not in a burst. */
export function validateDataset(opts: DatasetOptions): number {
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
  assertProbability('identicalRate', opts.identicalRate);
  if ((opts.identicalRate ?? 0) > 0 && opts.stream !== 'administrator') {
    throw new RangeError(`generateDataset: identicalRate applies to the administrator log only (its items have no id), not to ${opts.stream ?? 'telephony'}`);
  }
  return background;
}

/** Event times in microseconds, sorted: background events by activity, then the bursts. */
export function drawTimes(rng: Rng, opts: DatasetOptions, background: number): Float64Array {
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

export function drawLate(rng: Rng, total: number, count: number): Uint8Array {
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

/**
 * When each event becomes visible, as `(index, tsMs) → visibleAtMs`: at its time, or later for the
 * events chosen by `late` (a fixed delay) and `lateness` (a random one; the later of the two wins).
 * Draws from its own streams, so switching lateness on moves no item field.
 */
export function arrivalsOf(opts: DatasetOptions, lateRng: Rng, latenessRng: Rng): (index: number, tsMs: number) => number {
  const late = opts.late && opts.late.count > 0 ? drawLate(lateRng, opts.events, opts.late.count) : undefined;
  const lateDelayMs = opts.late?.delayMs ?? 0;
  const latenessRate = opts.lateness?.rate ?? 1;
  // Whole ms from 0 to maxDelayMs: the span of the draw is one more than the largest delay.
  const latenessSpan = opts.lateness && latenessRate > 0 ? opts.lateness.maxDelayMs + 1 : 0;
  return (index, tsMs) => {
    let visibleAtMs = late !== undefined && late[index] === 1 ? tsMs + lateDelayMs : tsMs;
    if (latenessSpan > 0 && latenessRng.chance(latenessRate)) visibleAtMs = Math.max(visibleAtMs, tsMs + Math.floor(latenessRng.next53() * latenessSpan));
    return visibleAtMs;
  };
}

/**
 * The events from `i` that share its time (`times` is sorted): where that run ends, and ids drawn for
 * it in sorted order, since Duo orders events of one time by id. `ids` is reused across calls.
 */
export function sameTimeRun(times: Float64Array, i: number, ids: string[], draw: () => string): number {
  const t = times[i];
  let end = i + 1;
  while (end < times.length && times[end] === t) end++;
  ids.length = 0;
  for (let k = i; k < end; k++) ids.push(draw());
  if (ids.length > 1) ids.sort();
  return end;
}
