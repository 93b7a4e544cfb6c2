/** Pure window arithmetic (design.md section 3, step 2). All times are epoch milliseconds. */

export const DAY_MS = 86_400_000;
/** Duo refuses a mintime older than 180 days; 179 leaves room for clock differences. */
export const MAX_AGE_MS = 179 * DAY_MS;

export interface WindowLimits {
  delayMs: number;
  windowMaxMs: number;
}

export interface WindowBounds {
  mintimeMs: number;
  maxtimeMs: number;
  /** How much older than Duo's retention the checkpoint was (events there are gone). 0 normally. */
  skippedMs: number;
}

/**
 * The next window starting at `nextMintimeMs`, or null when there is nothing to ask for yet
 * (`maxtime <= mintime`). The start is clamped to Duo's retention; the end to `now - delay` and
 * to the largest window.
 */
export function computeWindow(nextMintimeMs: number, nowMs: number, limits: WindowLimits): WindowBounds | null {
  const oldest = nowMs - MAX_AGE_MS;
  const mintimeMs = Math.max(nextMintimeMs, oldest);
  const maxtimeMs = Math.min(Math.floor(nowMs - limits.delayMs), mintimeMs + Math.max(1, Math.floor(limits.windowMaxMs)));
  if (maxtimeMs <= mintimeMs) return null;
  return { mintimeMs, maxtimeMs, skippedMs: mintimeMs - nextMintimeMs };
}
