/**
 * What one page of Duo's answer does, as pure functions (docs/protocol.md, "A page"):
 *
 *   - which of its items are new and are written, and which are not: items of the window's first
 *     millisecond the previous window wrote (`skipIds`), items this window already wrote (`carry`),
 *     items Duo placed outside the window (left to the window they belong to), repeats within the page;
 *   - whether Duo's answer went back (items before the cursor the page was asked with, a cursor that
 *     moves back or comes back): then the page is refused whole and nothing of it is written;
 *   - what the window remembers for its next page: the ids to carry and the cursors followed.
 *
 * The stream's rules (streams.ts) say what an item's key and millisecond are and what a cursor says of
 * time; an opaque cursor (trust monitor) says nothing, and then only what the checks without it allow.
 *
 * Duo's cursor, `"<ts_ms>,<id>"`, names a millisecond and an item. Sources disagree on whether it names
 * the page's last item or the next page's first; both readings are accepted, because an item the next
 * page repeats is in `carry` and dropped, and an item it starts with is new.
 */
import type { DuoPage } from '../duo/types.js';
import { STREAMS, type DuoItem, type LogStream } from '../duo/streams.js';
import type { OpenWindow, SkipThrough } from '../checkpoint/codec.js';

/** What the judge needs of a stream: an item's key and time, and what a cursor says of time. */
export type StreamRules = Pick<LogStream, 'itemKeys' | 'itemMs' | 'cursorMs'>;

/** An item this page writes, with what the window must remember of it. */
export interface WrittenItem {
  key: string;
  /** Its millisecond; null when its `ts` cannot be read. */
  ms: number | null;
}

export interface PageCounts {
  /** In the window's first millisecond and already written by the previous window (or Google's guide). */
  skippedAtStart: number;
  /** Already written by an earlier page of this window (the cursor's millisecond), or twice in this page. */
  alreadyWritten: number;
  /** Outside the window (before `mintime`, after `maxtime`): left to the window they belong to. */
  outsideWindow: number;
  /** Written, but without an id (recognised by their content instead). */
  withoutId: number;
  /** Written, but with a `ts` that cannot be read. */
  withoutTs: number;
}

export type PageVerdict =
  | {
      ok: true;
      /** The new items, in the page's order: what the page's object holds. */
      write: DuoItem[];
      written: WrittenItem[];
      /** Items skipped as written by Google's guide: carried like written ones, so a repeat is dropped too. */
      writtenBefore: WrittenItem[];
      counts: PageCounts;
      /** The page ends the window: it has no items, or no cursor. */
      endOfWindow: boolean;
      /** The cursor for the next page (null at the end of the window). */
      nextCursor: string | null;
      /** `skipThrough` is done with: its item was met or passed, or its window ended (or never was). */
      skipThroughDone: boolean;
    }
  | { ok: false; problem: string };

export interface PageContext {
  open: Pick<OpenWindow, 'mintimeMs' | 'maxtimeMs' | 'nextOffset' | 'page' | 'carry' | 'cursors'>;
  /** The checkpoint's `skipIds`, which concern the millisecond `open.mintimeMs` only. */
  skipIds: readonly string[];
  skipThrough?: SkipThrough | undefined;
}

/** Judge one page of the open window; pure. */
export function judgePage(ctx: PageContext, page: Pick<DuoPage, 'items' | 'nextOffset'>, stream: StreamRules = STREAMS.telephony): PageVerdict {
  const { open } = ctx;
  const sent = open.nextOffset;
  const sentMs = stream.cursorMs(sent);
  const keys = stream.itemKeys(page.items);
  const where = `window ${iso(open.mintimeMs)} to ${iso(open.maxtimeMs)}, page ${open.page}`;
  const carried = new Set(Object.values(open.carry).flat());
  const skip = new Set(ctx.skipIds);
  const seen = new Set<string>();
  const counts: PageCounts = { skippedAtStart: 0, alreadyWritten: 0, outsideWindow: 0, withoutId: 0, withoutTs: 0 };
  const write: DuoItem[] = [];
  const written: WrittenItem[] = [];
  const writtenBefore: WrittenItem[] = [];
  // The guide's millisecond is this window's first, or it is behind us: nothing to skip then.
  let skipping = ctx.skipThrough !== undefined && ctx.skipThrough.ms === open.mintimeMs;

  for (let i = 0; i < page.items.length; i++) {
    const item = page.items[i]!;
    const ms = stream.itemMs(item);
    if (ms !== null && (ms < open.mintimeMs || ms > open.maxtimeMs)) {
      counts.outsideWindow += 1;
      continue;
    }
    // Duo serves what comes after the cursor: anything earlier means its answer went back.
    if (ms !== null && sentMs !== undefined && ms < sentMs) {
      return { ok: false, problem: `Duo's answer went back: ${where} was asked after the cursor ${sent} and holds an item of ${iso(ms)}, before it` };
    }
    const key = keys[i]!;
    if (skipping && ctx.skipThrough) {
      if (ms === ctx.skipThrough.ms) {
        counts.skippedAtStart += 1;
        writtenBefore.push({ key, ms });
        if (key === ctx.skipThrough.id) skipping = false;
        continue;
      }
      // Past the guide's millisecond without meeting its item: nothing more to skip.
      skipping = false;
    }
    if (ms === open.mintimeMs && skip.has(key)) {
      counts.skippedAtStart += 1;
      continue;
    }
    if (carried.has(key) || seen.has(key)) {
      counts.alreadyWritten += 1;
      continue;
    }
    seen.add(key);
    if (key.startsWith('sha256:')) counts.withoutId += 1;
    if (ms === null) counts.withoutTs += 1;
    write.push(item);
    written.push({ key, ms });
  }

  const endOfWindow = page.items.length === 0 || page.nextOffset === null;
  if (!endOfWindow) {
    const next = page.nextOffset as string;
    const nextMs = stream.cursorMs(next);
    if (nextMs !== undefined && sentMs !== undefined && nextMs < sentMs) {
      return { ok: false, problem: `Duo's cursor went back: ${where} was asked with ${sent} and answered ${next}, an earlier millisecond` };
    }
    if (next === sent || open.cursors.includes(next)) {
      return { ok: false, problem: `Duo's cursor came back: ${where} was asked with ${sent} and answered ${next}, a cursor this window already followed` };
    }
  }
  // Done once its item is met or passed, or once the window that starts at its millisecond ends.
  const skipThroughDone = ctx.skipThrough !== undefined && (!skipping || endOfWindow);
  return { ok: true, write, written, writtenBefore, counts, endOfWindow, nextCursor: endOfWindow ? null : page.nextOffset, skipThroughDone };
}

/**
 * The ids to carry after a page: everything this window wrote from the new cursor's millisecond on
 * (an item the next page repeats is among them), by millisecond. With a cursor that names no
 * millisecond, the items of this page only. Items without a readable `ts` are carried at the cursor's
 * millisecond, so a repeat of them is caught on the next page too.
 */
export function carryAfter(
  carry: Record<string, string[]>,
  written: readonly WrittenItem[],
  nextCursor: string | null,
  maxtimeMs: number,
  stream: Pick<StreamRules, 'cursorMs'> = STREAMS.telephony,
): Record<string, string[]> {
  const fromMs = stream.cursorMs(nextCursor);
  const out: Record<string, string[]> = {};
  const add = (ms: number, key: string): void => {
    (out[String(ms)] ??= []).push(key);
  };
  if (fromMs !== undefined) {
    // Never past the window's end: the ids of its last millisecond become the next window's skipIds.
    const floor = Math.min(fromMs, maxtimeMs);
    for (const [ms, keys] of Object.entries(carry)) if (Number(ms) >= floor) for (const k of keys) add(Number(ms), k);
    // An item before the cursor's millisecond cannot come again: a page holding one is refused.
    for (const w of written) if (w.ms === null || w.ms >= floor) add(w.ms ?? floor, w.key);
  } else {
    for (const w of written) add(w.ms ?? maxtimeMs, w.key);
  }
  for (const ms of Object.keys(out)) out[ms] = [...new Set(out[ms])];
  return out;
}

/** The cursors followed in the new cursor's millisecond, for spotting one that comes back. */
export function cursorsAfter(cursors: readonly string[], sent: string | null, next: string, stream: Pick<StreamRules, 'cursorMs'> = STREAMS.telephony): string[] {
  const nextMs = stream.cursorMs(next);
  const sentMs = stream.cursorMs(sent);
  // A cursor that names no millisecond: remember every one (they cannot be told apart by time).
  if (nextMs === undefined) return [...cursors, next];
  return nextMs === sentMs ? [...cursors, next] : [next];
}

/** The ids of the window's last millisecond it wrote: what the next window skips at its start. */
export function skipIdsAtEnd(carry: Record<string, string[]>, written: readonly WrittenItem[], maxtimeMs: number): string[] {
  const keys = [...(carry[String(maxtimeMs)] ?? []), ...written.filter((w) => w.ms === maxtimeMs).map((w) => w.key)];
  return [...new Set(keys)];
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
