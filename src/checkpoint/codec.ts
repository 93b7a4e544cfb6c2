/**
 * The checkpoint document (docs/checkpoint.md): parse, validate, migrate, serialise. Pure.
 *
 * The version rule (CHECKPOINT_FIELDS below is the one place it is written down):
 *   - a field that changes what gets delivered (which events, under which object names) comes with a
 *     new `version`; a collector refuses a document whose version is above its own, because carrying on
 *     without understanding that field could skip or repeat events;
 *   - an advisory field (e.g. a clock offset learned from Duo, a learned request rate) leaves `version`
 *     alone: a collector that does not know it still delivers exactly the same events;
 *   - fields this collector does not know are kept: `parseCheckpoint` returns them with the known ones
 *     (top level and inside `open`), the run loop's spreads (`{ ...cp, open: { ...open, … } }`) carry
 *     them, and `serializeCheckpoint` writes them back. So an older collector that takes over from a
 *     newer one does not erase what the newer one learned.
 *
 * `parseStoredCheckpoint` applies everything a store reported along with the bytes: the previous
 * generation to offer when the newest cannot be used, and a hand-edited copy to refuse.
 */
import { z } from 'zod';
import { CheckpointError } from '../errors.js';
import { splitCursor } from '../duo/types.js';
import type { PreviousCheckpoint, StoredCheckpoint } from './types.js';
import type { LearnedRates } from '../duo/pacer.js';

/** The newest document version this collector understands, and the one it writes. */
export const CHECKPOINT_VERSION = 2;

export interface CheckpointField {
  /** Path in the document (`open.page`). */
  name: string;
  /** The document version that introduced it. */
  sinceVersion: number;
  /** It changes what gets delivered: introducing it bumped `version` (see the version rule above). */
  changesDelivery: boolean;
  meaning: string;
}

/**
 * Every field of the document, one row each. Adding a field means adding a row: a field with
 * `changesDelivery: true` has `sinceVersion: CHECKPOINT_VERSION + 1` and bumps CHECKPOINT_VERSION (with a
 * migration of the older versions); an advisory one keeps the current version. The unit tests hold this
 * table, the schema and CHECKPOINT_VERSION to each other.
 */
export const CHECKPOINT_FIELDS: readonly CheckpointField[] = [
  { name: 'version', sinceVersion: 1, changesDelivery: true, meaning: 'format of the document; a collector refuses a version above its own' },
  { name: 'source', sinceVersion: 1, changesDelivery: true, meaning: 'the Duo log this checkpoint follows: `telephony`' },
  { name: 'nextMintimeMs', sinceVersion: 1, changesDelivery: true, meaning: 'start of the next window, inclusive, in epoch milliseconds' },
  { name: 'skipIds', sinceVersion: 2, changesDelivery: true, meaning: 'ids to skip at the window start: items of the millisecond `nextMintimeMs` the previous window already wrote (`boundaryIds` in version 1)' },
  { name: 'skipThrough', sinceVersion: 2, changesDelivery: true, meaning: "carried on from Google's guide: `{ms, id}`, skip the items of that millisecond up to and including that id, which the guide wrote" },
  { name: 'open', sinceVersion: 1, changesDelivery: true, meaning: 'the window being paged, or null between windows' },
  { name: 'open.mintimeMs', sinceVersion: 1, changesDelivery: true, meaning: "the open window's `mintime` (inclusive), epoch ms" },
  { name: 'open.maxtimeMs', sinceVersion: 1, changesDelivery: true, meaning: "the open window's `maxtime`, epoch ms; the next window starts here" },
  { name: 'open.nextOffset', sinceVersion: 1, changesDelivery: true, meaning: "Duo's cursor for the next page; null before the first page" },
  { name: 'open.page', sinceVersion: 1, changesDelivery: true, meaning: 'number of the next page, from 1; part of its object name' },
  { name: 'open.limit', sinceVersion: 1, changesDelivery: true, meaning: 'items per request, fixed when the window opened so page names never shift' },
  { name: 'open.carry', sinceVersion: 2, changesDelivery: true, meaning: "ids to carry: the items written in this window from the cursor's millisecond on, by millisecond; a later page drops them, and at the window's end those of `maxtimeMs` become the next window's `skipIds`" },
  { name: 'open.cursors', sinceVersion: 2, changesDelivery: true, meaning: "the cursors already followed in this window in the current cursor's millisecond: one of them coming back is a loop" },
  { name: 'updatedAt', sinceVersion: 1, changesDelivery: false, meaning: 'when the checkpoint was last committed (ISO 8601); for people' },
  { name: 'migratedFrom', sinceVersion: 1, changesDelivery: false, meaning: "set once when the checkpoint was carried on from the guide's `state.json`" },
  { name: 'collectedFromMs', sinceVersion: 1, changesDelivery: false, meaning: 'where collection into this store began (the first run, or the last `state reset`), epoch ms; absent when unknown' },
  { name: 'clockOffsetMs', sinceVersion: 2, changesDelivery: false, meaning: "Duo's clock minus this machine's, as last seen in Duo's `Date` header (a lower bound, in ms): where the next run's windows end before it hears from Duo" },
  { name: 'learnedRate', sinceVersion: 2, changesDelivery: false, meaning: "the pace learned from Duo's 429s, for this stream's endpoint and for the integration: `{endpoint, integration}`, each `{rpm, lo, hi}` (the pace, the fastest rate Duo accepted, the slowest it refused or null); the next run starts from it" },
];

export interface OpenWindow {
  mintimeMs: number;
  maxtimeMs: number;
  /** Cursor for the next page; null before the first page. */
  nextOffset: string | null;
  /** 1-based number of the next page to fetch (names its object). */
  page: number;
  /** Items per request, fixed when the window opened so page names never shift. */
  limit: number;
  /** Ids to carry: the items written in this window from the cursor's millisecond on, keyed by millisecond. */
  carry: Record<string, string[]>;
  /** Cursors already followed in this window, in the millisecond of `nextOffset`. */
  cursors: string[];
}

/** Where a checkpoint carried on from Google's guide stopped: its cursor's item, which the guide wrote. */
export interface SkipThrough {
  ms: number;
  id: string;
}

/**
 * The document, as CHECKPOINT_FIELDS describes it. A parsed Checkpoint (and its `open`) also carries,
 * at run time, the fields this collector does not know; spread it to change a field so they are kept.
 */
export interface Checkpoint {
  version: 2;
  source: 'telephony';
  /** Start of the next window (inclusive). */
  nextMintimeMs: number;
  /** Ids to skip at the window start: written at the millisecond `nextMintimeMs` by the previous window. */
  skipIds: string[];
  /** From Google's guide: skip the items of `ms` up to and including `id`. */
  skipThrough?: SkipThrough | undefined;
  open: OpenWindow | null;
  updatedAt: string;
  /** Set once when the state came from Google's guide (`{last_offset,last_timestamp_ms}`). */
  migratedFrom?: string | undefined;
  /** Where collection into this store began (advisory: for messages about LOOKBACK_HOURS). */
  collectedFromMs?: number | undefined;
  /** Duo's clock minus ours, a lower bound in ms, as last seen (advisory). */
  clockOffsetMs?: number | undefined;
  /** The pace learned for this endpoint and the integration (advisory). */
  learnedRate?: LearnedRates | undefined;
}

/** Anything before 2001-09-09 in ms has at most 12 digits: a 10-digit value is seconds. */
const MIN_PLAUSIBLE_MS = 100_000_000_000;

const RESET = '`duo-secops state reset --to <ISO time> --yes`';

function msField(name: string) {
  return z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number of milliseconds`)
    .refine((v) => v >= MIN_PLAUSIBLE_MS, {
      error: (iss) => `${name}=${String(iss.input)} has ${String(iss.input).length} digits: it looks like epoch seconds, not milliseconds`,
    });
}

const rateSchema = z.object({ rpm: z.number().positive(), lo: z.number().nonnegative(), hi: z.number().positive().nullable() });
/** Advice, not protocol: a value this collector cannot read is dropped (`.catch` below), never refused. */
const learnedRatesSchema = z.looseObject({ endpoint: rateSchema, integration: rateSchema });

// Loose: fields this collector does not know are kept (see the version rule above).
const openSchema = z.looseObject({
  mintimeMs: msField('open.mintimeMs'),
  maxtimeMs: msField('open.maxtimeMs'),
  nextOffset: z.string().min(1).nullable(),
  page: z.number().int().min(1),
  limit: z.number().int().min(1).max(1000),
  carry: z.record(z.string().regex(/^\d+$/, 'open.carry keys must be epoch milliseconds'), z.array(z.string())),
  cursors: z.array(z.string()),
});

const v2Schema = z.looseObject({
  version: z.literal(2),
  source: z.literal('telephony'),
  nextMintimeMs: msField('nextMintimeMs'),
  skipIds: z.array(z.string()),
  skipThrough: z.object({ ms: msField('skipThrough.ms'), id: z.string().min(1) }).optional(),
  open: openSchema.nullable(),
  updatedAt: z.string(),
  migratedFrom: z.string().optional(),
  collectedFromMs: msField('collectedFromMs').optional(),
  clockOffsetMs: z.number().int().optional(),
  learnedRate: learnedRatesSchema.optional().catch(undefined),
});

/** Version 1, read and migrated: its `boundaryIds` are version 2's `skipIds` and `open.carry`. */
const v1OpenSchema = z.looseObject({
  mintimeMs: msField('open.mintimeMs'),
  maxtimeMs: msField('open.maxtimeMs'),
  nextOffset: z.string().min(1).nullable(),
  page: z.number().int().min(1),
  limit: z.number().int().min(1).max(1000),
  boundaryIds: z.array(z.string()).default([]),
});
const v1Schema = z.looseObject({
  version: z.literal(1),
  source: z.literal('telephony'),
  nextMintimeMs: msField('nextMintimeMs'),
  boundaryIds: z.array(z.string()),
  open: v1OpenSchema.nullable(),
  updatedAt: z.string(),
  migratedFrom: z.string().optional(),
  collectedFromMs: msField('collectedFromMs').optional(),
});

function fromV1(v1: z.infer<typeof v1Schema>): Checkpoint {
  const { boundaryIds, open, ...rest } = v1;
  let open2: OpenWindow | null = null;
  if (open) {
    const { boundaryIds: tail, ...o } = open;
    // Version 1 kept the ids written in the window's last millisecond: what is carried to its end.
    open2 = { ...o, carry: tail.length > 0 ? { [String(open.maxtimeMs)]: tail } : {}, cursors: open.nextOffset ? [open.nextOffset] : [] };
  }
  return { ...rest, version: 2, skipIds: boundaryIds, open: open2 };
}

/** The field table as Markdown, for docs/checkpoint.md (a test holds the document equal to it). */
export function checkpointFieldsTable(): string {
  const rows = CHECKPOINT_FIELDS.map((f) => `| \`${f.name}\` | ${f.sinceVersion} | ${f.changesDelivery ? 'yes' : 'no'} | ${f.meaning} |`);
  return ['| field | since version | changes what gets delivered | meaning |', '|---|---|---|---|', ...rows].join('\n');
}

/** The schema's field names, `open.*` included: the unit tests hold them equal to CHECKPOINT_FIELDS. */
export function checkpointSchemaFields(): string[] {
  return [...Object.keys(v2Schema.shape), ...Object.keys(openSchema.shape).map((k) => `open.${k}`)];
}

/** Google's guide: `{"last_offset": "<ts_ms>,<id>" | null, "last_timestamp_ms": <ms>}`. */
const legacySchema = z
  .object({
    last_offset: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
    last_timestamp_ms: z.number().optional(),
  })
  .refine((v) => v.last_offset != null || v.last_timestamp_ms !== undefined, 'empty legacy state');

/** A checkpoint that starts collecting at `nextMintimeMs` (a first run, or `state reset`). */
export function initialCheckpoint(nextMintimeMs: number, nowIso: string): Checkpoint {
  return { version: 2, source: 'telephony', nextMintimeMs, skipIds: [], open: null, updatedAt: nowIso, collectedFromMs: nextMintimeMs };
}

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/** Why a document cannot be used: `problem` completes "checkpoint <location> …". */
type Decoded = { ok: true; checkpoint: Checkpoint } | { ok: false; problem: string; newer: boolean; cause?: unknown };

function decode(data: Buffer | string, nowIso: string): Decoded {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (err) {
    return { ok: false, problem: `is not valid JSON (${(err as Error).message})`, newer: false, cause: err };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return { ok: false, problem: 'is not a JSON object', newer: false };
  if ('version' in doc) {
    const { version } = doc;
    if (typeof version === 'number' && Number.isInteger(version) && version > CHECKPOINT_VERSION) {
      return {
        ok: false,
        problem: `was written by a newer duo-secops (version ${version}); this one understands up to ${CHECKPOINT_VERSION}: upgrade`,
        newer: true,
      };
    }
    let cp: Checkpoint;
    if (version === 1) {
      const r = v1Schema.safeParse(doc);
      if (!r.success) return { ok: false, problem: `is invalid: ${describeIssues(r.error)}`, newer: false };
      cp = fromV1(r.data);
    } else {
      const r = v2Schema.safeParse(doc);
      if (!r.success) return { ok: false, problem: `is invalid: ${describeIssues(r.error)}`, newer: false };
      cp = r.data as Checkpoint;
    }
    if (cp.open && cp.open.maxtimeMs <= cp.open.mintimeMs) return { ok: false, problem: 'is invalid: open window maxtime must be after mintime', newer: false };
    return { ok: true, checkpoint: cp };
  }
  const legacy = legacySchema.safeParse(doc);
  if (!legacy.success) return { ok: false, problem: 'has an unknown format (no "version"; not Google\'s guide format either)', newer: false };
  return migrateLegacy(legacy.data, nowIso);
}

function refusal(location: string, d: Extract<Decoded, { ok: false }>, remedy: string): CheckpointError {
  const advice = d.newer ? '' : ` ${remedy}`;
  return new CheckpointError(`checkpoint ${location} ${d.problem}. Nothing was changed.${advice}`, d.cause === undefined ? {} : { cause: d.cause });
}

/**
 * Parse a stored checkpoint. Google's guide format is migrated: its `last_offset` cursor
 * (`"<ts_ms>,<id>"`) says where paging stopped, its `last_timestamp_ms` is the next start.
 * Throws CheckpointError with the location and what to do when the document cannot be used,
 * among others when a newer duo-secops wrote it (a `version` above CHECKPOINT_VERSION).
 */
export function parseCheckpoint(data: Buffer | string, location: string, nowIso = new Date().toISOString()): Checkpoint {
  const d = decode(data, nowIso);
  if (!d.ok) throw refusal(location, d, `Fix or restore it, or set a new start with ${RESET}.`);
  return d.checkpoint;
}

/**
 * Parse what a store loaded, with what the store reported alongside:
 *   - the newest document cannot be used (and was not written by a newer duo-secops): when the store
 *     offers a previous document that parses, the error names it and gives the command that goes back
 *     to it;
 *   - `editedCopy`: a copy kept for people was changed by hand, and the next commit would silently
 *     overwrite the change: refused, with both ways on.
 * Every refusal is a CheckpointError (exit 2) and changes nothing.
 */
export function parseStoredCheckpoint(stored: StoredCheckpoint, nowIso = new Date().toISOString()): Checkpoint {
  const d = decode(stored.data, nowIso);
  if (!d.ok) throw refusal(stored.location, d, stored.previous ? previousRemedy(stored.previous, nowIso) : `Fix or restore it, or set a new start with ${RESET}.`);
  if (stored.editedCopy) {
    const copy = stored.editedCopy.location;
    throw new CheckpointError(
      `checkpoint copy ${copy} was edited by hand: it matches none of the checkpoint's generations. The collector's checkpoint is the newest generation, ` +
        `${stored.location}, and its next commit would overwrite the edit; nothing was changed. To go on from that generation, delete ${copy} ` +
        `(it is rewritten at the next commit); to move the start, run ${RESET}.`,
    );
  }
  return d.checkpoint;
}

function previousRemedy(previous: PreviousCheckpoint, nowIso: string): string {
  const p = decode(previous.data, nowIso);
  if (!p.ok) {
    return `The checkpoint before it, ${previous.location}, cannot be used either (it ${p.problem}): restore one from a backup, or set a new start with ${RESET}.`;
  }
  return (
    `The checkpoint before it, ${previous.location}, is intact: to carry on from it (the next run repeats at most one page, which create-only writes make harmless), ` +
    `run \`${previous.restoreCommand}\`; or set a new start with ${RESET}.`
  );
}

function migrateLegacy(l: z.infer<typeof legacySchema>, nowIso: string): Decoded {
  const cursor = Array.isArray(l.last_offset) ? l.last_offset.map(String).join(',') : l.last_offset;
  let next = l.last_timestamp_ms;
  let skipThrough: SkipThrough | undefined;
  if (typeof cursor === 'string') {
    // The guide saves the cursor of a run that stopped mid-way, having written every item up to and
    // including the one the cursor names (Duo's cursor names a page's last item). Carry on from the
    // cursor's millisecond, skipping its items up to that one: they were written, those after it not.
    const { ms, id } = splitCursor(cursor);
    if (Number.isInteger(ms) && (next === undefined || ms >= next)) {
      next = ms;
      if (id) skipThrough = { ms, id };
    }
  }
  const r = msField('last_timestamp_ms').safeParse(next);
  if (!r.success) return { ok: false, problem: `(Google's guide format) is invalid: ${describeIssues(r.error)}`, newer: false };
  return {
    ok: true,
    checkpoint: {
      version: 2,
      source: 'telephony',
      nextMintimeMs: r.data,
      skipIds: [],
      ...(skipThrough ? { skipThrough } : {}),
      open: null,
      updatedAt: nowIso,
      migratedFrom: 'google-guide-state-json',
    },
  };
}

/** The document's bytes: every field of `cp`, the ones this collector does not know included. */
export function serializeCheckpoint(cp: Checkpoint): Buffer {
  return Buffer.from(`${JSON.stringify(cp, null, 1)}\n`, 'utf8');
}
