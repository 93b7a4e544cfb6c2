/**
 * The run summary as machines read it (`collect --json`, the function's `function.finished` log line):
 * one versioned schema, one row per field. A new field is a new row (and the version stays: readers
 * ignore fields they do not know); renaming or removing a field, or changing its meaning, bumps
 * `SUMMARY_VERSION`. `docs/operations.md` prints this table (a test holds the two equal).
 */
import type { RunSummary } from './run.js';

export const SUMMARY_VERSION = 1;

/** The run's own figures, as they are; the checkpoint is shown by its position only. */
type Figures = Omit<RunSummary, 'checkpoint'>;

export interface RunSummaryJson extends Figures {
  summaryVersion: typeof SUMMARY_VERSION;
  stream: 'telephony';
  nextMintime: string;
  openWindow: { mintime: string; maxtime: string; page: number } | null;
}

/** One row per field of `RunSummaryJson`, in output order: type as JSON shows it, and meaning. */
export const SUMMARY_FIELDS: ReadonlyArray<{ name: keyof RunSummaryJson; type: string; since: number; meaning: string }> = [
  { name: 'summaryVersion', type: 'number', since: 1, meaning: 'this schema\'s version' },
  { name: 'stream', type: 'string', since: 1, meaning: 'the Duo log stream collected: `telephony`' },
  { name: 'outcome', type: 'string', since: 1, meaning: '`caught-up`, `page-limit`, `budget`, `conflict` (another run owns the window) or `stopped` (on a signal)' },
  { name: 'events', type: 'number', since: 1, meaning: 'events written by this run' },
  { name: 'objectsCreated', type: 'number', since: 1, meaning: 'objects this run created' },
  { name: 'objectsExisting', type: 'number', since: 1, meaning: 'identical objects found already written by an earlier attempt' },
  { name: 'supplements', type: 'number', since: 1, meaning: 'supplementary objects written: events Duo published inside a page after an earlier attempt wrote it' },
  { name: 'duplicatesDropped', type: 'number', since: 1, meaning: 'items not written again: the previous window or an earlier page of this one already wrote them' },
  { name: 'outsideWindow', type: 'number', since: 1, meaning: 'items Duo served outside the window asked for, left to the window they belong to' },
  { name: 'withoutId', type: 'number', since: 1, meaning: 'items written without a `telephony_id` (recognised by their content)' },
  { name: 'withoutTs', type: 'number', since: 1, meaning: 'items written with a `ts` that cannot be read' },
  { name: 'pages', type: 'number', since: 1, meaning: 'pages fetched' },
  { name: 'windowsClosed', type: 'number', since: 1, meaning: 'time windows paged to their end' },
  { name: 'windowHeld', type: 'boolean', since: 1, meaning: "the run caught up with a window Duo's clock has not passed yet (plus the delay): it stays open, and a later run closes it" },
  { name: 'clockOffsetMs', type: 'number or null', since: 1, meaning: "Duo's clock minus this machine's as Duo's answers show it, in ms (a lower bound); null when no answer said" },
  { name: 'requests', type: 'number', since: 1, meaning: 'requests sent to Duo, retries included' },
  { name: 'retries', type: 'number', since: 1, meaning: 'requests repeated after a 429, a 5xx or a network error' },
  { name: 'rateLimited', type: 'number', since: 1, meaning: '429 answers from Duo' },
  { name: 'lagMs', type: 'number', since: 1, meaning: 'how far the checkpoint is behind now, in ms' },
  { name: 'durationMs', type: 'number', since: 1, meaning: 'how long the run took, in ms' },
  { name: 'sink', type: 'string', since: 1, meaning: 'where the objects went: `gs://BUCKET/PREFIX/`, a folder, or `stdout`' },
  { name: 'checkpointLocation', type: 'string', since: 1, meaning: 'the checkpoint' },
  { name: 'nextMintime', type: 'string', since: 1, meaning: 'ISO time where the next window starts' },
  { name: 'openWindow', type: 'object or null', since: 1, meaning: 'the window still being paged: `{mintime, maxtime, page}` (ISO times, next page number)' },
];

export function summaryJson(s: RunSummary): RunSummaryJson {
  const cp = s.checkpoint;
  return {
    summaryVersion: SUMMARY_VERSION,
    stream: 'telephony',
    outcome: s.outcome,
    events: s.events,
    objectsCreated: s.objectsCreated,
    objectsExisting: s.objectsExisting,
    supplements: s.supplements,
    duplicatesDropped: s.duplicatesDropped,
    outsideWindow: s.outsideWindow,
    withoutId: s.withoutId,
    withoutTs: s.withoutTs,
    pages: s.pages,
    windowsClosed: s.windowsClosed,
    windowHeld: s.windowHeld,
    clockOffsetMs: s.clockOffsetMs,
    requests: s.requests,
    retries: s.retries,
    rateLimited: s.rateLimited,
    lagMs: s.lagMs,
    durationMs: s.durationMs,
    sink: s.sink,
    checkpointLocation: s.checkpointLocation,
    nextMintime: new Date(cp.nextMintimeMs).toISOString(),
    openWindow: cp.open ? { mintime: new Date(cp.open.mintimeMs).toISOString(), maxtime: new Date(cp.open.maxtimeMs).toISOString(), page: cp.open.page } : null,
  };
}

/** The summary's fields as a Markdown table, for docs/operations.md. */
export function summaryFieldsTable(): string {
  return ['| field | type | since | meaning |', '|---|---|---|---|', ...SUMMARY_FIELDS.map((f) => `| \`${f.name}\` | ${f.type} | ${f.since} | ${f.meaning} |`)].join('\n');
}
