/**
 * NDJSON of raw items in, NDJSON of UDM events out, one line at a time.
 *
 * Memory stays flat whatever the input size: input chunks are split into lines as they arrive, each
 * chunk's output is written in one `write` and the next chunk is read only once `out` has room
 * (backpressure). A line longer than `maxLineLength` is dropped as it streams past, not buffered.
 */
import { StringDecoder } from 'node:string_decoder';
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
 * Convert one NDJSON input. Bad lines (not JSON, not an object, no parseable `ts`, too long) go to
 * `report` and are skipped; everything else is written to `out` as one UDM event per line.
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
  const decoder = new StringDecoder('utf8');
  let lineNo = 0;
  let carry = '';
  let tooLong = false;
  let pending = '';
  let outError: Error | undefined;
  const onOutError = (err: Error): void => {
    outError = err;
  };
  // Without a listener an 'error' on `out` (EPIPE on a closed pipe) would crash the process.
  out.on('error', onOutError);

  const handleLine = (raw: string): void => {
    lineNo += 1;
    // Also checked here: a whole long line can arrive inside one large chunk.
    if (tooLong || raw.length > maxLineLength) {
      tooLong = false;
      stats.lines += 1;
      stats.rejected += 1;
      report({ file: name, line: lineNo, reason: `line longer than ${maxLineLength} characters` });
      return;
    }
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

  const feed = (text: string): void => {
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      const piece = text.slice(start, nl);
      start = nl + 1;
      if (tooLong) handleLine('');
      else {
        handleLine(carry + piece);
        carry = '';
      }
    }
    if (start < text.length && !tooLong) {
      carry += text.slice(start);
      if (carry.length > maxLineLength) {
        carry = '';
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
      feed(typeof chunk === 'string' ? chunk : decoder.write(chunk));
      await flush();
    }
    feed(decoder.end());
    // A last line without a trailing newline is still a line.
    if (carry !== '' || tooLong) {
      const last = carry;
      carry = '';
      handleLine(last);
    }
    await flush();
  } finally {
    out.removeListener('error', onOutError);
  }
  return stats;
}
