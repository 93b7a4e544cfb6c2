/**
 * UDM mapping: 1,000,000 realistic lines, each parsed and mapped to its UDM JSON line with
 * `toUdmJson` (what `duo-secops udm` does per line; the same text as `JSON.stringify` of `toUdm`'s
 * event), against parsing and serialising the same lines unchanged. JSON is
 * the floor: the ratio says what the mapping itself adds.
 *
 * Lines are the simulator's seeded data set as the collector stores it (Duo's key order, `eventtype`
 * and `host` added), so the field mix, phone formats and microsecond timestamps are Duo's. Passes
 * alternate baseline and mapping, after a warm-up of both, with a full GC before each; each figure is
 * the best of its rounds. The streaming converter (line splitting, stats, backpressure) over the same
 * lines is reported alongside, for information.
 */
import { Writable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { generateDataset } from '../src/simulator/index.js';
import { DEFAULT_API_HOST } from '../src/simulator/server.js';
import { convertNdjsonStream, toUdmJson } from '../src/udm/index.js';
import { int, passOrMiss, ratio, report, seconds, sig3 } from './lib.js';

const LINES = 1_000_000;
const ROUNDS = 3;
const WARMUP = 50_000;
const TARGET = 0.5;
const HOUR_MS = 3_600_000;
const CHUNK_BYTES = 64 * 1024;

function collectorLines(): string[] {
  const toMs = Date.now() - 10 * 60_000;
  const events = generateDataset({ events: LINES, seed: 7, fromMs: toMs - 24 * HOUR_MS, toMs, bursts: [{ atMs: toMs - 12 * HOUR_MS, count: 1000 }] });
  // What buildPageObject writes with enrichment on (the default).
  return events.map((e) => JSON.stringify({ ...(JSON.parse(e.json) as Record<string, unknown>), eventtype: 'telephony', host: DEFAULT_API_HOST }));
}

/**
 * Both passes write what they produce as NDJSON into a reusable buffer, 64 KiB at a time, as a
 * converter writing a file does: a line built by concatenation is only paid for in full when it is
 * written out, so counting characters alone would flatter it. Returns the bytes written, so the work
 * cannot be optimised away.
 */
function ndjsonWriter(): { add(line: string): void; end(): number } {
  const buffer = Buffer.alloc(4 * CHUNK_BYTES);
  let pending = '';
  let bytes = 0;
  const flush = (): void => {
    // UTF-8 takes at most 3 bytes per UTF-16 unit; a chunk that might not fit gets its own buffer.
    bytes += pending.length * 3 <= buffer.length ? buffer.write(pending) : Buffer.from(pending).length;
    pending = '';
  };
  return {
    add(line) {
      pending += `${line}\n`;
      if (pending.length >= CHUNK_BYTES) flush();
    },
    end() {
      flush();
      return bytes;
    },
  };
}

function baselinePass(lines: readonly string[], count = lines.length): number {
  const out = ndjsonWriter();
  for (let i = 0; i < count; i++) out.add(JSON.stringify(JSON.parse(lines[i] as string)));
  return out.end();
}

function mappingPass(lines: readonly string[], count = lines.length): number {
  const out = ndjsonWriter();
  for (let i = 0; i < count; i++) {
    const r = toUdmJson(JSON.parse(lines[i] as string));
    if (!r.ok) throw new Error(`line ${i + 1} was rejected: ${r.reason}`);
    out.add(r.json);
  }
  return out.end();
}

async function streamPass(ndjson: Buffer): Promise<number> {
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let i = 0; i < ndjson.length; i += CHUNK_BYTES) yield ndjson.subarray(i, i + CHUNK_BYTES);
  }
  let bytes = 0;
  const sinkhole = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      callback();
    },
  });
  const stats = await convertNdjsonStream(chunks(), 'bench', sinkhole, (p) => {
    throw new Error(`line ${p.line} was rejected: ${p.reason}`);
  });
  if (stats.converted !== LINES) throw new Error(`the converter converted ${stats.converted} of ${LINES} lines`);
  return bytes;
}

function collectGarbage(): void {
  // Present when run by the bench runner (node --expose-gc); without it the figures are only noisier.
  (globalThis as { gc?: () => void }).gc?.();
}

function timed(fn: () => number): number {
  collectGarbage();
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

async function timedAsync(fn: () => Promise<number>): Promise<number> {
  collectGarbage();
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export async function run(): Promise<void> {
  const lines = collectorLines();
  const ndjson = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
  baselinePass(lines, WARMUP);
  mappingPass(lines, WARMUP);

  let baseMs = Infinity;
  let mapMs = Infinity;
  let streamMs = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    baseMs = Math.min(baseMs, timed(() => baselinePass(lines)));
    mapMs = Math.min(mapMs, timed(() => mappingPass(lines)));
    streamMs = Math.min(streamMs, await timedAsync(() => streamPass(ndjson)));
  }
  const baseRate = (LINES / baseMs) * 1000;
  const mapRate = (LINES / mapMs) * 1000;
  const streamRate = (LINES / streamMs) * 1000;
  const r = mapRate / baseRate;
  report({
    id: 'udm/toUdmJson',
    status: passOrMiss(r >= TARGET),
    text:
      `${int(LINES)} lines in ${seconds(mapMs)} = ${sig3(mapRate)} lines/s; baseline JSON.parse + JSON.stringify ${sig3(baseRate)} lines/s (${seconds(baseMs)}); ` +
      `ratio ${ratio(r)} (target ≥ ${TARGET}); best of ${ROUNDS}`,
    figures: { lines: LINES, ms: mapMs, linesPerS: mapRate, baselineLinesPerS: baseRate, ratio: r },
  });
  report({
    id: 'udm/stream',
    status: 'INFO',
    text: `convertNdjsonStream over the same ${int(LINES)} lines (${int(ndjson.length)} bytes) in ${seconds(streamMs)} = ${sig3(streamRate)} lines/s; ratio ${ratio(streamRate / baseRate)} to the same baseline (no target)`,
    figures: { lines: LINES, ms: streamMs, linesPerS: streamRate, ratio: streamRate / baseRate },
  });
}
