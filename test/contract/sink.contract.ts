/**
 * The contract every Sink driver honours (ARCHITECTURE.md, "Tests"). A driver's test file calls
 * `sinkContract('<driver>', setup)` and then adds its own cases.
 *
 * The collector's exactly-once guarantee rests on these properties: an object name is written at most
 * once, a retry of the same page is recognised as `exists`, and a different page under the same name is
 * never silently accepted. And a page can be read back by name, exactly as stored, so a run can
 * reconcile a page whose name already holds different content.
 */
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, ObjectConflictError } from '../../src/errors.js';
import { formatObjectName, parseObjectName } from '../../src/sinks/object-name.js';
import type { PageObject, Sink, WriteOutcome } from '../../src/sinks/types.js';

export interface SinkFixture {
  /** The sink under test, on a store that is empty for this test. */
  sink: Sink;
  /** The stored bytes of `key` read back directly from the store (not through the sink), null when absent. */
  read(key: string): Promise<Buffer | null>;
  /** Another independent sink instance on the same store (another client, process or function instance). */
  another(): Promise<Sink>;
  cleanup(): Promise<void>;
  /** Requests that have reached the store so far, for a store that can count them (a test server). */
  requests?(): number;
}

let seq = 0;

/** A realistic object name, unique per call so suites can share a store without collisions. */
export function contractKey(page = 1): string {
  seq += 1;
  const mintimeMs = 1_700_000_000_000 + seq * 86_400_000;
  const d = new Date(mintimeMs);
  const day = `${d.getUTCFullYear()}/${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}`;
  return `duo-telephony/${day}/telephony_${mintimeMs}_${mintimeMs + 3_600_000}_p${String(page).padStart(5, '0')}.json`;
}

/** A PageObject for `body`, with the hash computed the way the collector does. */
export function contractPage(key: string, body: Buffer | string): PageObject {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const lines = buf.toString('utf8').split('\n').filter((l) => l.length > 0);
  return {
    key,
    body: buf,
    sha256: createHash('sha256').update(buf).digest('hex'),
    itemCount: lines.length,
    firstTs: '2023-11-14T22:13:20.000000+00:00',
    lastTs: '2023-11-14T22:13:21.000000+00:00',
  };
}

/** The name of supplement `n` of the page named `key`, by the collector's own grammar. */
export function supplementKey(key: string, n: number): string {
  const name = parseObjectName(key);
  if (name === null) throw new Error(`not an object name: ${key}`);
  return formatObjectName({ ...name, supplement: n });
}

function ndjson(n: number, tag: string): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += `{"context":"authentication","credits":1,"phone":"+1555000${String(i).padStart(4, '0')}","telephony_id":"${tag}-${i}","ts":"2023-11-14T22:13:20.${String(i % 1_000_000).padStart(6, '0')}+00:00","type":"sms"}\n`;
  }
  return out;
}

export function sinkContract(name: string, setup: () => Promise<SinkFixture>): void {
  describe(`Sink contract: ${name}`, () => {
    let fx: SinkFixture;

    beforeEach(async () => {
      fx = await setup();
    });

    afterEach(async () => {
      await fx.sink.close?.();
      await fx.cleanup();
    });

    it('has a non-empty human-readable location', () => {
      expect(typeof fx.sink.location).toBe('string');
      expect(fx.sink.location.length).toBeGreaterThan(0);
    });

    it('creates an object and stores the exact bytes', async () => {
      const key = contractKey();
      const page = contractPage(key, ndjson(3, 'a'));
      await expect(fx.sink.writePage(page)).resolves.toBe('created');
      const stored = await fx.read(key);
      expect(stored).not.toBeNull();
      expect(Buffer.compare(stored as Buffer, page.body)).toBe(0);
    });

    it('answers `exists` for a second write of identical content and leaves the object unchanged', async () => {
      const key = contractKey();
      const page = contractPage(key, ndjson(5, 'same'));
      await expect(fx.sink.writePage(page)).resolves.toBe('created');
      // A fresh PageObject with equal content: a retry of the same page by a later run.
      await expect(fx.sink.writePage(contractPage(key, Buffer.from(page.body)))).resolves.toBe('exists');
      const stored = await fx.read(key);
      expect(Buffer.compare(stored as Buffer, page.body)).toBe(0);
    });

    it('rejects different content under an existing name with ObjectConflictError and keeps the original', async () => {
      const key = contractKey();
      const original = contractPage(key, ndjson(4, 'original'));
      const other = contractPage(key, ndjson(4, 'other'));
      await expect(fx.sink.writePage(original)).resolves.toBe('created');
      await expect(fx.sink.writePage(other)).rejects.toBeInstanceOf(ObjectConflictError);
      const stored = await fx.read(key);
      expect(Buffer.compare(stored as Buffer, original.body)).toBe(0);
    });

    it('creates the intermediate folders of nested keys', async () => {
      const deep = `${contractKey().replace(/\.json$/, '')}/a/b/c/d/telephony_1_2_p00001.json`;
      const keys = [contractKey(), contractKey(7), deep];
      for (const key of keys) {
        const page = contractPage(key, ndjson(1, key));
        await expect(fx.sink.writePage(page)).resolves.toBe('created');
        const stored = await fx.read(key);
        expect(Buffer.compare(stored as Buffer, page.body)).toBe(0);
      }
    });

    it('lets exactly one of 4 concurrent writers of the same object create it', async () => {
      const sinks = [fx.sink, await fx.another(), await fx.another(), await fx.another()];
      try {
        const key = contractKey();
        const body = ndjson(200, 'race');
        const outcomes = await Promise.all(sinks.map((s) => s.writePage(contractPage(key, body))));
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'exists')).toHaveLength(3);
        const stored = await fx.read(key);
        expect(stored?.toString('utf8')).toBe(body);
      } finally {
        await Promise.all(sinks.slice(1).map((s) => s.close?.()));
      }
    });

    it('keeps exactly one of 4 concurrent writers of different contents and rejects the others', async () => {
      const sinks = [fx.sink, await fx.another(), await fx.another(), await fx.another()];
      try {
        const key = contractKey();
        const bodies = sinks.map((_, i) => ndjson(50, `writer-${i}`));
        const settled = await Promise.allSettled(sinks.map((s, i) => s.writePage(contractPage(key, bodies[i] as string))));
        const created = settled.filter((r): r is PromiseFulfilledResult<WriteOutcome> => r.status === 'fulfilled');
        const rejected = settled.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        expect(created.map((r) => r.value)).toEqual(['created']);
        expect(rejected).toHaveLength(3);
        for (const r of rejected) expect(r.reason).toBeInstanceOf(ObjectConflictError);
        const winner = settled.findIndex((r) => r.status === 'fulfilled');
        expect((await fx.read(key))?.toString('utf8')).toBe(bodies[winner]);
      } finally {
        await Promise.all(sinks.slice(1).map((s) => s.close?.()));
      }
    });

    it('writes many distinct objects concurrently', async () => {
      const pages = Array.from({ length: 40 }, (_, i) => contractPage(contractKey(i + 1), ndjson(3, `many-${i}`)));
      const outcomes = await Promise.all(pages.map((p) => fx.sink.writePage(p)));
      expect(outcomes.every((o) => o === 'created')).toBe(true);
      for (const p of pages) {
        const stored = await fx.read(p.key);
        expect(Buffer.compare(stored as Buffer, p.body)).toBe(0);
      }
    });

    it('stores a tiny body (one empty line)', async () => {
      const key = contractKey();
      const page = contractPage(key, '\n');
      await expect(fx.sink.writePage(page)).resolves.toBe('created');
      expect((await fx.read(key))?.toString('utf8')).toBe('\n');
      await expect(fx.sink.writePage(contractPage(key, '\n'))).resolves.toBe('exists');
    });

    it('stores a large body (a few MB) byte for byte', async () => {
      const key = contractKey();
      const body = Buffer.from(ndjson(22_000, 'large'), 'utf8');
      expect(body.length).toBeGreaterThan(3_000_000);
      await expect(fx.sink.writePage(contractPage(key, body))).resolves.toBe('created');
      const stored = await fx.read(key);
      expect(stored?.length).toBe(body.length);
      expect(Buffer.compare(stored as Buffer, body)).toBe(0);
      await expect(fx.sink.writePage(contractPage(key, Buffer.from(body)))).resolves.toBe('exists');
      const read = await fx.sink.readPage(key);
      expect(read?.length).toBe(body.length);
      expect(Buffer.compare(read as Buffer, body)).toBe(0);
    });

    it('reads null for a name never written, in a folder that exists and in one that does not', async () => {
      const written = contractPage(contractKey(2), ndjson(2, 'neighbour'));
      await expect(fx.sink.writePage(written)).resolves.toBe('created');
      // Same folder as an object that exists, then a folder nothing was ever written to.
      const sibling = written.key.replace(/_p00002\.json$/, '_p00003.json');
      expect(sibling).not.toBe(written.key);
      await expect(fx.sink.readPage(sibling)).resolves.toBeNull();
      await expect(fx.sink.readPage(contractKey())).resolves.toBeNull();
      await expect(fx.sink.readPage(`never-written/${contractKey()}`)).resolves.toBeNull();
    });

    it('reads exactly the bytes written, also after an `exists` and after a conflict', async () => {
      const key = contractKey();
      const page = contractPage(key, ndjson(6, 'read'));
      await expect(fx.sink.writePage(page)).resolves.toBe('created');
      const first = await fx.sink.readPage(key);
      expect(first).toBeInstanceOf(Buffer);
      expect(Buffer.compare(first as Buffer, page.body)).toBe(0);

      await expect(fx.sink.writePage(contractPage(key, Buffer.from(page.body)))).resolves.toBe('exists');
      expect(Buffer.compare((await fx.sink.readPage(key)) as Buffer, page.body)).toBe(0);

      // The case reads are for: a later attempt collected the page with one more event.
      const later = contractPage(key, `${page.body.toString('utf8')}${ndjson(1, 'late')}`);
      await expect(fx.sink.writePage(later)).rejects.toBeInstanceOf(ObjectConflictError);
      expect(Buffer.compare((await fx.sink.readPage(key)) as Buffer, page.body)).toBe(0);

      // Another instance on the same store reads the same bytes.
      const other = await fx.another();
      try {
        expect(Buffer.compare((await other.readPage(key)) as Buffer, page.body)).toBe(0);
      } finally {
        await other.close?.();
      }
    });

    it('treats a supplementary object name as just another name', async () => {
      const key = contractKey(3);
      const s1 = supplementKey(key, 1);
      expect(s1).toMatch(/_p00003_s1\.json$/);
      const page = contractPage(key, ndjson(3, 'page'));
      const supplement = contractPage(s1, ndjson(1, 'supplement'));
      await expect(fx.sink.readPage(s1)).resolves.toBeNull();
      await expect(fx.sink.writePage(page)).resolves.toBe('created');
      await expect(fx.sink.readPage(s1)).resolves.toBeNull();
      await expect(fx.sink.writePage(supplement)).resolves.toBe('created');
      expect((await fx.sink.readPage(key))?.toString('utf8')).toBe(page.body.toString('utf8'));
      expect((await fx.sink.readPage(s1))?.toString('utf8')).toBe(supplement.body.toString('utf8'));
      await expect(fx.sink.readPage(supplementKey(key, 2))).resolves.toBeNull();
      // Create-only holds for supplements too.
      await expect(fx.sink.writePage(contractPage(s1, ndjson(2, 'other')))).rejects.toBeInstanceOf(ObjectConflictError);
      expect((await fx.sink.readPage(s1))?.toString('utf8')).toBe(supplement.body.toString('utf8'));
    });

    it('reads objects spread over several folders under a prefix', async () => {
      const prefix = 'tenant-a/secops/duo';
      // Different days (one date folder each), two pages of one window, a supplement, a deeper name.
      const keys = [contractKey(1), contractKey(1), contractKey(4)].map((k) => `${prefix}/${k}`);
      const first = keys[0] as string;
      keys.push(first.replace(/_p00001\.json$/, '_p00002.json'), supplementKey(first, 1), `${prefix}/extra/a/b/${contractKey()}`);
      const pages = keys.map((k, i) => contractPage(k, ndjson(i + 1, `folders-${i}`)));
      for (const p of pages) await expect(fx.sink.writePage(p)).resolves.toBe('created');
      const read = await Promise.all(pages.map((p) => fx.sink.readPage(p.key)));
      read.forEach((bytes, i) => expect(bytes?.toString('utf8')).toBe(pages[i]?.body.toString('utf8')));
      // A name beside the stored ones is no object.
      await expect(fx.sink.readPage(`${prefix}/${contractKey()}`)).resolves.toBeNull();
    });

    it('rejects a read with an aborted signal before any I/O', async () => {
      const key = contractKey();
      await expect(fx.sink.writePage(contractPage(key, ndjson(1, 'abort')))).resolves.toBe('created');
      const before = fx.requests?.();
      const controller = new AbortController();
      controller.abort();
      await expect(fx.sink.readPage(key, controller.signal)).rejects.toBeInstanceOf(AbortedError);
      await expect(fx.sink.readPage(contractKey(), controller.signal)).rejects.toMatchObject({ code: 'ABORTED' });
      expect(fx.requests?.()).toBe(before);
    });
  });
}
