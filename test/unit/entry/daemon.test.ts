import { describe, expect, it } from 'vitest';
import { startDaemon } from '../../../src/entry/daemon.js';
import { watchParent } from '../../../src/entry/parent.js';
import { onStopSignals } from '../../../src/entry/signals.js';
import { ConfigError, DuoApiError, StorageError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/log.js';
import type { CollectionSummary } from '../../../src/collect/run-streams.js';

/** A schedule that never comes within a test: only the run at start happens. */
const NEVER = '0 0 1 1 *';

describe('daemon', () => {
  it.each([
    ['a configuration error', new ConfigError(['GCS_BUCKET: must be a bucket name']), 2],
    ['refused credentials', new DuoApiError('DUO_UNAUTHORIZED', { httpStatus: 401, duoCode: 40103, path: '/p' }, {}), 3],
    ['a missing bucket', new StorageError('STORAGE_NOT_FOUND', 'bucket b does not exist'), 2],
  ])('stops on %s, which another tick cannot cure', async (_, error, exit) => {
    let runs = 0;
    const daemon = startDaemon({ collector: { run: async () => { runs += 1; throw error; } }, schedule: NEVER, logger: silentLogger() });
    const err = await daemon.failed.catch((e: unknown) => e);
    expect(err).toBe(error);
    expect((err as ConfigError).exitCode).toBe(exit);
    expect(daemon.nextRun()).toBeNull();
    expect(runs).toBe(1);
    await daemon.stop();
  });

  it('keeps going after a failure the next tick may cure', async () => {
    const results: Array<CollectionSummary | Error> = [];
    let runs = 0;
    const daemon = startDaemon({
      collector: { run: async () => { runs += 1; throw new StorageError('STORAGE_UNAVAILABLE', 'GCS 503'); } },
      schedule: NEVER,
      logger: silentLogger(),
      onRun: (r) => results.push(r),
    });
    await new Promise<void>((resolve) => {
      const check = (): void => (results.length > 0 ? resolve() : void setImmediate(check));
      check();
    });
    const settled = await Promise.race([daemon.failed.then(() => 'failed', () => 'failed'), new Promise((r) => setImmediate(() => r('running')))]);
    expect(settled).toBe('running');
    expect(daemon.nextRun()).not.toBeNull();
    expect(runs).toBe(1);
    await daemon.stop();
  });
});

describe('watchParent', () => {
  it('calls back once when the parent pid changes (the starter is gone), never before', async () => {
    let ppid = 4242;
    let calls = 0;
    const watch = watchParent(() => (calls += 1), { everyMs: 5, ppid: () => ppid });
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(0);
    ppid = 1;
    await new Promise<void>((resolve) => {
      const check = (): void => (calls > 0 ? resolve() : void setTimeout(check, 5));
      check();
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(calls).toBe(1);
    watch.dispose();
  });

  it('does not watch a process started by init', () => {
    let asked = 0;
    watchParent(() => {}, { ppid: () => ((asked += 1), 1) }).dispose();
    expect(asked).toBe(1);
  });
});

describe('stop signals', () => {
  it.each([
    ['SIGTERM', 0, 143],
    ['SIGINT', 130, 130],
  ] as const)('%s: a clean stop exits %i; a second one exits %i at once', (signal, clean, forced) => {
    const stops: string[] = [];
    const exits: number[] = [];
    const s = onStopSignals((sig) => stops.push(sig), { exit: (n) => void exits.push(n) });
    try {
      process.emit(signal, signal);
      expect(stops).toEqual([signal]);
      expect(s.received).toBe(signal);
      expect(s.exitStatus).toBe(clean);
      expect(exits).toEqual([]);
      process.emit(signal, signal);
      expect(exits).toEqual([forced]);
    } finally {
      s.dispose();
    }
  });
});
