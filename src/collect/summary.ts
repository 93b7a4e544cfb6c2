/**
 * The run summary as machines read it (`collect --json`, the function's `function.finished` log line):
 * one versioned schema, one row per field. A new field is a new row (and the version stays: readers
 * ignore fields they do not know); renaming or removing a field, or changing its meaning, bumps
 * `SUMMARY_VERSION`. `docs/operations.md` prints this table (a test holds the two equal).
 */
import type { RunSummary } from './run.js';
import type { StreamName } from '../duo/streams.js';
import { collectionEvents, collectionOutcome, describeFailure, type CollectionSummary, type StreamResult } from './run-streams.js';

/** 2: one object per collection, with one entry per stream in `streams` (1 described one telephony run). */
export const SUMMARY_VERSION = 2;

/** The run's own figures, as they are; the checkpoint is shown by its position only. */
type Figures = Omit<RunSummary, 'checkpoint' | 'stream'>;

/** Accounts mode: the child account an entry of `streams` belongs to. */
interface AccountFields {
  accountId?: string;
  accountName?: string;
}

/** One stream of the collection. */
export interface RunSummaryJson extends Figures, AccountFields {
  stream: StreamName;
  status: 'collected';
  nextMintime: string;
  openWindow: { mintime: string; maxtime: string; page: number } | null;
}

/** A stream Duo does not serve to this account, or that failed: what went wrong instead of figures. */
export interface StreamProblemJson extends AccountFields {
  stream: StreamName;
  status: 'unsupported' | 'failed' | 'deferred';
  /** Not for `deferred`. */
  error?: { code: string; message: string };
}

export interface CollectionSummaryJson {
  summaryVersion: typeof SUMMARY_VERSION;
  outcome: ReturnType<typeof collectionOutcome>;
  events: number;
  durationMs: number;
  streams: Array<RunSummaryJson | StreamProblemJson>;
}

type FieldName = keyof CollectionSummaryJson | `streams[].${keyof RunSummaryJson | keyof StreamProblemJson}`;

/** One row per field, in output order: the collection's, then each stream's (`streams[].…`). */
export const SUMMARY_FIELDS: ReadonlyArray<{ name: FieldName; type: string; since: number; meaning: string }> = [
  { name: 'summaryVersion', type: 'number', since: 1, meaning: "this schema's version" },
  { name: 'outcome', type: 'string', since: 2, meaning: '`failed` if a stream failed, `stopped` if one stopped on a signal, else the first stream outcome that is not `caught-up`, else `caught-up`' },
  { name: 'events', type: 'number', since: 2, meaning: 'events written by every stream of this collection' },
  { name: 'durationMs', type: 'number', since: 1, meaning: 'how long the collection took, in ms' },
  { name: 'streams', type: 'array', since: 2, meaning: 'one object per selected stream, in the order of DUO_LOGS in the stream table' },
  { name: 'streams[].stream', type: 'string', since: 1, meaning: 'the Duo log stream: `telephony`, `authentication`, `activity`, `trust_monitor` or `administrator`' },
  { name: 'streams[].status', type: 'string', since: 2, meaning: '`collected` (the figures below follow), `unsupported` (Duo does not serve it to this account: 403 or 404 while it serves another stream), `failed`, or `deferred` (accounts mode: the time budget ran out before this account; the next run starts with it); `unsupported` and `failed` carry `error` instead of figures' },
  { name: 'streams[].accountId', type: 'string', since: 2, meaning: 'accounts mode only: the child account (`DUO_ACCOUNTS`) this entry belongs to; there is one entry per account and stream' },
  { name: 'streams[].accountName', type: 'string', since: 2, meaning: "accounts mode only: that account's name as Duo's Accounts API gives it" },
  { name: 'streams[].error', type: 'object', since: 2, meaning: 'unsupported or failed only: `{code, message}`, the code from the error-code table' },
  { name: 'streams[].outcome', type: 'string', since: 1, meaning: '`caught-up`, `page-limit`, `budget`, `conflict` (another run owns the window) or `stopped` (on a signal)' },
  { name: 'streams[].events', type: 'number', since: 1, meaning: 'events written by this run' },
  { name: 'streams[].objectsCreated', type: 'number', since: 1, meaning: 'objects this run created' },
  { name: 'streams[].objectsExisting', type: 'number', since: 1, meaning: 'identical objects found already written by an earlier attempt' },
  { name: 'streams[].supplements', type: 'number', since: 1, meaning: 'supplementary objects written: events Duo published inside a page after an earlier attempt wrote it' },
  { name: 'streams[].duplicatesDropped', type: 'number', since: 1, meaning: 'items not written again: the previous window or an earlier page of this one already wrote them' },
  { name: 'streams[].outsideWindow', type: 'number', since: 1, meaning: 'items Duo served outside the window asked for, left to the window they belong to' },
  { name: 'streams[].withoutId', type: 'number', since: 1, meaning: "items written without the stream's id (recognised by their content; every administrator event)" },
  { name: 'streams[].withoutTs', type: 'number', since: 1, meaning: 'items written with a time that cannot be read' },
  { name: 'streams[].pages', type: 'number', since: 1, meaning: 'pages fetched' },
  { name: 'streams[].windowsClosed', type: 'number', since: 1, meaning: 'time windows paged to their end' },
  { name: 'streams[].windowHeld', type: 'boolean', since: 1, meaning: "the run caught up with a window Duo's clock has not passed yet (plus the delay): it stays open, and a later run closes it" },
  { name: 'streams[].clockOffsetMs', type: 'number or null', since: 1, meaning: "Duo's clock minus this machine's as Duo's answers show it, in ms (a lower bound); null when no answer said" },
  { name: 'streams[].requests', type: 'number', since: 1, meaning: "requests sent to this stream's endpoint, retries included" },
  { name: 'streams[].retries', type: 'number', since: 1, meaning: 'requests repeated after a 429, a 5xx or a network error' },
  { name: 'streams[].rateLimited', type: 'number', since: 1, meaning: '429 answers from Duo' },
  {
    name: 'streams[].learnedRate',
    type: 'object or null',
    since: 2,
    meaning: "the pace at the end of the run, learned from Duo's 429s: `{endpoint, integration}`, each `{rpm, lo, hi}` (requests per minute paced at, the fastest Duo accepted, the slowest it refused or null), as the checkpoint keeps it; null when pacing is off",
  },
  { name: 'streams[].lagMs', type: 'number', since: 1, meaning: 'how far the checkpoint is behind now, in ms' },
  { name: 'streams[].durationMs', type: 'number', since: 1, meaning: "how long the stream's run took, in ms" },
  { name: 'streams[].sink', type: 'string', since: 1, meaning: 'where the objects went: `gs://BUCKET/PREFIX/`, a folder, or `stdout`' },
  { name: 'streams[].checkpointLocation', type: 'string', since: 1, meaning: 'the checkpoint' },
  { name: 'streams[].nextMintime', type: 'string', since: 1, meaning: 'ISO time where the next window starts' },
  { name: 'streams[].openWindow', type: 'object or null', since: 1, meaning: 'the window still being paged: `{mintime, maxtime, page}` (ISO times, next page number)' },
];

/** The collection as one JSON object (`collect --json`, the function's `function.finished` line). */
export function collectionJson(c: CollectionSummary): CollectionSummaryJson {
  return {
    summaryVersion: SUMMARY_VERSION,
    outcome: collectionOutcome(c),
    events: collectionEvents(c),
    durationMs: c.durationMs,
    streams: c.streams.map(streamJson),
  };
}

function streamJson(r: StreamResult): RunSummaryJson | StreamProblemJson {
  const account: AccountFields = r.account ? { accountId: r.account.id, accountName: r.account.name } : {};
  if (r.status === 'collected') {
    const { stream, status, ...figures } = summaryJson(r.summary);
    return { stream, status, ...account, ...figures };
  }
  if (r.status === 'deferred') return { stream: r.stream, status: r.status, ...account };
  return { stream: r.stream, status: r.status, ...account, error: describeFailure(r.error) };
}

/** One stream's run, as its entry in `streams`. */
export function summaryJson(s: RunSummary): RunSummaryJson {
  const cp = s.checkpoint;
  return {
    stream: s.stream,
    status: 'collected',
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
    learnedRate: s.learnedRate,
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
