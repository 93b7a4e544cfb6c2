import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { OutputClosedError } from '../../../src/errors.js';
import { createStdoutSink } from '../../../src/sinks/stdout.js';
import { contractKey, contractPage } from '../../contract/sink.contract.js';

const page = (body: string) => contractPage(contractKey(), body);

function collecting(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

describe('stdout sink', () => {
  it('writes each page body as is, in order, and always answers created', async () => {
    const { stream, text } = collecting();
    const sink = createStdoutSink({ stream });
    expect(sink.location).toBe('stdout');
    await expect(sink.writePage(page('{"a":1}\n{"a":2}\n'))).resolves.toBe('created');
    // The same page again is written again: a stream cannot tell (at-least-once).
    const p = page('{"b":1}\n');
    await expect(sink.writePage(p)).resolves.toBe('created');
    await expect(sink.writePage(p)).resolves.toBe('created');
    expect(text()).toBe('{"a":1}\n{"a":2}\n{"b":1}\n{"b":1}\n');
    await sink.close?.();
  });

  it('resolves only after the stream has taken the bytes, waiting out backpressure', async () => {
    const delivered: string[] = [];
    let pending: (() => void)[] = [];
    const slow = new Writable({
      highWaterMark: 4,
      write(chunk: Buffer, _enc, cb) {
        // Hold every chunk until the test releases it: a reader that is not keeping up.
        pending.push(() => {
          delivered.push(chunk.toString());
          cb();
        });
      },
    });
    const sink = createStdoutSink({ stream: slow });
    let done = false;
    const write = sink.writePage(page('{"big":"more than four bytes"}\n')).then((o) => {
      done = true;
      return o;
    });
    // Wait until the stream holds the chunk (an event, not a time): the write must still be pending.
    while (pending.length === 0) await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    expect(delivered).toEqual([]);
    const release = pending;
    pending = [];
    for (const f of release) f();
    await expect(write).resolves.toBe('created');
    expect(delivered).toEqual(['{"big":"more than four bytes"}\n']);
  });

  it('turns a vanished reader (EPIPE) into an OutputClosedError, now and for later writes, without crashing', async () => {
    const broken = new Writable({
      write(_chunk, _enc, cb) {
        cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
      },
    });
    const sink = createStdoutSink({ stream: broken });
    const err = await sink.writePage(page('{"a":1}\n')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutputClosedError);
    expect((err as OutputClosedError).code).toBe('OUTPUT_CLOSED');
    expect((err as OutputClosedError).exitCode).toBe(4);
    expect((err as Error).message).toMatch(/reading side of the pipe went away \(EPIPE\)/);
    // The 'error' event fires after the write callback; give it the chance to (not) crash us.
    await new Promise((r) => setImmediate(r));
    await expect(sink.writePage(page('{"a":2}\n'))).rejects.toBeInstanceOf(OutputClosedError);
  });

  it('rejects writes to a stream that was already closed', async () => {
    const stream = new PassThrough();
    stream.destroy();
    const sink = createStdoutSink({ stream });
    await expect(sink.writePage(page('{"a":1}\n'))).rejects.toBeInstanceOf(OutputClosedError);
  });

  it('does not write when the signal is already aborted', async () => {
    const { stream, text } = collecting();
    const sink = createStdoutSink({ stream });
    const ac = new AbortController();
    ac.abort();
    await expect(sink.writePage(page('{"a":1}\n'), ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(text()).toBe('');
  });

  it('cannot read back what it wrote: every read answers null and leaves the stream alone', async () => {
    const { stream, text } = collecting();
    const sink = createStdoutSink({ stream });
    const p = page('{"a":1}\n');
    await sink.writePage(p);
    await expect(sink.readPage(p.key)).resolves.toBeNull();
    await expect(sink.readPage(contractKey())).resolves.toBeNull();
    expect(text()).toBe('{"a":1}\n');
    const ac = new AbortController();
    ac.abort();
    await expect(sink.readPage(p.key, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    await sink.close?.();
  });

  it('stops listening for stream errors on close', async () => {
    const stream = new PassThrough();
    const before = stream.listenerCount('error');
    const sink = createStdoutSink({ stream });
    expect(stream.listenerCount('error')).toBe(before + 1);
    await sink.writePage(page('{"a":1}\n'));
    expect(stream.listenerCount('error')).toBe(before + 1);
    await sink.close?.();
    expect(stream.listenerCount('error')).toBe(before);
  });
});

describe('stdout sink with concurrent callers', () => {
  it('keeps pages whole and in call order without piling up listeners', async () => {
    const { stream, text } = collecting();
    const sink = createStdoutSink({ stream });
    const bodies = Array.from({ length: 30 }, (_, i) => `{"i":${i}}\n`);
    const base = stream.listenerCount('close');
    const writes = bodies.map((b) => sink.writePage(page(b)));
    await new Promise((r) => setImmediate(r));
    expect(stream.listenerCount('close')).toBeLessThanOrEqual(base + 1);
    await Promise.all(writes);
    expect(text()).toBe(bodies.join(''));
  });
});
