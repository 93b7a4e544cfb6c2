/**
 * Deterministic, seeded data sets for the Duo simulator: telephony items here, the other streams'
 * in stream-data.ts, what they share in dataset-core.ts.
 *
 * Pure: the same options give byte-identical events on every run, so a failing integration test or
 * benchmark can be replayed. Every item is serialised once, here, in Duo's key order; the server only
 * concatenates those strings, which is what keeps 1000-item pages from a million-event set cheap.
 */
import { createRng, type Rng } from './rng.js';
import { generateStreamDataset } from './stream-data.js';
import { drawLate, drawTimes, formatTs, sameTimeRun, seededUuid, validateDataset, type DatasetOptions, type SimEvent } from './dataset-core.js';

export {
  compareEvents,
  formatTs,
  seededUuid,
  MAX_DATASET_EVENTS,
  type DatasetOptions,
  type SimEvent,
} from './dataset-core.js';

interface Phone {
  e164: string;
  international: boolean;
}

/**
 * Phone pool. Numbers come from ranges reserved for fiction where the country has one (US 555,
 * Ofcom's 07700 900xxx, ACMA's 0491 570xxx, Berlin's 030 23125xxx, ARCEP's 0639 98xxxx), so the
 * simulator never prints a real person's number.
 */
function buildPhonePool(rng: Rng, size: number): Phone[] {
  const npas = ['212', '312', '415', '617', '734', '206', '512', '303', '404', '646', '416', '604'];
  const digits = (n: number): string => String(rng.int(10 ** n)).padStart(n, '0');
  const pool: Phone[] = [];
  const seen = new Set<string>();
  while (pool.length < size) {
    const r = rng.next();
    let phone: Phone;
    if (r < 0.62) phone = { e164: `+1${rng.pick(npas)}555${digits(4)}`, international: false };
    else if (r < 0.76) phone = { e164: `+447700900${digits(3)}`, international: true };
    else if (r < 0.86) phone = { e164: `+493023125${digits(3)}`, international: true };
    else if (r < 0.94) phone = { e164: `+3363998${digits(4)}`, international: true };
    else phone = { e164: `+61491570${String(6 + rng.int(154)).padStart(3, '0')}`, international: true };
    if (seen.has(phone.e164)) continue;
    seen.add(phone.e164);
    pool.push(phone);
  }
  return pool;
}

const CONTEXTS = ['authentication', 'enrollment', 'administrator login', 'verify'] as const;
const CONTEXT_CUMULATIVE = [0.86, 0.93, 0.97, 1] as const;

function pickContext(rng: Rng): string {
  const r = rng.next();
  for (let i = 0; i < CONTEXTS.length; i++) if (r < (CONTEXT_CUMULATIVE[i] as number)) return CONTEXTS[i] as string;
  return 'authentication';
}

/** Telephony credits: calls cost more than texts, abroad more than at home, failed deliveries nothing. */
function creditsFor(rng: Rng, type: string, phone: Phone): number {
  if (rng.chance(0.03)) return 0;
  if (type === 'sms') return phone.international ? 2 : 1;
  return phone.international ? 3 : 1 + rng.int(2);
}

/** How close in time two events must be to belong to the same authentication (shared txid). */
const SAME_TX_WINDOW_US = 90_000_000;

function generateTelephony(opts: DatasetOptions): SimEvent[] {
  const background = validateDataset(opts);
  const total = opts.events;
  // Independent streams so that, e.g., adding a late count does not reshuffle every phone number.
  const timeRng = createRng(opts.seed);
  const fieldRng = createRng(opts.seed + 0x5bd1e995);
  const lateRng = createRng(opts.seed + 0x1b873593);
  const latenessRng = createRng(opts.seed + 0x27d4eb2f);
  const missingIdRng = createRng(opts.seed + 0x165667b1);

  const times = drawTimes(timeRng, opts, background);
  const late = opts.late && opts.late.count > 0 ? drawLate(lateRng, total, opts.late.count) : undefined;
  const lateDelayMs = opts.late?.delayMs ?? 0;
  const latenessRate = opts.lateness?.rate ?? 1;
  // Whole ms from 0 to maxDelayMs: the span of the draw is one more than the largest delay.
  const latenessSpan = opts.lateness && latenessRate > 0 ? opts.lateness.maxDelayMs + 1 : 0;
  const missingIdRate = opts.missingIdRate ?? 0;
  const phones = buildPhonePool(fieldRng, 600);

  const events = new Array<SimEvent>(total);
  let prevTxid = '';
  let prevPhone = phones[0] as Phone;
  let prevContext = 'authentication';
  let prevTs = -Infinity;
  let tsSecond = -1;
  let tsBase = '';
  const runIds: string[] = [];

  let i = 0;
  while (i < total) {
    const tsMicros = times[i] as number;
    // Events sharing a microsecond are ordered by id.
    const runEnd = sameTimeRun(times, i, runIds, () => seededUuid(fieldRng));

    const second = Math.floor(tsMicros / 1_000_000);
    if (second !== tsSecond) {
      tsSecond = second;
      tsBase = new Date(second * 1000).toISOString().slice(0, 19);
    }
    const micros = tsMicros - second * 1_000_000;
    const ts = micros === 0 ? `${tsBase}+00:00` : `${tsBase}.${String(micros).padStart(6, '0')}+00:00`;
    const tsMs = Math.floor(tsMicros / 1000);

    for (let k = i; k < runEnd; k++) {
      const id = runIds[k - i] as string;
      let txid: string;
      let phone: Phone;
      let context: string;
      // A retried or escalated authentication (text, then a call) shares its txid and phone.
      if (tsMicros - prevTs < SAME_TX_WINDOW_US && fieldRng.chance(0.12)) {
        txid = prevTxid;
        phone = prevPhone;
        context = prevContext;
      } else {
        txid = seededUuid(fieldRng);
        // Skewed toward the start of the pool: a few people authenticate far more than the rest.
        const r = fieldRng.next();
        phone = phones[Math.floor(r * r * phones.length)] as Phone;
        context = pickContext(fieldRng);
      }
      const type = context === 'verify' || fieldRng.next() >= 0.27 ? 'sms' : 'phone';
      const credits = creditsFor(fieldRng, type, phone);
      let visibleAtMs = late !== undefined && late[k] === 1 ? tsMs + lateDelayMs : tsMs;
      if (latenessSpan > 0 && latenessRng.chance(latenessRate)) visibleAtMs = Math.max(visibleAtMs, tsMs + Math.floor(latenessRng.next53() * latenessSpan));
      if (missingIdRng.chance(missingIdRate)) {
        const json = `{"context":"${context}","credits":${credits},"phone":"${phone.e164}","ts":"${ts}","txid":"${txid}","type":"${type}"}`;
        events[k] = { tsMicros, id, json, visibleAtMs, missingId: true };
      } else {
        const json = `{"context":"${context}","credits":${credits},"phone":"${phone.e164}","telephony_id":"${id}","ts":"${ts}","txid":"${txid}","type":"${type}"}`;
        // Slicing the id out of the item flattens `json` and shares its memory instead of keeping two copies.
        const idStart = json.indexOf('"telephony_id":"') + 16;
        events[k] = { tsMicros, id: json.slice(idStart, idStart + id.length), json, visibleAtMs };
      }
      prevTxid = txid;
      prevPhone = phone;
      prevContext = context;
      prevTs = tsMicros;
    }
    i = runEnd;
  }
  return events;
}

/**
 * A seeded data set of `opts.stream` (default telephony). Pure: the same options give byte-identical
 * events, sorted by (tsMicros, id).
 */
export function generateDataset(opts: DatasetOptions): SimEvent[] {
  const stream = opts.stream ?? 'telephony';
  return stream === 'telephony' ? generateTelephony(opts) : generateStreamDataset(stream, opts);
}

export interface SimEventFields {
  tsMicros: number;
  id: string;
  /** Default: the millisecond of `ts` (visible as soon as it happened). */
  visibleAtMs?: number;
  context?: string;
  credits?: number;
  phone?: string;
  txid?: string;
  type?: string;
  /** Fields Duo might add later: appended after the known ones, so parsers meet unknown keys. */
  extra?: Record<string, unknown>;
  /** Leave `telephony_id` out of the item; `id` still orders the event and names it in cursors. */
  missingId?: boolean;
}

/** One hand-made event (a test adding a late or odd event to a running simulator). */
export function createSimEvent(f: SimEventFields): SimEvent {
  const item = {
    context: f.context ?? 'authentication',
    credits: f.credits ?? 1,
    phone: f.phone ?? '+12125550100',
    ...(f.missingId !== true && { telephony_id: f.id }),
    ts: formatTs(f.tsMicros),
    txid: f.txid ?? f.id,
    type: f.type ?? 'sms',
    ...f.extra,
  };
  const event: SimEvent = { tsMicros: f.tsMicros, id: f.id, json: JSON.stringify(item), visibleAtMs: f.visibleAtMs ?? Math.floor(f.tsMicros / 1000) };
  if (f.missingId === true) event.missingId = true;
  return event;
}
