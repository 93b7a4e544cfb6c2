/**
 * NDJSON of raw items in, NDJSON of UDM events out, one line at a time.
 *
 * Memory stays flat whatever the input size: input chunks are split into lines as they arrive, each
 * chunk's output is written in one `write` and the next chunk is read only once `out` has room
 * (backpressure). A line longer than `maxLineLength` is dropped as it streams past, not buffered.
 *
 * Lines are split as bytes and each is decoded on its own, so a line that is not valid UTF-8 is
 * rejected with its number instead of having its bad bytes silently replaced by U+FFFD (a phone
 * number would come out as `+1212��5556707`).
 */
import { STREAM_NAMES, STREAMS, type StreamName } from '../duo/streams.js';
import { isUtf8 } from 'node:buffer';
import { toUdmJson } from './serialize.js';
import type { ToUdmOptions } from './types.js';

export interface LineProblem {
  /** Input name as given (`<stdin>` for standard input). */
  file: string;
  /** 1-based physical line number. */
  line: number;
  reason: string;
}

export interface ConvertStats {
  /** Non-blank lines read (blank lines are skipped, as NDJSON allows). */
  lines: number;
  converted: number;
  rejected: number;
  /** Converted events per `metadata.eventType`. */
  byEventType: Record<string, number>;
}

export interface ConvertOptions extends ToUdmOptions {
  /** Longest line accepted, in characters; longer ones are rejected. Default 1 MiB: a Duo item is ~300. */
  maxLineLength?: number;
}

export const DEFAULT_MAX_LINE_LENGTH = 1024 * 1024;

/**
 * A character (UTF-16 code unit) takes one to three bytes of UTF-8, so a line of more than three bytes
 * per allowed character is too long whatever it holds: past that, its bytes are dropped, not held.
 */
const MAX_BYTES_PER_CHARACTER = 3;
const NEWLINE = 0x0a;

/**
 * Where the first byte sequence that is not UTF-8 starts (0-based), or -1. The same rules as
 * `isUtf8` and the WHATWG decoder: no overlong forms, no surrogates, nothing above U+10FFFF.
 */
export function invalidUtf8At(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    let follow: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) follow = 1;
    else if (lead >= 0xe0 && lead <= 0xef) {
      follow = 2;
      if (lead === 0xe0) low = 0xa0;
      if (lead === 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      follow = 3;
      if (lead === 0xf0) low = 0x90;
      if (lead === 0xf4) high = 0x8f;
    } else return i;
    for (let k = 1; k <= follow; k += 1) {
      const b = bytes[i + k];
      if (b === undefined || b < (k === 1 ? low : 0x80) || b > (k === 1 ? high : 0xbf)) return i;
    }
    i += follow + 1;
  }
  return -1;
}

/** Why a line is not UTF-8, by byte position and value (never the line itself: it holds phone numbers). */
function utf8Reason(bytes: Uint8Array): string {
  const at = invalidUtf8At(bytes);
  if (at < 0) return 'not valid UTF-8';
  return `not valid UTF-8 (0x${bytes[at]!.toString(16).toUpperCase().padStart(2, '0')} at byte ${at + 1})`;
}

/**
 * `out` failed or closed (EPIPE when a reader such as `head` stops early). Carries the counts so far, so
 * a caller can still report what was converted, and tells an output failure apart from an input one.
 */
export class OutputError extends Error {
  readonly stats: ConvertStats;
  readonly code: string | undefined;
  constructor(cause: unknown, stats: ConvertStats) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'OutputError';
    this.stats = stats;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/**
 * The Duo log stream other than telephony a line belongs to, or undefined: by the `eventtype` the
 * collector adds, else by a field only that stream's items carry.
 */
export function otherStreamOf(item: unknown): Exclude<StreamName, 'telephony'> | undefined {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return undefined;
  const o = item as Record<string, unknown>;
  const named = o['eventtype'];
  if (typeof named === 'string' && named !== 'telephony' && (STREAM_NAMES as readonly string[]).includes(named)) return named as Exclude<StreamName, 'telephony'>;
  if ('telephony_id' in o || 'phone' in o) return undefined;
  if ('activity_id' in o) return 'activity';
  if ('sekey' in o || 'surfaced_timestamp' in o) return 'trust_monitor';
  if ('access_device' in o || 'auth_device' in o || 'factor' in o) return 'authentication';
  if ('action' in o && 'username' in o && 'timestamp' in o && !('ts' in o)) return 'administrator';
  return undefined;
}

/** Why a line of another stream is not converted, and who maps it. */
export function notTelephonyReason(stream: Exclude<StreamName, 'telephony'>): string {
  const { logType, secopsParser } = STREAMS[stream];
  return `${/^[aeiou]/.test(stream) ? "an" : "a"} ${stream} event: udm maps the telephony log only; ${secopsParser ? `SecOps' own ${logType} parser maps this stream` : `SecOps has no default parser for ${logType} (a custom parser maps it)`}`;
}

export function emptyStats(): ConvertStats {
  return { lines: 0, converted: 0, rejected: 0, byEventType: {} };
}

/** Add `b` into `a` (totals over several inputs). */
export function addStats(a: ConvertStats, b: ConvertStats): ConvertStats {
  a.lines += b.lines;
  a.converted += b.converted;
  a.rejected += b.rejected;
  for (const [type, n] of Object.entries(b.byEventType)) a.byEventType[type] = (a.byEventType[type] ?? 0) + n;
  return a;
}

/**
 * Why `JSON.parse` refused a line, without V8's excerpt of the line itself: lines hold phone numbers,
 * and a position is what the user needs to find the fault.
 */
function jsonReason(err: unknown, line: string): string {
  const msg = err instanceof Error ? err.message : String(err);
  const pos = /at position (\d+)/.exec(msg);
  if (/end of JSON input/i.test(msg) || (pos && Number(pos[1]) >= line.trimEnd().length)) return 'not valid JSON (truncated)';
  if (pos) return `not valid JSON (error at column ${Number(pos[1]) + 1})`;
  const token = /Unexpected token '(.)'/u.exec(msg);
  return token ? `not valid JSON (unexpected ${JSON.stringify(token[1])})` : 'not valid JSON';
}

/** Resolves when `out` can take more; rejects if it fails or closes first, so a dead pipe cannot hang us. */
function drained(out: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve, reject) => {
    const cleanup = (): void => {
      out.removeListener('drain', onDrain);
      out.removeListener('error', onError);
      out.removeListener('close', onClose);
    };
    const onDrain = (): void => {
      cleanup();
      resolve();
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('output closed before all events were written'));
    };
    out.once('drain', onDrain);
    out.once('error', onError);
    out.once('close', onClose);
  });
}

/**
 * Convert one NDJSON input. Bad lines (too long, not UTF-8, not JSON, not an object, no parseable
 * `ts`) go to `report` and are skipped; everything else is written to `out` as one UDM event per line.
 * Give it bytes (a file or stdin without an encoding): a string chunk was decoded by someone else, and
 * any bad bytes it had were replaced before they reached this function.
 * Does not end `out`: callers convert several inputs into one output. Rejects with `OutputError` when
 * `out` fails, and with the input's own error when reading fails.
 */
export async function convertNdjsonStream(
  input: AsyncIterable<string | Uint8Array>,
  name: string,
  out: NodeJS.WritableStream,
  report: (problem: LineProblem) => void,
  opts: ConvertOptions = {},
): Promise<ConvertStats> {
  const stats = emptyStats();
  const maxLineLength = opts.maxLineLength ?? DEFAULT_MAX_LINE_LENGTH;
  const toUdmOptions: ToUdmOptions = {
    ...(opts.logType !== undefined && { logType: opts.logType }),
    ...(opts.case !== undefined && { case: opts.case }),
  };
  const maxLineBytes = maxLineLength * MAX_BYTES_PER_CHARACTER;
  let lineNo = 0;
  /** The bytes of the line being read, when it spans chunks. */
  let carry: Buffer[] = [];
  let carryBytes = 0;
  /** The line being read has passed `maxLineBytes`: the rest of it is skipped. */
  let tooLong = false;
  let pending = '';
  let outError: Error | undefined;
  const onOutError = (err: Error): void => {
    outError = err;
  };
  // Without a listener an 'error' on `out` (EPIPE on a closed pipe) would crash the process.
  out.on('error', onOutError);

  const reject = (reason: string): void => {
    stats.lines += 1;
    stats.rejected += 1;
    report({ file: name, line: lineNo, reason });
  };

  /** One physical line, without its `\n`; undefined when it was too long to keep. */
  const handleLine = (bytes: Buffer | undefined): void => {
    lineNo += 1;
    const tooLongReason = `line longer than ${maxLineLength} characters`;
    // Also checked here: a whole long line can arrive inside one large chunk.
    if (bytes === undefined || bytes.length > maxLineBytes) return reject(tooLongReason);
    if (!isUtf8(bytes)) return reject(utf8Reason(bytes));
    const raw = bytes.toString('utf8');
    if (raw.length > maxLineLength) return reject(tooLongReason);
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (lineNo === 1 && line.startsWith('\uFEFF')) line = line.slice(1);
    if (line.trim() === '') return;
    stats.lines += 1;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (err) {
      stats.rejected += 1;
      report({ file: name, line: lineNo, reason: jsonReason(err, line) });
      return;
    }
    const other = otherStreamOf(item);
    if (other !== undefined) {
      stats.rejected += 1;
      report({ file: name, line: lineNo, reason: notTelephonyReason(other) });
      return;
    }
    const result = toUdmJson(item, toUdmOptions);
    if (!result.ok) {
      stats.rejected += 1;
      report({ file: name, line: lineNo, reason: result.reason });
      return;
    }
    stats.converted += 1;
    stats.byEventType[result.eventType] = (stats.byEventType[result.eventType] ?? 0) + 1;
    pending += `${result.json}\n`;
  };

  /** The line that `carry` (and `tail`) hold, ending it. */
  const takeCarry = (tail?: Buffer): Buffer | undefined => {
    const line = tooLong ? undefined : carry.length === 0 ? tail : Buffer.concat(tail ? [...carry, tail] : carry, carryBytes + (tail?.length ?? 0));
    carry = [];
    carryBytes = 0;
    tooLong = false;
    return line;
  };

  const feed = (chunk: Buffer): void => {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      start = nl + 1;
      handleLine(carry.length === 0 && !tooLong ? piece : takeCarry(piece));
    }
    if (start < chunk.length && !tooLong) {
      // Copied: a slice would keep the whole chunk alive until the line ends.
      const rest = Buffer.from(chunk.subarray(start));
      carry.push(rest);
      carryBytes += rest.length;
      if (carryBytes > maxLineBytes) {
        carry = [];
        carryBytes = 0;
        tooLong = true;
      }
    }
  };

  const flush = async (): Promise<void> => {
    if (outError) throw new OutputError(outError, stats);
    if (pending === '') return;
    const chunk = pending;
    pending = '';
    if (!out.write(chunk)) {
      try {
        await drained(out);
      } catch (err) {
        throw new OutputError(err, stats);
      }
    }
    if (outError) throw new OutputError(outError, stats);
  };

  try {
    for await (const chunk of input) {
      // Text was decoded by the caller already; bytes are split here and checked line by line.
      feed(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      await flush();
    }
    // A last line without a trailing newline is still a line.
    if (carryBytes > 0 || tooLong) handleLine(takeCarry());
    await flush();
  } finally {
    out.removeListener('error', onOutError);
  }
  return stats;
}
