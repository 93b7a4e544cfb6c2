/**
 * The checkpoint document (design.md section 3): parse, validate, migrate, serialise. Pure.
 */
import { z } from 'zod';
import { CheckpointError } from '../errors.js';
import { splitCursor } from '../duo/types.js';

export interface OpenWindow {
  mintimeMs: number;
  maxtimeMs: number;
  /** Cursor for the next page; null before the first page. */
  nextOffset: string | null;
  /** 1-based number of the next page to fetch (names its object). */
  page: number;
  /** Items per request, fixed when the window opened so page names never shift. */
  limit: number;
  /** Ids of items already written whose `ts` falls in the millisecond `maxtimeMs`. */
  boundaryIds: string[];
}

export interface Checkpoint {
  version: 1;
  source: 'telephony';
  /** Start of the next window (inclusive). */
  nextMintimeMs: number;
  /** Ids already written at the millisecond `nextMintimeMs`: the next window drops them. */
  boundaryIds: string[];
  open: OpenWindow | null;
  updatedAt: string;
  /** Set once when the state came from Google's guide (`{last_offset,last_timestamp_ms}`). */
  migratedFrom?: string | undefined;
}

/** Anything before 2001-09-09 in ms has at most 12 digits: a 10-digit value is seconds. */
const MIN_PLAUSIBLE_MS = 100_000_000_000;

function msField(name: string) {
  return z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number of milliseconds`)
    .refine((v) => v >= MIN_PLAUSIBLE_MS, {
      error: (iss) =>
        `${name}=${String(iss.input)} has ${String(iss.input).length} digits: it looks like epoch seconds, not milliseconds. ` +
        'Fix the checkpoint or run `duo-secops state reset --to <ISO time> --yes`',
    });
}

const openSchema = z.object({
  mintimeMs: msField('open.mintimeMs'),
  maxtimeMs: msField('open.maxtimeMs'),
  nextOffset: z.string().min(1).nullable(),
  page: z.number().int().min(1),
  limit: z.number().int().min(1).max(1000),
  boundaryIds: z.array(z.string()).default([]),
});

const v1Schema = z.object({
  version: z.literal(1),
  source: z.literal('telephony'),
  nextMintimeMs: msField('nextMintimeMs'),
  boundaryIds: z.array(z.string()),
  open: openSchema.nullable(),
  updatedAt: z.string(),
  migratedFrom: z.string().optional(),
});

/** Google's guide: `{"last_offset": "<ts_ms>,<id>" | null, "last_timestamp_ms": <ms>}`. */
const legacySchema = z
  .object({
    last_offset: z.union([z.string(), z.array(z.unknown()), z.null()]).optional(),
    last_timestamp_ms: z.number().optional(),
  })
  .refine((v) => v.last_offset != null || v.last_timestamp_ms !== undefined, 'empty legacy state');

export function initialCheckpoint(nextMintimeMs: number, nowIso: string): Checkpoint {
  return { version: 1, source: 'telephony', nextMintimeMs, boundaryIds: [], open: null, updatedAt: nowIso };
}

function describeIssues(err: z.ZodError): string {
  return err.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');
}

/**
 * Parse a stored checkpoint. Google's guide format is migrated: its `last_offset` cursor
 * (`"<ts_ms>,<id>"`) says where paging stopped, its `last_timestamp_ms` is the next start.
 * Throws CheckpointError with the location and what to do when the document cannot be used.
 */
export function parseCheckpoint(data: Buffer | string, location: string, nowIso = new Date().toISOString()): Checkpoint {
  let doc: unknown;
  try {
    doc = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
  } catch (err) {
    throw new CheckpointError(
      `checkpoint ${location} is not valid JSON (${(err as Error).message}); nothing was changed. ` +
        'Restore it, or set a new start with `duo-secops state reset --to <ISO time> --yes`',
      { cause: err },
    );
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new CheckpointError(`checkpoint ${location} is not a JSON object; nothing was changed`);
  }
  if ('version' in doc) {
    const r = v1Schema.safeParse(doc);
    if (!r.success) {
      throw new CheckpointError(`checkpoint ${location} is invalid: ${describeIssues(r.error)}; nothing was changed`);
    }
    const cp = r.data;
    if (cp.open && cp.open.maxtimeMs <= cp.open.mintimeMs) {
      throw new CheckpointError(`checkpoint ${location} is invalid: open window maxtime must be after mintime`);
    }
    return cp;
  }
  const legacy = legacySchema.safeParse(doc);
  if (!legacy.success) {
    throw new CheckpointError(`checkpoint ${location} has an unknown format (no "version"; not Google's guide format either); nothing was changed`);
  }
  return migrateLegacy(legacy.data, location, nowIso);
}

function migrateLegacy(l: z.infer<typeof legacySchema>, location: string, nowIso: string): Checkpoint {
  const cursor = Array.isArray(l.last_offset) ? l.last_offset.map(String).join(',') : l.last_offset;
  let next = l.last_timestamp_ms;
  let boundaryIds: string[] = [];
  if (typeof cursor === 'string') {
    // The guide saves the cursor of a run that stopped mid-way (and wrote what it had fetched):
    // carry on from the cursor's millisecond, dropping the item the cursor names.
    const { ms, id } = splitCursor(cursor);
    if (Number.isInteger(ms) && (next === undefined || ms >= next)) {
      next = ms;
      boundaryIds = id ? [id] : [];
    }
  }
  const r = msField('last_timestamp_ms').safeParse(next);
  if (!r.success) throw new CheckpointError(`checkpoint ${location} (Google's guide format): ${describeIssues(r.error)}`);
  return {
    version: 1,
    source: 'telephony',
    nextMintimeMs: r.data,
    boundaryIds,
    open: null,
    updatedAt: nowIso,
    migratedFrom: 'google-guide-state-json',
  };
}

export function serializeCheckpoint(cp: Checkpoint): Buffer {
  return Buffer.from(`${JSON.stringify(cp, null, 1)}\n`, 'utf8');
}
