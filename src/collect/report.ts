/** Human-readable progress and summaries for the CLI. Pure formatting. */
import type { RunProgress, RunSummary } from './run.js';
import { describeFailure, resultName, type CollectionSummary } from './run-streams.js';
import { formatRpm } from '../duo/pacer.js';

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
    stopped: 'stopped on request; every page written is committed',
  };
  const position = s.checkpoint.open ? s.checkpoint.open.mintimeMs : s.checkpoint.nextMintimeMs;
  return (
    `${outcome[s.outcome]}: ${plural(s.events, 'event')} in ${plural(s.objectsCreated, 'new object')}` +
    (s.objectsExisting ? ` (+${n(s.objectsExisting)} already written by an earlier attempt)` : '') +
    (s.supplements ? `, ${plural(s.supplements, 'supplement')} for events published late` : '') +
    `, ${plural(s.windowsClosed, 'window')}, ${plural(s.pages, 'page')}, ${plural(s.requests, 'request')}, ${plural(s.retries, 'retry', 'retries')}, ${n(s.rateLimited)} × 429` +
    (s.learnedRate ? `, pace ${formatRpm(s.learnedRate.endpoint.rpm)}/min` : '') +
    '; ' +
    `checkpoint at ${new Date(position).toISOString()} (lag ${formatDuration(s.lagMs)}), in ${formatDuration(s.durationMs)} → ${s.sink}` +
    (s.windowHeld ? "; the last window stays open until Duo's clock passes its end plus the delay" : '')
  );
}

/** One line per stream of a collection (named when there are several): its summary, or why it was not collected. */
export function formatCollection(c: CollectionSummary): string {
  return c.streams
    .map((r) => {
      const name = c.streams.length > 1 || r.account ? `${resultName(r)}: ` : '';
      if (r.status === 'collected') return `${name}${formatSummary(r.summary)}`;
      if (r.status === 'deferred') return `${name}not reached within the time budget (--budget-seconds); the next run starts with it`;
      const { code, message } = describeFailure(r.error);
      return r.status === 'unsupported' ? `${name}not served to this Duo account or application (${code}), left out: ${message}` : `${name}failed (${code}): ${message}`;
    })
    .join('\n');
}

/**
 * The progress of several streams collected side by side, as one: the whole backlog from the earliest
 * start, paging at the stream furthest behind, pages and events summed.
 */
export function combineProgress(byStream: ReadonlyMap<string, RunProgress>): RunProgress | undefined {
  const all = [...byStream.values()];
  if (all.length === 0) return undefined;
  return {
    fromMs: Math.min(...all.map((p) => p.fromMs)),
    toMs: Math.max(...all.map((p) => p.toMs)),
    positionMs: Math.min(...all.map((p) => p.positionMs)),
    nowMs: Math.max(...all.map((p) => p.nowMs)),
    pages: all.reduce((n, p) => n + p.pages, 0),
    events: all.reduce((n, p) => n + p.events, 0),
  };
}

/** A progress callback for several streams that hands `draw` their combined progress. */
export function onCombinedProgress(draw: (p: RunProgress) => void): (p: RunProgress & { stream: string }) => void {
  const byStream = new Map<string, RunProgress>();
  return (p) => {
    byStream.set(p.stream, p);
    const all = combineProgress(byStream);
    if (all) draw(all);
  };
}

/**
 * One terminal status line: how far the run has come through its whole backlog (from where the
 * checkpoint stood to the run's start minus the delay), fitted to `width` columns. Less important
 * parts are left out first, then the bar shrinks, so the line never wraps.
 */
export function formatProgress(p: RunProgress, startedMs: number, width = 80): string {
  const total = Math.max(1, p.toMs - p.fromMs);
  const done = Math.min(1, Math.max(0, (p.positionMs - p.fromMs) / total));
  const elapsedS = Math.max(0.001, (p.nowMs - startedMs) / 1000);
  const at = new Date(p.positionMs).toISOString();
  const parts = [
    `${Math.floor(done * 100)}%`,
    `${at.slice(0, 10)} ${at.slice(11, 16)}Z`,
    `${formatDuration(Math.max(0, p.toMs - p.positionMs))} to go`,
    `${n(p.events)} events`,
    `${plural(p.pages, 'page')}`,
    `${n(Math.round(p.events / elapsedS))}/s`,
  ];
  // One column is left free: writing the last one makes some terminals wrap.
  const room = Math.max(1, width - 1);
  for (const barWidth of [20, 10, 0]) {
    for (let keep = parts.length; keep >= 1; keep--) {
      const bar = barWidth > 0 ? `[${'#'.repeat(Math.round(done * barWidth))}${'-'.repeat(barWidth - Math.round(done * barWidth))}] ` : '';
      const line = bar + parts.slice(0, keep).join(' · ');
      if (line.length <= room) return line;
    }
  }
  return parts[0]!.slice(0, room);
}

/** `1 window`, `3 windows`, with thousands separators. */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${n(count)} ${count === 1 ? noun : nouns}`;
}
