/**
 * The contract every CheckpointStore driver honours (ARCHITECTURE.md, "Tests"). A driver's test file calls
 * `checkpointContract('<driver>', setup)` and then adds its own cases.
 *
 * Compare-and-swap is what lets two runs (a retried Cloud Run function, an overlapping cron job) share
 * one checkpoint: whoever saves second with the same expected version must fail, never overwrite.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CheckpointConflictError } from '../../src/errors.js';
import type { CheckpointStore } from '../../src/checkpoint/types.js';

export interface CheckpointFixture {
  /** The store under test; no checkpoint exists yet. */
  store: CheckpointStore;
  /** Another independent store instance on the same checkpoint (another client, process or function instance). */
  another(): Promise<CheckpointStore>;
  cleanup(): Promise<void>;
}

/** A checkpoint document as the codec writes it; `n` makes each one distinct. */
export function contractCheckpoint(n: number, extra = ''): Buffer {
  return Buffer.from(
    `${JSON.stringify({ version: 1, source: 'telephony', nextMintimeMs: 1_700_000_000_000 + n, boundaryIds: [`id-${n}`, 'ünïcødé'], updatedAt: '2026-11-23T02:00:00.000Z', extra })}\n`,
    'utf8',
  );
}

export function checkpointContract(name: string, setup: () => Promise<CheckpointFixture>): void {
  describe(`CheckpointStore contract: ${name}`, () => {
    let fx: CheckpointFixture;

    beforeEach(async () => {
      fx = await setup();
    });

    afterEach(async () => {
      await fx.store.close?.();
      await fx.cleanup();
    });

    it('has a non-empty human-readable location', () => {
      expect(typeof fx.store.location).toBe('string');
      expect(fx.store.location.length).toBeGreaterThan(0);
    });

    it('loads null when no checkpoint exists', async () => {
      await expect(fx.store.load()).resolves.toBeNull();
    });

    it('creates with save(data, null) and loads the same bytes and version back', async () => {
      const data = contractCheckpoint(1);
      const version = await fx.store.save(data, null);
      expect(typeof version).toBe('string');
      expect(version.length).toBeGreaterThan(0);
      const loaded = await fx.store.load();
      expect(loaded).not.toBeNull();
      expect(Buffer.compare(loaded?.data as Buffer, data)).toBe(0);
      expect(loaded?.version).toBe(version);
      expect(typeof loaded?.location).toBe('string');
      expect(loaded?.location.length).toBeGreaterThan(0);
    });

    it('replaces with the current version and returns a different version', async () => {
      const v1 = await fx.store.save(contractCheckpoint(1), null);
      const data2 = contractCheckpoint(2);
      const v2 = await fx.store.save(data2, v1);
      expect(typeof v2).toBe('string');
      expect(v2).not.toBe(v1);
      const loaded = await fx.store.load();
      expect(Buffer.compare(loaded?.data as Buffer, data2)).toBe(0);
      expect(loaded?.version).toBe(v2);
    });

    it('rejects a stale version with CheckpointConflictError and keeps the stored checkpoint', async () => {
      const v1 = await fx.store.save(contractCheckpoint(1), null);
      const v2 = await fx.store.save(contractCheckpoint(2), v1);
      const data3 = contractCheckpoint(3);
      const v3 = await fx.store.save(data3, v2);
      for (const stale of [v1, v2]) {
        await expect(fx.store.save(contractCheckpoint(99), stale)).rejects.toBeInstanceOf(CheckpointConflictError);
      }
      const loaded = await fx.store.load();
      expect(Buffer.compare(loaded?.data as Buffer, data3)).toBe(0);
      expect(loaded?.version).toBe(v3);
    });

    it('rejects save(data, null) when a checkpoint already exists', async () => {
      const data = contractCheckpoint(1);
      const v1 = await fx.store.save(data, null);
      await expect(fx.store.save(contractCheckpoint(2), null)).rejects.toBeInstanceOf(CheckpointConflictError);
      const loaded = await fx.store.load();
      expect(Buffer.compare(loaded?.data as Buffer, data)).toBe(0);
      expect(loaded?.version).toBe(v1);
    });

    it('lets exactly one of 4 concurrent first saves (expected null) succeed', async () => {
      const stores = [fx.store, await fx.another(), await fx.another(), await fx.another()];
      try {
        const settled = await Promise.allSettled(stores.map((s, i) => s.save(contractCheckpoint(10 + i), null)));
        await expectOneWinner(settled, fx.store);
      } finally {
        await Promise.all(stores.slice(1).map((s) => s.close?.()));
      }
    });

    it('lets exactly one of 4 concurrent saves with the same expected version succeed', async () => {
      const stores = [fx.store, await fx.another(), await fx.another(), await fx.another()];
      try {
        const v1 = await fx.store.save(contractCheckpoint(1), null);
        const settled = await Promise.allSettled(stores.map((s, i) => s.save(contractCheckpoint(20 + i), v1)));
        await expectOneWinner(settled, fx.store, 20);
      } finally {
        await Promise.all(stores.slice(1).map((s) => s.close?.()));
      }
    });

    it('shows one instance’s saves to another instance', async () => {
      const other = await fx.another();
      try {
        await expect(other.load()).resolves.toBeNull();
        const v1 = await fx.store.save(contractCheckpoint(1), null);
        const seen = await other.load();
        expect(seen?.version).toBe(v1);
        expect(Buffer.compare(seen?.data as Buffer, contractCheckpoint(1))).toBe(0);
        // And the other way round, continuing from what it saw.
        const v2 = await other.save(contractCheckpoint(2), v1);
        const back = await fx.store.load();
        expect(back?.version).toBe(v2);
        expect(Buffer.compare(back?.data as Buffer, contractCheckpoint(2))).toBe(0);
        await expect(fx.store.save(contractCheckpoint(3), v1)).rejects.toBeInstanceOf(CheckpointConflictError);
      } finally {
        await other.close?.();
      }
    });

    it('reports no hand-edited copy after its own saves, and offers as previous only the document saved before', async () => {
      let current: string | null = null;
      for (let i = 1; i <= 3; i++) current = await fx.store.save(contractCheckpoint(i), current);
      const loaded = await fx.store.load();
      expect(loaded?.editedCopy).toBeUndefined();
      // `previous` is optional (a store may keep no history); when offered, it is the save before.
      if (loaded?.previous) {
        expect(Buffer.compare(loaded.previous.data, contractCheckpoint(2))).toBe(0);
        expect(loaded.previous.location).not.toBe(loaded.location);
        expect(loaded.previous.restoreCommand.length).toBeGreaterThan(0);
      }
    });

    it('issues opaque, distinct string versions for successive saves', async () => {
      const versions: string[] = [];
      let current: string | null = null;
      for (let i = 0; i < 6; i++) {
        current = await fx.store.save(contractCheckpoint(i), current);
        expect(typeof current).toBe('string');
        expect(current.length).toBeGreaterThan(0);
        versions.push(current);
      }
      expect(new Set(versions).size).toBe(versions.length);
      expect((await fx.store.load())?.version).toBe(current);
    });
  });
}

/** One fulfilled save, every other one a CheckpointConflictError, and the store holds the winner's data. */
async function expectOneWinner(settled: PromiseSettledResult<string>[], store: CheckpointStore, base = 10): Promise<void> {
  const won = settled.flatMap((r, i) => (r.status === 'fulfilled' ? [{ i, version: r.value }] : []));
  expect(won).toHaveLength(1);
  for (const r of settled) {
    if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(CheckpointConflictError);
  }
  const winner = won[0] as { i: number; version: string };
  const loaded = await store.load();
  expect(loaded?.version).toBe(winner.version);
  expect(Buffer.compare(loaded?.data as Buffer, contractCheckpoint(base + winner.i))).toBe(0);
}
