import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { addStats, convertNdjsonStream, emptyStats, invalidUtf8At, otherStreamOf, type ConvertOptions, type LineProblem } from '../../../src/udm/stream.js';
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

  it('rejects a line that is not UTF-8 with its number and the bad byte, instead of replacing the byte', async () => {
    const item = EXAMPLE_ITEMS[0]!;
    // The phone of a good line with bytes that no UTF-8 text has, as a broken export would leave it.
    const phoneWith = (bad: number[]): Buffer => {
      const [before, after] = JSON.stringify(item).split(item.phone!);
      return Buffer.concat([Buffer.from(`${before}${item.phone!.slice(0, 5)}`), Buffer.from(bad), Buffer.from(`${item.phone!.slice(5)}${after}`)]);
    };
    const at = Buffer.from(JSON.stringify(item).split(item.phone!)[0]!).length + 5 + 1;
    const lines: Buffer[] = [
      Buffer.from(GOOD[1]!),
      phoneWith([0xff, 0xfe]), // not a UTF-8 byte at all
      phoneWith([0x80]), // a continuation byte with no lead
      phoneWith([0xe2, 0x98]), // a three-byte character cut after two
      phoneWith([0xc0, 0xaf]), // an overlong "/"
      phoneWith([0xed, 0xa0, 0x80]), // a UTF-16 surrogate
      phoneWith([0xf4, 0x90, 0x80, 0x80]), // above U+10FFFF
      Buffer.from(GOOD[2]!),
      Buffer.from([0x7b, 0xc3]), // the last line, cut inside a character
    ];
    const { stats, problems, lines: out } = await convert([Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])).subarray(0, -1)]);
    expect(problems).toEqual([
      { file: 'in.ndjson', line: 2, reason: `not valid UTF-8 (0xFF at byte ${at})` },
      { file: 'in.ndjson', line: 3, reason: `not valid UTF-8 (0x80 at byte ${at})` },
      { file: 'in.ndjson', line: 4, reason: `not valid UTF-8 (0xE2 at byte ${at})` },
      { file: 'in.ndjson', line: 5, reason: `not valid UTF-8 (0xC0 at byte ${at})` },
      { file: 'in.ndjson', line: 6, reason: `not valid UTF-8 (0xED at byte ${at})` },
      { file: 'in.ndjson', line: 7, reason: `not valid UTF-8 (0xF4 at byte ${at})` },
      { file: 'in.ndjson', line: 9, reason: 'not valid UTF-8 (0xC3 at byte 2)' },
    ]);
    expect(stats).toMatchObject({ lines: 9, converted: 2, rejected: 7 });
    expect(out.map((e) => (e['metadata'] as Record<string, unknown>)['productLogId'])).toEqual([EXAMPLE_ITEMS[1]!.telephony_id, EXAMPLE_ITEMS[2]!.telephony_id]);
    expect(JSON.stringify(out)).not.toContain('\uFFFD');
  });

  it('finds the same bad UTF-8 however the bytes are cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constantFrom(...GOOD.map((l) => Buffer.from(l!))), fc.uint8Array({ maxLength: 12 }).map((b) => Buffer.from(b))), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 40 }), { maxLength: 12 }),
        async (lines, sizes) => {
          const bytes = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]));
          const chunks: Buffer[] = [];
          let at = 0;
          for (const size of sizes) {
            if (at >= bytes.length) break;
            chunks.push(bytes.subarray(at, at + size));
            at += size;
          }
          if (at < bytes.length) chunks.push(bytes.subarray(at));
          expect(await convert(chunks)).toEqual(await convert([bytes]));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('counts the length limit in characters, however many bytes each takes', async () => {
    const line = (text: string): string => `{"ts":"2023-01-01T00:00:00Z","context":"${text}"}`;
    const fits = line('☎'.repeat(900)); // 942 characters, 2,742 bytes
    const over = line('x'.repeat(1000)); // 1,042 characters and bytes
    const farOver = line('☎'.repeat(1100)); // 3,342 bytes, over 3 per character: dropped as it streams past
    const { problems, stats } = await convert([`${fits}\n${over}\n`, ...Buffer.from(`${farOver}\n${fits}`).toString('latin1').match(/.{1,500}/gs)!.map((s) => Buffer.from(s, 'latin1'))], {
      maxLineLength: 1000,
    });
    expect(problems).toEqual([
      { file: 'in.ndjson', line: 2, reason: 'line longer than 1000 characters' },
      { file: 'in.ndjson', line: 3, reason: 'line longer than 1000 characters' },
    ]);
    expect(stats).toMatchObject({ converted: 2, rejected: 2 });
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

  it('finds bad UTF-8 exactly where Node and the WHATWG decoder do', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 16 }), (bytes) => {
        const at = invalidUtf8At(bytes);
        expect(at === -1).toBe(isUtf8(bytes));
        if (at >= 0) {
          // Everything before it decodes; with it, decoding fails.
          expect(isUtf8(bytes.subarray(0, at))).toBe(true);
          expect(() => new TextDecoder('utf-8', { fatal: true }).decode(bytes)).toThrow();
        }
      }),
      { numRuns: 5000 },
    );
    expect(invalidUtf8At(Buffer.from('vérification ☎ 電話 😀'))).toBe(-1);
    expect(invalidUtf8At(Buffer.from([0x61, 0xf0, 0x9f, 0x98]))).toBe(1);
  });

  it('adds up stats over several inputs', () => {
    const a = { lines: 3, converted: 2, rejected: 1, byEventType: { STATUS_UPDATE: 2 } };
    const b = { lines: 1, converted: 1, rejected: 0, byEventType: { STATUS_UPDATE: 1, GENERIC_EVENT: 0 } };
    expect(addStats(addStats(emptyStats(), a), b)).toEqual({ lines: 4, converted: 3, rejected: 1, byEventType: { STATUS_UPDATE: 3, GENERIC_EVENT: 0 } });
  });
});

describe('lines of the other Duo log streams', () => {
  it.each([
    [{ eventtype: 'authentication', txid: 't' }, 'authentication'],
    [{ txid: 't', access_device: {}, factor: 'duo_push' }, 'authentication'],
    [{ activity_id: 'a', ts: '2026-01-01T00:00:00+00:00' }, 'activity'],
    [{ sekey: 's', surfaced_timestamp: 1 }, 'trust_monitor'],
    [{ action: 'admin_login', username: 'x', timestamp: 1 }, 'administrator'],
    [{ telephony_id: 'x', txid: 't', eventtype: 'telephony' }, undefined],
    [{ phone: '+1', ts: '2026-01-01T00:00:00+00:00' }, undefined],
  ])('tells %j apart as %s', (item, stream) => {
    expect(otherStreamOf(item)).toBe(stream);
  });

  it('rejects them with who maps them instead', async () => {
    const out = new PassThrough();
    const rejected: string[] = [];
    const lines = `${JSON.stringify({ eventtype: 'authentication', txid: 't' })}\n${JSON.stringify({ sekey: 's', surfaced_timestamp: 1 })}\n`;
    const stats = await convertNdjsonStream(Readable.from([Buffer.from(lines)]), 'x.json', out, (r) => rejected.push(r.reason));
    expect(stats).toMatchObject({ lines: 2, converted: 0, rejected: 2 });
    expect(rejected).toEqual([
      "an authentication event: udm maps the telephony log only; SecOps' own DUO_AUTH parser maps this stream",
      'a trust_monitor event: udm maps the telephony log only; SecOps has no default parser for DUO_TRUST_MONITOR (a custom parser maps it)',
    ]);
  });
});
