import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/testing/index.js';
import { StorageError } from '../../src/errors.js';
import { checkpointContract, contractCheckpoint } from './checkpoint.contract.js';
import { contractKey, contractPage, sinkContract } from './sink.contract.js';

sinkContract('memory', async () => {
  const store = createMemoryStore();
  return {
    sink: store.sink(),
    read: async (key) => store.objects.get(key) ?? null,
    another: async () => store.sink(),
    cleanup: async () => {},
  };
});

checkpointContract('memory', async () => {
  const store = createMemoryStore();
  return {
    store: store.checkpoint(),
    another: async () => store.checkpoint(),
    cleanup: async () => {},
  };
});

describe('memory store extras', () => {
  it('fails the next write before it takes effect, then recovers', async () => {
    const store = createMemoryStore();
    const sink = store.sink();
    const page = contractPage(contractKey(), '{"a":1}\n');
    store.failNext('writePage', new StorageError('STORAGE_UNAVAILABLE', 'injected'));
    await expect(sink.writePage(page)).rejects.toThrow('injected');
    expect(store.objects.has(page.key)).toBe(false);
    await expect(sink.writePage(page)).resolves.toBe('created');
  });

  it('can fail after the write landed (an ambiguous failure), so a retry sees `exists`', async () => {
    const store = createMemoryStore();
    const sink = store.sink();
    const page = contractPage(contractKey(), '{"a":1}\n');
    store.failNext('writePage', new StorageError('STORAGE_UNAVAILABLE', 'timeout'), { when: 'after' });
    await expect(sink.writePage(page)).rejects.toThrow('timeout');
    expect(store.objects.has(page.key)).toBe(true);
    await expect(sink.writePage(page)).resolves.toBe('exists');
  });

  it('targets faults at one key and repeats them `times`', async () => {
    const store = createMemoryStore();
    const cp = store.checkpoint('a');
    const other = store.checkpoint('b');
    store.failNext('save', new StorageError('STORAGE_UNAVAILABLE', 'down'), { key: 'a', times: 2 });
    await expect(other.save(contractCheckpoint(1), null)).resolves.toBeTypeOf('string');
    await expect(cp.save(contractCheckpoint(1), null)).rejects.toThrow('down');
    await expect(cp.save(contractCheckpoint(1), null)).rejects.toThrow('down');
    await expect(cp.save(contractCheckpoint(1), null)).resolves.toBeTypeOf('string');
  });

  it('a save that fails after landing moves the version, so a blind retry conflicts', async () => {
    const store = createMemoryStore();
    const cp = store.checkpoint();
    const v1 = await cp.save(contractCheckpoint(1), null);
    store.failNext('save', new StorageError('STORAGE_UNAVAILABLE', 'timeout'), { when: 'after' });
    await expect(cp.save(contractCheckpoint(2), v1)).rejects.toThrow('timeout');
    await expect(cp.save(contractCheckpoint(2), v1)).rejects.toMatchObject({ code: 'CHECKPOINT_CONFLICT' });
    expect((await cp.load())?.data.toString()).toBe(contractCheckpoint(2).toString());
  });

  it('returns a legacy document with version null until the first save', async () => {
    const store = createMemoryStore();
    store.documents.set('duo-telephony/state.json', { data: Buffer.from('{"last_timestamp_ms":1}'), version: 'x' });
    const cp = store.checkpoint('_state/duo-telephony.json', { legacyKey: 'duo-telephony/state.json' });
    const legacy = await cp.load();
    expect(legacy?.version).toBeNull();
    expect(legacy?.location).toBe('memory://duo-telephony/state.json');
    const v = await cp.save(contractCheckpoint(1), null);
    expect((await cp.load())?.version).toBe(v);
    expect(store.documents.get('duo-telephony/state.json')?.data.toString()).toBe('{"last_timestamp_ms":1}');
  });

  it('copies buffers so callers cannot change stored bytes', async () => {
    const store = createMemoryStore();
    const page = contractPage(contractKey(), '{"a":1}\n');
    await store.sink().writePage(page);
    page.body.fill(0);
    expect(store.objects.get(page.key)?.toString()).toBe('{"a":1}\n');
  });

  it('fails the next read on request, for one key if asked, then reads again', async () => {
    const store = createMemoryStore();
    const sink = store.sink();
    const page = contractPage(contractKey(), '{"a":1}\n');
    const other = contractPage(contractKey(), '{"b":1}\n');
    await sink.writePage(page);
    await sink.writePage(other);
    store.failNext('readPage', new StorageError('STORAGE_DENIED', 'denied'), { key: page.key, times: 2 });
    await expect(sink.readPage(other.key)).resolves.toEqual(other.body);
    await expect(sink.readPage(page.key)).rejects.toThrow('denied');
    // A read has no effect to land first: `after` fails it the same way.
    await expect(store.sink().readPage(page.key)).rejects.toThrow('denied');
    store.failNext('readPage', new StorageError('STORAGE_UNAVAILABLE', 'timeout'), { when: 'after' });
    await expect(sink.readPage(page.key)).rejects.toThrow('timeout');
    await expect(sink.readPage(page.key)).resolves.toEqual(page.body);
  });

  it('reads a copy, so callers cannot change stored bytes', async () => {
    const store = createMemoryStore();
    const page = contractPage(contractKey(), '{"a":1}\n');
    await store.sink().writePage(page);
    const read = await store.sink().readPage(page.key);
    read?.fill(0);
    expect(store.objects.get(page.key)?.toString()).toBe('{"a":1}\n');
  });

  it('rejects an aborted read before it could meet a queued fault', async () => {
    const store = createMemoryStore();
    const sink = store.sink();
    const page = contractPage(contractKey(), '{"a":1}\n');
    await sink.writePage(page);
    store.failNext('readPage', new StorageError('STORAGE_UNAVAILABLE', 'queued'));
    const ac = new AbortController();
    ac.abort();
    await expect(sink.readPage(page.key, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    // The fault is still queued: the aborted call never reached the store.
    await expect(sink.readPage(page.key)).rejects.toThrow('queued');
  });

  it('rejects an aborted signal without writing', async () => {
    const store = createMemoryStore();
    const ac = new AbortController();
    ac.abort();
    const page = contractPage(contractKey(), '{"a":1}\n');
    await expect(store.sink().writePage(page, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    await expect(store.checkpoint().save(contractCheckpoint(1), null, ac.signal)).rejects.toMatchObject({ code: 'ABORTED' });
    expect(store.objects.size).toBe(0);
  });
});
