/**
 * Learning Duo's rate limit from its answers alone (Duo publishes no number and sends no rate
 * headers: a 429 is all there is). Pure functions over a small state, so the rules can be read and
 * table-tested on a fake clock; the client's pacer applies them to each endpoint and to the
 * integration as a whole.
 *
 * The state brackets the limit: `lo`, a rate Duo accepted without a 429, and `hi`, a rate it refused.
 *
 *   - A 429 at rate r: r is too fast. `hi` becomes r; the new rate is `lo` when that is below r. At r
 *     itself accepted before (the limit fell, or jitter at the very limit) it steps down to 9/10 of r;
 *     with nothing accepted yet it halves; `lo` is forgotten then. The next request waits at least one
 *     interval of the new rate.
 *   - Good answers with a backlog (more pages are waiting), CONFIRM in a row: r is accepted (the first
 *     request after a slower one always finds a one-request bucket full). `lo` becomes r, and the rate
 *     moves up: halfway to `hi` while the bracket is wide, by PROBE_STEP once it has settled (hi within
 *     SETTLED of lo), and only every PROBE_EVERY good answers then, so a limit that stays put costs at
 *     most one 429 per PROBE_EVERY requests. Each probe accepted doubles the next step, so a limit that
 *     rose (or a pace pushed down by another client's burst) is found again in a few probes. Without a backlog nothing moves up: a collector that is
 *     caught up learns nothing by going faster.
 *   - Never above the ceiling (REQUESTS_PER_MINUTE, or 60 per endpoint for `auto`), never below FLOOR.
 *
 * Requests are spaced by the interval plus MARGIN plus the jitter measured on the way, so that they still
 * *arrive* at most at the rate: a bucket that holds one request refuses anything that arrives early.
 */

export interface RateState {
  /** The rate requests are paced at, per minute. */
  rpm: number;
  /** The highest rate Duo accepted (0: none yet). */
  lo: number;
  /** The lowest rate Duo refused with a 429 (null: none yet). */
  hi: number | null;
  /** Good answers since the rate last moved, for the settled probe. */
  good: number;
  /** Settled probes in a row that Duo accepted: each doubles the next step (a limit that rose is found fast). */
  probes: number;
}

export interface RateOptions {
  /** Never faster than this, per minute. */
  ceilingRpm: number;
}

/** Good answers in a row at a rate before it counts as accepted. */
export const CONFIRM = 2;
/** The slowest pace learning goes down to: one request per minute (Duo's own advice for logs). */
export const FLOOR_RPM = 1;
/** The bracket counts as settled when hi is within this factor of lo. */
export const SETTLED = 1.1;
/** Settled: how many good answers before the rate tries one step up. */
export const PROBE_EVERY = 20;
/** Settled: the step of the first try (then 2, 4, 8… times as far while Duo accepts them). */
export const PROBE_STEP = 1.05;
/** Spacing margin over the interval, on top of the measured jitter (see intervalMs). */
export const MARGIN = 0.01;

const clamp = (rpm: number, o: RateOptions): number => Math.min(o.ceilingRpm, Math.max(FLOOR_RPM, rpm));

/** Where a collector starts: what it learned before (if any, within the ceiling), else the ceiling. */
export function startState(o: RateOptions, learned?: Partial<RateState> | null): RateState {
  const rpm = learned?.rpm !== undefined && Number.isFinite(learned.rpm) && learned.rpm > 0 ? clamp(learned.rpm, o) : o.ceilingRpm;
  const lo = learned?.lo !== undefined && Number.isFinite(learned.lo) && learned.lo >= 0 ? Math.min(learned.lo, rpm) : 0;
  const hi = learned?.hi !== undefined && learned.hi !== null && Number.isFinite(learned.hi) && learned.hi > rpm ? learned.hi : null;
  return { rpm, lo, hi, good: 0, probes: 0 };
}

/** Duo answered 429 to a request sent at `s.rpm`. */
export function afterRateLimited(s: RateState, o: RateOptions): RateState {
  const hi = s.rpm;
  // Refused above what Duo accepted: back to that. Refused at (or below) it: the limit fell, and what
  // was accepted before says nothing any more.
  if (s.lo > 0 && s.lo < hi) return { rpm: clamp(s.lo, o), lo: s.lo, hi, good: 0, probes: 0 };
  // Refused at a rate accepted before (the limit fell, or jitter at the very limit): a step down.
  if (s.lo > 0) return { rpm: clamp(hi * STEP_DOWN, o), lo: 0, hi, good: 0, probes: 0 };
  // Nothing accepted yet: halve until Duo accepts.
  return { rpm: clamp(hi / 2, o), lo: 0, hi, good: 0, probes: 0 };
}

/** A 429 at a rate Duo accepted before: the next rate, as a share of it. */
export const STEP_DOWN = 0.9;

/** Duo answered (not a 429) a request sent at `s.rpm`; `backlog`: more pages are waiting. */
export function afterGood(s: RateState, o: RateOptions, backlog: boolean): RateState {
  const good = s.good + 1;
  // The first request after a slower one always finds the bucket full: a rate counts as accepted only
  // after CONFIRM good answers in a row at it.
  if (good < CONFIRM) return { ...s, good };
  const lo = Math.max(s.lo, s.rpm);
  if (!backlog) return { ...s, lo, good };
  if (s.hi === null) {
    // Nothing refused yet: double until Duo says no (or the ceiling).
    return s.rpm >= o.ceilingRpm ? { ...s, lo, good } : { rpm: clamp(s.rpm * 2, o), lo, hi: null, good: 0, probes: 0 };
  }
  if (s.hi > lo * SETTLED) return { rpm: clamp((lo + s.hi) / 2, o), lo, hi: s.hi, good: 0, probes: s.probes };
  // Settled: try a little faster now and then, in case the limit rose (after a storm of 429s from
  // another client of the integration, say); each probe Duo accepts doubles the next step.
  if (good < PROBE_EVERY) return { ...s, lo, good };
  const up = clamp(lo * (1 + (PROBE_STEP - 1) * 2 ** s.probes), o);
  return { rpm: up, lo, hi: up >= s.hi ? up * SETTLED : s.hi, good: 0, probes: up > lo ? s.probes + 1 : s.probes };
}

/**
 * The time between request starts at this state, in ms: the interval, MARGIN more, and `jitterMs`, how
 * much the time from sending to arriving varies (requests sent one interval apart may arrive closer).
 */
export function intervalMs(s: Pick<RateState, 'rpm'>, jitterMs = 0): number {
  return (60_000 / s.rpm) * (1 + MARGIN) + jitterMs;
}
