/**
 * The simulator's clock: what it decides by time (the 180-day rule, the Date header and its skew
 * check, which events are visible yet) reads `now()` from here. By default it runs with real time,
 * or at a fixed offset from it (a Duo whose clock is off from ours); a test can freeze it, move it
 * forward or set it, so late events and ingestion delays need no real waiting. Pacing stays on real elapsed time (the token bucket, the `delayMs` fault): those model the
 * network, and a frozen clock must not hold a request forever.
 */

export interface SimClock {
  /** Simulator time, epoch ms. */
  now(): number;
  /** Whether time stands still (after `freeze`, until `resume`). */
  readonly frozen: boolean;
  /** Stop time at `atMs` (default: the current simulator time). */
  freeze(atMs?: number): void;
  /** Move time forward by `ms` (>= 0), frozen or running. */
  advance(ms: number): void;
  /** Jump to `ms` (backwards too), staying frozen or running. */
  set(ms: number): void;
  /** Run again at real speed from the current simulator time. */
  resume(): void;
  /** Run at real time plus `ms` (negative: behind), from now on; a frozen clock runs again. */
  setOffset(ms: number): void;
}

export interface SimClockOptions {
  /** Real time, epoch ms (default Date.now). A running clock is this plus an offset. */
  source?: () => number;
  /** Start frozen at this instant instead of running. */
  frozenAtMs?: number;
  /** Run this far ahead of real time (negative: behind), as a Duo whose clock is off. Default 0. */
  offsetMs?: number;
}

function assertFinite(what: string, ms: number): void {
  if (!Number.isFinite(ms)) throw new RangeError(`simulator clock: ${what} must be a finite number of ms, got ${ms}`);
}

export function createSimClock(opts: SimClockOptions = {}): SimClock {
  const source = opts.source ?? Date.now;
  /** Running: simulator time is source() + offsetMs. */
  let offsetMs = 0;
  /** Frozen: simulator time is frozenAtMs. */
  let frozenAtMs: number | null = null;
  if (opts.frozenAtMs !== undefined && opts.offsetMs !== undefined) {
    throw new RangeError('simulator clock: give either frozenAtMs or offsetMs, not both (a frozen clock has no offset from real time)');
  }
  if (opts.frozenAtMs !== undefined) {
    assertFinite('frozenAtMs', opts.frozenAtMs);
    frozenAtMs = opts.frozenAtMs;
  }
  if (opts.offsetMs !== undefined) {
    assertFinite('offsetMs', opts.offsetMs);
    offsetMs = opts.offsetMs;
  }

  const now = (): number => frozenAtMs ?? source() + offsetMs;
  return {
    now,
    get frozen() {
      return frozenAtMs !== null;
    },
    freeze(atMs?: number) {
      if (atMs !== undefined) assertFinite('freeze(atMs)', atMs);
      frozenAtMs = atMs ?? now();
    },
    advance(ms: number) {
      assertFinite('advance(ms)', ms);
      if (ms < 0) throw new RangeError(`simulator clock: advance(ms) only moves forward, got ${ms}; use set() to go back`);
      if (frozenAtMs !== null) frozenAtMs += ms;
      else offsetMs += ms;
    },
    set(ms: number) {
      assertFinite('set(ms)', ms);
      if (frozenAtMs !== null) frozenAtMs = ms;
      else offsetMs = ms - source();
    },
    resume() {
      if (frozenAtMs === null) return;
      offsetMs = frozenAtMs - source();
      frozenAtMs = null;
    },
    setOffset(ms: number) {
      assertFinite('setOffset(ms)', ms);
      offsetMs = ms;
      frozenAtMs = null;
    },
  };
}
