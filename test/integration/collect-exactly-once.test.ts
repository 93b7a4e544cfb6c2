/**
 * The product promise, end to end over loopback HTTP: the real simulator (signatures checked), the real
 * Duo client, the local folder sink on disk. 100,000 events with bursts of over 1,000 events in one
 * millisecond placed exactly on window edges (and so across page edges), under both readings of Duo's
 * last page, and again under 30 % 429s, 10 % 5xx, HTML bodies and resets.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, generateDataset, type Simulator, type FaultOptions } from '../../src/simulator/index.js';
import { loadConfig } from '../../src/config.js';
import { createCollector } from '../../src/collect/deps.js';
import { createLocalCheckpointStore } from '../../src/checkpoint/local.js';
import { initialCheckpoint, serializeCheckpoint, parseCheckpoint } from '../../src/checkpoint/codec.js';
import { silentLogger } from '../../src/log.js';
import { idsOf, exactlyOnceReport } from '../support/store-source.js';
import { localObjects } from '../support/collected.js';
import { duoEnvOf } from '../support/duo-env.js';
import { streamSummary } from '../../src/collect/run-streams.js';

const H = 3_600_000;
const X = Math.floor((Date.now() - 6 * H) / H) * H;
const dataset = generateDataset({
  events: 100_000,
  seed: 2026,
  fromMs: X,
  toMs: X + 4 * H,
  bursts: [
    { atMs: X + H, count: 1500 },
    { atMs: X + 2 * H, count: 1100 },
    { atMs: X + 2 * H + 1, count: 300 },
  ],
});
const allIds = dataset.map((e) => e.id);

let sim: Simulator | undefined;
let dir: string | undefined;
afterEach(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
  sim = undefined;
  dir = undefined;
});

async function collectAll(opts: { lastPageCursor: 'present' | 'absent'; faults?: FaultOptions }) {
  sim = await startSimulator({ events: dataset, lastPageCursor: opts.lastPageCursor, ...(opts.faults ? { faults: opts.faults } : {}) });
  dir = await mkdtemp(join(tmpdir(), 'duo-eo-'));
  const config = loadConfig(
    {
      ...duoEnvOf(sim),
      OUTPUT_DIR: dir,
      DELAY_SECONDS: '1',
      WINDOW_MAX_HOURS: '1',
      REQUESTS_PER_MINUTE: '1000000',
    },
    {},
    { needDuo: true },
  );
  // Window edges fall on whole hours from X: the bursts sit exactly on them.
  await createLocalCheckpointStore({ path: join(dir, config.stateKey) }).save(serializeCheckpoint(initialCheckpoint(X, new Date().toISOString())), null);
  // Pacing off: these 429s come at random, whatever the pace, so a pacer learning from them would only
  // slow down (test/unit/duo/pacer.test.ts and the bench's rate suite cover learning a real limit).
  const client = { backoffBaseMs: 1, jitterMs: 0, maxRetries: 12, requestsPerMinute: Number.POSITIVE_INFINITY };
  const collector = await createCollector(config, { logger: silentLogger(), client });
  try {
    const summary = streamSummary(await collector.run());
    return { summary, config, dir };
  } finally {
    await collector.close();
  }
}

describe('collect, exactly once, against the simulator over HTTP', () => {
  for (const lastPageCursor of ['present', 'absent'] as const) {
    it(`writes each of 100,000 events once with bursts on window and page edges (last page cursor ${lastPageCursor})`, async () => {
      const { summary, config, dir } = await collectAll({ lastPageCursor });
      expect(summary.outcome).toBe('caught-up');
      const got = idsOf(await localObjects(join(dir, config.prefix)));
      expect(exactlyOnceReport(allIds, got)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
      // The edge bursts really were split: some ids were already written when the next window began.
      expect(summary.duplicatesDropped).toBeGreaterThan(0);
      expect(summary.windowsClosed).toBeGreaterThanOrEqual(5);
      const stored = await createLocalCheckpointStore({ path: join(dir, config.stateKey) }).load();
      expect(parseCheckpoint(stored!.data, 'x').open).toBeNull();
    });
  }

  it('completes with the same exact set under 30 % 429, 10 % 5xx, HTML bodies, resets and truncation', async () => {
    const { summary, config, dir } = await collectAll({
      lastPageCursor: 'present',
      faults: { seed: 5, rate429: 0.3, rate500: 0.05, rate503: 0.05, rateHtml502: 0.05, rateReset: 0.05, rateTruncated: 0.03 },
    });
    expect(summary.outcome).toBe('caught-up');
    expect(summary.rateLimited).toBeGreaterThan(20);
    expect(summary.retries).toBeGreaterThan(summary.rateLimited);
    const got = idsOf(await localObjects(join(dir, config.prefix)));
    expect(exactlyOnceReport(allIds, got)).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
    expect(sim!.stats.byStatus[429]).toBeGreaterThan(20);
    expect(sim!.stats.faults.html502 + sim!.stats.faults.reset).toBeGreaterThan(0);
  });
});
