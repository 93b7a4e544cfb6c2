/**
 * The page reader: fetches pages of Duo's answer, and reads one page ahead while the current one is
 * written and committed, so Duo's response time overlaps the storage time. A read changes nothing, so
 * reading ahead is safe: the page read ahead is used only when the run asks for exactly that request
 * (same window, limit and cursor), and abandoned (its request aborted) otherwise. One request at a
 * time: the client's pacing holds for read-aheads too.
 */
import type { PageRequest, TelephonyPage } from '../duo/types.js';
import type { PageSource } from './run.js';

export interface PageReader {
  /** The page for `request`: the one read ahead for it, or a new request. */
  get(request: PageRequest): Promise<TelephonyPage>;
  /** Start reading `request` now; `get` with the same request takes it. */
  readAhead(request: PageRequest): void;
  /** Drop (and abort) a page read ahead. */
  abandon(): void;
}

export function createPageReader(client: PageSource, hardSignal?: AbortSignal): PageReader {
  let ahead: { request: PageRequest; page: Promise<TelephonyPage>; controller: AbortController } | undefined;

  const abandon = (): void => {
    ahead?.controller.abort();
    ahead = undefined;
  };

  return {
    async get(request) {
      const ready = ahead !== undefined && samePageRequest(ahead.request, request) ? ahead.page : undefined;
      if (!ready) abandon();
      ahead = undefined;
      return ready ?? client.getTelephonyPage(request, hardSignal);
    },
    readAhead(request) {
      abandon();
      const controller = new AbortController();
      const page = client.getTelephonyPage(request, hardSignal ? AbortSignal.any([hardSignal, controller.signal]) : controller.signal);
      // Its failure is reported when the page is asked for, never as an unhandled rejection meanwhile.
      page.catch(() => {});
      ahead = { request, page, controller };
    },
    abandon,
  };
}

function samePageRequest(a: PageRequest, b: PageRequest): boolean {
  return a.mintimeMs === b.mintimeMs && a.maxtimeMs === b.maxtimeMs && a.limit === b.limit && (a.nextOffset ?? null) === (b.nextOffset ?? null);
}
