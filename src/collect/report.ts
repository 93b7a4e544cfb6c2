/** Human-readable progress and summaries for the CLI. Pure formatting. */
import type { RunProgress, RunSummary } from './run.js';

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const n = (x: number) => x.toLocaleString('en-US');

/** The one summary line printed at the end of `collect`. */
export function formatSummary(s: RunSummary): string {
  const outcome: Record<RunSummary['outcome'], string> = {
    'caught-up': 'caught up',
    'page-limit': 'stopped at the page limit (--max-pages); the next run continues',
    budget: 'stopped at the time budget (--budget-seconds); the next run continues',
    conflict: 'another run owns the window; stopped without error',
    stopped: 'stopped on request after committing the page in flight',
  };
  const position = s.checkpoint.open ? s.checkpoint.open.mintimeMs : s.checkpoint.nextMintimeMs;
  return (
    `${outcome[s.outcome]}: ${n(s.events)} events in ${n(s.objectsCreated)} new objects` +
    (s.objectsExisting ? ` (+${n(s.objectsExisting)} already written by an earlier attempt)` : '') +
    `, ${n(s.windowsClosed)} windows, ${n(s.pages)} pages, ${n(s.requests)} requests, ${n(s.retries)} retries, ${n(s.rateLimited)} × 429; ` +
    `checkpoint at ${new Date(position).toISOString()} (lag ${formatDuration(s.lagMs)}), in ${formatDuration(s.durationMs)} → ${s.sink}`
  );
}

/** A machine-readable summary (`--json`): no checkpoint internals beyond the position. */
export function summaryJson(s: RunSummary): Record<string, unknown> {
  const { checkpoint, ...rest } = s;
  return {
    ...rest,
    nextMintime: new Date(checkpoint.nextMintimeMs).toISOString(),
    openWindow: checkpoint.open
      ? { mintime: new Date(checkpoint.open.mintimeMs).toISOString(), maxtime: new Date(checkpoint.open.maxtimeMs).toISOString(), page: checkpoint.open.page }
      : null,
  };
}

/** One terminal status line: how far the backfill has come toward now. */
export function formatProgress(p: RunProgress, startedMs: number): string {
  const total = Math.max(1, p.nowMs - p.windowMintimeMs);
  const done = Math.min(1, Math.max(0, (p.positionMs - p.windowMintimeMs) / total));
  const width = 24;
  const filled = Math.round(done * width);
  const elapsedS = Math.max(0.001, (p.nowMs - startedMs) / 1000);
  return (
    `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${new Date(p.positionMs).toISOString().slice(0, 19)}Z ` +
    `(${formatDuration(p.nowMs - p.positionMs)} behind) ${n(p.pages)} pages ${n(p.events)} events ${n(Math.round(p.events / elapsedS))}/s`
  );
}
