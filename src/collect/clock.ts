/**
 * Duo's clock is the clock (docs/protocol.md, "Duo's clock"). Which events Duo serves depends on Duo's
 * time, not ours: a window must not be closed before Duo's own clock has passed its end plus the
 * delay, or events published within the delay after the window was paged would never be fetched. Every
 * answer carries Duo's `Date` header, in whole seconds; with the moment it arrived on this machine it
 * gives a lower bound of Duo's clock minus ours, the offset. Pure functions.
 */
import type { DuoPage } from '../duo/types.js';

/** Duo's clock minus ours as one answer shows it: a lower bound (Duo's header rounds down to the second). */
export function offsetFrom(page: Pick<DuoPage, 'serverDateMs' | 'receivedAtMs'>): number | undefined {
  if (page.serverDateMs === undefined || page.receivedAtMs === undefined) return undefined;
  return page.serverDateMs - page.receivedAtMs;
}

/** Duo's time at our `ourNowMs`, rounded down to its second: never later than Duo's clock really is. */
export function duoNowFloor(ourNowMs: number, offsetMs: number | undefined): number {
  return Math.floor((ourNowMs + (offsetMs ?? 0)) / 1000) * 1000;
}

/**
 * Duo's time when it answered this page: its `Date` header (the whole second it was in), else our
 * estimate from the offset known so far.
 */
export function duoTimeOf(page: Pick<DuoPage, 'serverDateMs' | 'receivedAtMs'>, ourNowMs: number, offsetMs: number | undefined): number {
  return page.serverDateMs ?? duoNowFloor(page.receivedAtMs ?? ourNowMs, offsetMs);
}

/**
 * A window may be closed (and a new one opened beyond it) only once Duo's clock, when it answered the
 * page that reached the end, had passed its end plus the delay: until then events of the window may
 * still be published.
 */
export function mayClose(maxtimeMs: number, duoTimeMs: number, delayMs: number): boolean {
  return maxtimeMs <= duoTimeMs - delayMs;
}
