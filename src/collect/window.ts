/** Pure window arithmetic (docs/protocol.md, opening a window). All times are epoch milliseconds. */
import { splitCursor } from '../duo/types.js';

export const DAY_MS = 86_400_000;
/** Duo refuses a mintime older than this. */
export const DUO_RETENTION_MS = 180 * DAY_MS;
/** How far back a window may start: a day inside Duo's retention leaves room for clock differences. */
export const MAX_AGE_MS = 179 * DAY_MS;

/**
 * Why an open window that has aged past Duo's retention cannot go on, and the `state reset` that
 * carries on from it. Not done automatically: whichever time is chosen, the operator decides between
 * re-delivering a millisecond's events and skipping logs Duo no longer has.
 */
export function staleWindowAdvice(open: { mintimeMs: number; nextOffset: string | null }, nowMs: number): string {
  // The oldest time `state reset` accepts, plus an hour to run it in, on a whole hour.
  const floor = Math.ceil((nowMs - MAX_AGE_MS + 3_600_000) / 3_600_000) * 3_600_000;
  const cursorMs = open.nextOffset === null ? NaN : splitCursor(open.nextOffset).ms;
  const fromCursor = Number.isFinite(cursorMs) && cursorMs >= floor;
  const to = new Date(fromCursor ? cursorMs : floor).toISOString();
  return (
    `the open window starts at ${new Date(open.mintimeMs).toISOString()}, more than 180 days ago, and Duo serves nothing older ` +
    `(the collector was stopped that long in the middle of a window). To carry on, run \`duo-secops state reset --to ${to} --yes\` ` +
    `with the same settings: ${
      fromCursor
        ? 'that is where paging stopped; everything before it is written, and the events of that one millisecond already written are delivered again'
        : 'the oldest time Duo still serves; logs between the window start and then are no longer available from Duo'
    }`
  );
}

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
