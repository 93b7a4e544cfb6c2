/**
 * The page reader: fetches pages of Duo's answer, and reads one page ahead while the current one is
 * written and committed, so Duo's response time overlaps the storage time. A read changes nothing, so
 * reading ahead is safe: the page read ahead is used only when the run asks for exactly that request
 * (same window, limit and cursor), and abandoned (its request aborted) otherwise. One request at a
 * time: the client's pacing holds for read-aheads too.
 */
import type { DuoPage, PageRequest } from '../duo/types.js';
import type { PageSource } from './run.js';

export interface PageReader<T> {
  /**
   * The page for `request`: the one read ahead for it (with what `prepare` made of it on arrival), or a
   * new request.
   */
  get(request: PageRequest): Promise<{ page: DuoPage; prepared?: T | undefined }>;
  /**
   * Start reading `request` now; `get` with the same request takes it. `prepare` runs as soon as it
   * arrives, while the current page is still being stored: the caller uses its result only if what it
   * was prepared for still holds.
   */
  readAhead(request: PageRequest, prepare?: (page: DuoPage) => T): void;
  /** Drop (and abort) a page read ahead. */
  abandon(): void;
}

export function createPageReader<T>(client: PageSource, hardSignal?: AbortSignal): PageReader<T> {
  let ahead: { request: PageRequest; page: Promise<{ page: DuoPage; prepared?: T | undefined }>; controller: AbortController } | undefined;

  const abandon = (): void => {
    ahead?.controller.abort();
    ahead = undefined;
  };

  return {
    async get(request) {
      const ready = ahead !== undefined && samePageRequest(ahead.request, request) ? ahead.page : undefined;
      if (!ready) abandon();
      ahead = undefined;
      return ready ?? { page: await client.getPage(request, hardSignal) };
    },
    readAhead(request, prepare) {
      abandon();
      const controller = new AbortController();
      const page = client
        .getPage(request, hardSignal ? AbortSignal.any([hardSignal, controller.signal]) : controller.signal)
        .then((p) => ({ page: p, prepared: prepare?.(p) }));
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
