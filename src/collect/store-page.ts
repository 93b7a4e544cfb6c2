/**
 * Storing a page: its object, create-only, under the page's name. When an object of that name already
 * holds other content, an earlier attempt wrote the page before Duo published an event inside it (the
 * attempt died after the write, before the commit, and the page fetched again holds one more event).
 * That never wedges and never doubles (docs/protocol.md, "A page written before"): the object and its
 * supplements are read back, the items they lack are written as the page's next supplement
 * (`…_p00003_s1.json`), and the items they hold are carried, so a later page of the window drops any
 * of them it serves again. An object this collector could not have written for the page (lines that
 * are not items, items outside the window) still stops the run (OBJECT_CONFLICT, exit 5).
 */
import type { Logger } from 'pino';
import { STREAMS, type DuoItem, type LogStream } from '../duo/streams.js';
import { ObjectConflictError } from '../errors.js';
import { formatObjectName, type ObjectName } from '../sinks/object-name.js';
import type { PageObject, Sink } from '../sinks/types.js';
import { linesOf, pageObjectFromLines } from './page-object.js';
import type { WrittenItem } from './page.js';
import type { Failpoint } from './failpoint.js';

export interface StorePageOptions {
  sink: Sink;
  /** The page's own name; supplements take the same with `supplement: n`. */
  name: ObjectName;
  /**
   * The page's object, one line per new item (null when the page has none). Supplements are made of
   * its lines: the page's parsed items are not kept while it is stored.
   */
  obj: PageObject | null;
  /** The keys of its items, in its order (judgePage's `written`). */
  written: readonly WrittenItem[];
  /** How an item read back is told apart (default telephony). */
  stream?: Pick<LogStream, 'itemMs' | 'contentKey'> | undefined;
  /** Checked just before a supplement is written: only the run that owns the window writes one. */
  stillOwner: () => Promise<boolean>;
  logger: Logger;
  failpoint: Failpoint;
  signal?: AbortSignal | undefined;
}

export interface StoredPage {
  objectsCreated: number;
  /** Objects found already written, identical (an earlier attempt of the same page). */
  objectsExisting: number;
  supplements: number;
  /** Items stored by this call: in an object it created or found identical. */
  events: number;
  /** Bytes of the objects this call created. */
  bytes: number;
  /** Items found written by an earlier attempt (object and supplements): the window carries them. */
  found: WrittenItem[];
}

/** At most this many supplements of one page are tried before giving up (each means another late event). */
const MAX_SUPPLEMENTS = 1000;

export async function storePage(o: StorePageOptions): Promise<StoredPage | 'not-owner'> {
  const none: StoredPage = { objectsCreated: 0, objectsExisting: 0, supplements: 0, events: 0, bytes: 0, found: [] };
  if (o.obj === null || o.obj.itemCount === 0) return none;
  const key = formatObjectName(o.name);
  if (o.obj.key !== key) throw new Error(`storePage: the object is ${o.obj.key}, the page ${key}`);
  const first = await write(o, o.obj);
  if (first !== 'conflict') return { ...none, ...first, events: o.obj.itemCount };

  // Written before with other content: what do the page's objects hold? (Rare: the page's lines are
  // read back from its object only here.)
  const stream = o.stream ?? STREAMS.telephony;
  const lines = linesOf(o.obj);
  const held: ReadBack[] = await readWritten(o, key, stream);
  const merge = (body: Buffer, name: string): void => {
    held.push(...parseWritten(body, name, o.name, stream));
  };
  let n = 1;
  for (let turn = 0; turn < MAX_SUPPLEMENTS; turn++) {
    const { found, lacking: lackingAt } = matchWritten(lines.map((line, i) => ({ content: stream.contentKey(JSON.parse(line) as DuoItem), written: o.written[i]! })), held);
    const lacking = lackingAt.map((i) => lines[i]!);
    if (lacking.length === 0) return { ...none, objectsExisting: 1, found };
    const supplementKey = formatObjectName({ ...o.name, supplement: n });
    const existing = await o.sink.readPage(supplementKey, o.signal);
    if (existing !== null) {
      merge(existing, supplementKey);
      n += 1;
      continue;
    }
    if (!(await o.stillOwner())) return 'not-owner';
    // Another attempt may write this supplement meanwhile: then the next turn reads it.
    const outcome = await write(o, pageObjectFromLines(supplementKey, lacking));
    if (outcome === 'conflict') continue;
    o.logger.info(
      { event: 'page.supplemented', key: supplementKey, items: lacking.length },
      `${key} was written before ${lacking.length} more event(s) of its page were published: they go to ${supplementKey}`,
    );
    // Found identical (another attempt wrote exactly these): an object already there, not a new supplement.
    return { ...none, objectsExisting: 1 + outcome.objectsExisting, supplements: outcome.objectsCreated, events: lacking.length, bytes: outcome.bytes, found };
  }
  throw new ObjectConflictError(`${key} has ${MAX_SUPPLEMENTS} supplements already; stopping rather than writing more`);
}

async function write(o: StorePageOptions, obj: PageObject): Promise<{ objectsCreated: number; objectsExisting: number; bytes: number } | 'conflict'> {
  const key = obj.key;
  o.failpoint('object.writing');
  try {
    const outcome = await o.sink.writePage(obj, o.signal);
    o.failpoint('object.written');
    o.logger.info({ event: 'batch.written', key, items: obj.itemCount, bytes: obj.body.length, outcome }, `wrote ${obj.itemCount} events`);
    return outcome === 'created' ? { objectsCreated: 1, objectsExisting: 0, bytes: obj.body.length } : { objectsCreated: 0, objectsExisting: 1, bytes: 0 };
  } catch (err) {
    if (err instanceof ObjectConflictError) return 'conflict';
    throw err;
  }
}

/** An item read back from an object: its content key (streams.ts `contentKey`) and millisecond. */
export interface ReadBack {
  content: string;
  ms: number | null;
}

/**
 * Which of the page's new items the objects already hold, as a multiset: an object line holds one
 * page item of the same content key (the first not matched yet, in page order). For streams with ids
 * that is the id; for the administrator log, whose identical events share a content key, it counts
 * copies, so a copy published later is still lacking. Lines no page item matches are carried too.
 */
export function matchWritten(page: ReadonlyArray<{ content: string; written: WrittenItem }>, held: readonly ReadBack[]): { found: WrittenItem[]; lacking: number[] } {
  const copies = new Map<string, number>();
  for (const h of held) copies.set(h.content, (copies.get(h.content) ?? 0) + 1);
  const found: WrittenItem[] = [];
  const lacking: number[] = [];
  for (const [i, p] of page.entries()) {
    const left = copies.get(p.content) ?? 0;
    if (left > 0) {
      copies.set(p.content, left - 1);
      found.push(p.written);
    } else lacking.push(i);
  }
  const unmatched = new Map(copies);
  for (const h of held) {
    const left = unmatched.get(h.content) ?? 0;
    if (left <= 0) continue;
    unmatched.set(h.content, left - 1);
    // An item the page no longer serves: carried under its content key, so a repeat of it is dropped.
    found.push({ key: h.content, ms: h.ms });
  }
  return { found, lacking };
}

/** The items of the page's object, as read back. */
async function readWritten(o: StorePageOptions, key: string, stream: Pick<LogStream, 'itemMs' | 'contentKey'>): Promise<ReadBack[]> {
  const body = await o.sink.readPage(key, o.signal);
  if (body === null) throw new ObjectConflictError(`${key} was refused as existing, then could not be read: run again`);
  return parseWritten(body, key, o.name, stream);
}

/**
 * The items an object holds, as content keys and milliseconds. Anything this collector would not have
 * written for the page (a line that is not a JSON object, an item outside the window) is an OBJECT_CONFLICT.
 */
export function parseWritten(
  body: Buffer,
  key: string,
  name: Pick<ObjectName, 'mintimeMs' | 'maxtimeMs'>,
  stream: Pick<LogStream, 'itemMs' | 'contentKey'> = STREAMS.telephony,
): ReadBack[] {
  const out: ReadBack[] = [];
  const lines = body.toString('utf8').split('\n');
  for (const [i, line] of lines.entries()) {
    if (line === '') continue;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch {
      item = undefined;
    }
    const bad = (why: string): ObjectConflictError =>
      new ObjectConflictError(
        `${key} exists with different content and line ${i + 1} ${why}: this collector did not write it for this page. Nothing was overwritten or skipped; ` +
          'look at the object (another program writing to this prefix?) before moving it aside',
      );
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw bad('is not a log item');
    const ms = stream.itemMs(item as DuoItem);
    // An item without a readable ts is written as Duo sent it (judgePage), so it may be found here.
    if (ms !== null && (ms < name.mintimeMs || ms > name.maxtimeMs)) throw bad(`holds an item of ${new Date(ms).toISOString()}, outside the page's window`);
    out.push({ content: stream.contentKey(item as DuoItem), ms });
  }
  return out;
}
