import { describe, expect, it } from 'vitest';
import { createTurns, runStreams, worstFailure, type CollectionSummary } from '../../../src/collect/run-streams.js';
import type { RunSummary } from '../../../src/collect/run.js';
import { AbortedError, CollectorError, DuoApiError, StorageError } from '../../../src/errors.js';

const refused = (status: number): DuoApiError => new DuoApiError(status === 403 ? 'DUO_FORBIDDEN' : 'DUO_BAD_REQUEST', { httpStatus: status, path: '/x' }, {});
const ok = (stream: RunSummary['stream']): (() => Promise<RunSummary>) => async () => ({ stream, outcome: 'caught-up' }) as RunSummary;
const fails = (err: unknown): (() => Promise<RunSummary>) => async () => {
  throw err;
};

describe('runStreams', () => {
  it('reports a 403 or 404 as unsupported while another stream is served, and runs every stream whatever the others do', async () => {
    const c = await runStreams([
      { stream: 'telephony', run: ok('telephony') },
      { stream: 'activity', run: fails(refused(403)) },
      { stream: 'trust_monitor', run: fails(refused(404)) },
      { stream: 'administrator', run: fails(new StorageError('STORAGE_UNAVAILABLE', 'gone')) },
    ]);
    expect(c.streams.map((r) => [r.stream, r.status])).toEqual([
      ['telephony', 'collected'],
      ['activity', 'unsupported'],
      ['trust_monitor', 'unsupported'],
      ['administrator', 'failed'],
    ]);
  });

  it('keeps a refusal a failure when no stream was served (a wrong key or host refuses them all)', async () => {
    const c = await runStreams([
      { stream: 'telephony', run: fails(refused(403)) },
      { stream: 'activity', run: fails(refused(403)) },
    ]);
    expect(c.streams.map((r) => r.status)).toEqual(['failed', 'failed']);
  });
});

describe('worstFailure', () => {
  const of = (...errors: unknown[]): CollectionSummary => ({ durationMs: 0, streams: errors.map((error, i) => ({ stream: i === 0 ? 'telephony' : 'activity', status: 'failed', error })) });

  it('prefers what a human must look at over what the next run may cure', () => {
    const conflict = new CollectorError('OBJECT_CONFLICT', 'x');
    const unavailable = new StorageError('STORAGE_UNAVAILABLE', 'y');
    const forbidden = refused(403);
    expect(worstFailure(of(unavailable, conflict))).toBe(conflict);
    expect(worstFailure(of(unavailable, forbidden))).toBe(forbidden);
    expect(worstFailure(of(new Error('bug'), forbidden))).toBeInstanceOf(Error);
    expect(worstFailure({ durationMs: 0, streams: [] })).toBeUndefined();
  });
});

describe('createTurns', () => {
  it('lets n hold a turn at once, the others in order of arrival; a release counts once', async () => {
    const take = createTurns(1);
    const order: string[] = [];
    const first = await take();
    const second = take().then((release) => (order.push('second'), release));
    const third = take().then((release) => (order.push('third'), release));
    await Promise.resolve();
    expect(order).toEqual([]);
    first();
    first();
    (await second)();
    (await third)();
    expect(order).toEqual(['second', 'third']);
    // Free again: taken at once.
    (await take())();
  });

  it('gives up waiting when the signal aborts, and the turn passes to the next', async () => {
    const take = createTurns(1);
    const held = await take();
    const stop = new AbortController();
    const waiting = take(stop.signal);
    const next = take();
    stop.abort();
    await expect(waiting).rejects.toBeInstanceOf(AbortedError);
    held();
    (await next)();
    await expect(take(AbortSignal.abort())).rejects.toBeInstanceOf(AbortedError);
  });
});
