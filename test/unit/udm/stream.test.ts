import { Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { addStats, convertNdjsonStream, emptyStats, type ConvertOptions, type LineProblem } from '../../../src/udm/stream.js';
import { EXAMPLE_ITEMS } from './examples.js';

/** A Writable that keeps what it is given; `highWaterMark` small to force backpressure. */
function sink(opts: { highWaterMark?: number; delayMs?: number } = {}): { out: Writable; text: () => string; writes: () => number } {
  const chunks: string[] = [];
  const out = new Writable({
    highWaterMark: opts.highWaterMark ?? 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      if (opts.delayMs) setTimeout(cb, opts.delayMs);
      else cb();
    },
  });
  return { out, text: () => chunks.join(''), writes: () => chunks.length };
}

async function convert(input: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>, opts?: ConvertOptions) {
  const { out, text } = sink();
  const problems: LineProblem[] = [];
  const stats = await convertNdjsonStream(Readable.from(input, { objectMode: true }), 'in.ndjson', out, (p) => problems.push(p), opts);
  return { stats, problems, lines: text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const GOOD = EXAMPLE_ITEMS.map((i) => JSON.stringify(i));

describe('convertNdjsonStream', () => {
  it('converts every good line and reports every bad one by line number, in order', async () => {
    const input = [
      GOOD[0],
      'not json',
      '[1,2,3]',
      '',
      GOOD[1],
      '{"context":"enrollment"}',
      '{"ts":"2023-02-30T00:00:00Z"}',
      '{"ts": "2023-01-01T00:00:00Z", "host": "192.0.2.1"',
      '{"ts":"2023-01-01T00:00:00Z"}',
      GOOD[2],
      '"a string"',
    ].join('\n');
    const { stats, problems, lines } = await convert([input]);
    expect(problems).toEqual([
      { file: 'in.ndjson', line: 2, reason: 'not valid JSON (unexpected "o")' },
      { file: 'in.ndjson', line: 3, reason: 'not a JSON object (got an array)' },
      { file: 'in.ndjson', line: 6, reason: 'no ts field' },
      { file: 'in.ndjson', line: 7, reason: 'ts "2023-02-30T00:00:00Z" has no day 30 in that month' },
      { file: 'in.ndjson', line: 8, reason: 'not valid JSON (truncated)' },
      { file: 'in.ndjson', line: 11, reason: 'not a JSON object (got a string)' },
    ]);
    expect(stats).toEqual({ lines: 10, converted: 4, rejected: 6, byEventType: { USER_UNCATEGORIZED: 3, GENERIC_EVENT: 1 } });
    expect(lines).toHaveLength(4);
  });

  it('does not echo the bad line in the reason (lines hold phone numbers)', async () => {
    const { problems } = await convert(['{"phone":"+12125556707", oops}\n']);
    expect(problems[0]?.reason).not.toContain('12125556707');
  });

  it('handles CRLF, a BOM, blank lines and a last line without a newline', async () => {
    const { stats, problems, lines } = await convert([`\uFEFF${GOOD[0]}\r\n\r\n   \n${GOOD[1]}\r\n${GOOD[2]}`]);
    expect(problems).toEqual([]);
    expect(stats.lines).toBe(3);
    expect(lines.map((l) => (l['metadata'] as Record<string, unknown>)['productLogId'])).toEqual(EXAMPLE_ITEMS.map((i) => i.telephony_id));
  });

  it('gives the same result however the input is cut into chunks, even inside a UTF-8 character', async () => {
    const text = `${GOOD[0]}\n{"ts":"2023-01-01T00:00:00Z","context":"vérification ☎ 電話","host":"h"}\nbad\n${GOOD[1]}\n`;
    const bytes = Buffer.from(text, 'utf8');
    const whole = await convert([bytes]);
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.integer({ min: 1, max: bytes.length - 1 }), { maxLength: 12 }), async (cuts) => {
        const points = [0, ...cuts.sort((a, b) => a - b), bytes.length];
        const chunks = points.slice(1).map((end, i) => bytes.subarray(points[i], end));
        const split = await convert(chunks);
        expect(split).toEqual(whole);
      }),
      { numRuns: 200 },
    );
    expect((whole.lines[1]?.['metadata'] as Record<string, unknown>)['productEventType']).toBe('vérification ☎ 電話');
  });

  it('rejects an over-long line without holding it, and carries on after it', async () => {
    const long = `{"ts":"2023-01-01T00:00:00Z","pad":"${'x'.repeat(5000)}"}`;
    const chunks = [GOOD[0] + '\n', ...long.match(/.{1,700}/g)!, '\n', GOOD[1] + '\n', long];
    const { stats, problems } = await convert(chunks, { maxLineLength: 1000 });
    expect(problems).toEqual([
      { file: 'in.ndjson', line: 2, reason: 'line longer than 1000 characters' },
      { file: 'in.ndjson', line: 4, reason: 'line longer than 1000 characters' },
    ]);
    expect(stats).toMatchObject({ lines: 4, converted: 2, rejected: 2 });
    const whole = await convert([`${long}\n${GOOD[0]}\n`], { maxLineLength: 1000 });
    expect(whole.problems).toEqual([{ file: 'in.ndjson', line: 1, reason: 'line longer than 1000 characters' }]);
    expect(whole.stats).toMatchObject({ converted: 1, rejected: 1 });
  });

  it('passes options through: snake_case and logType', async () => {
    const { lines } = await convert([GOOD[0]!], { case: 'snake', logType: 'DUO_TELEPHONY' });
    expect(lines[0]?.['metadata']).toMatchObject({ event_type: 'USER_UNCATEGORIZED', log_type: 'DUO_TELEPHONY' });
  });

  it('waits for a slow output instead of buffering (backpressure)', async () => {
    const { out, text, writes } = sink({ highWaterMark: 64, delayMs: 1 });
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      for (let i = 0; i < 50; i += 1) {
        pulled += 1;
        // The reader must not run ahead of the writer by more than one chunk.
        expect(pulled - writes()).toBeLessThanOrEqual(2);
        yield `${GOOD[i % 3]}\n`;
      }
    }
    const stats = await convertNdjsonStream(source(), 'slow', out, () => undefined);
    await new Promise<void>((resolve) => out.end(resolve));
    expect(stats.converted).toBe(50);
    expect(text().split('\n').filter(Boolean)).toHaveLength(50);
  });

  it('fails when the output fails, instead of hanging', async () => {
    const out = new Writable({
      highWaterMark: 16,
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const lines = Array.from({ length: 100 }, (_, i) => `${GOOD[i % 3]}\n`);
    await expect(convertNdjsonStream(Readable.from(lines), 'x', out, () => undefined)).rejects.toThrow('EPIPE');
  });

  it('adds up stats over several inputs', () => {
    const a = { lines: 3, converted: 2, rejected: 1, byEventType: { STATUS_UPDATE: 2 } };
    const b = { lines: 1, converted: 1, rejected: 0, byEventType: { STATUS_UPDATE: 1, GENERIC_EVENT: 0 } };
    expect(addStats(addStats(emptyStats(), a), b)).toEqual({ lines: 4, converted: 3, rejected: 1, byEventType: { STATUS_UPDATE: 3, GENERIC_EVENT: 0 } });
  });
});
