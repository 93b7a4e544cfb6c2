/**
 * The learned pace through the CLI, against the simulator's token bucket that holds one request: a run
 * learns Duo's limit from its 429s and keeps it in the checkpoint; `collect --json`, `check` and
 * `state show` report it; the next run starts from it instead of learning again.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, generateDataset, type Simulator } from '../../src/simulator/index.js';
import { runCli } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { idsOf, exactlyOnceReport } from '../support/store-source.js';
import { duoEnvOf } from '../support/duo-env.js';
import type { CollectionSummaryJson, RunSummaryJson } from '../../src/collect/summary.js';

const H = 3_600_000;
/** Duo's limit in this test: 300 requests per minute (200 ms), one request in the bucket. */
const LIMIT_RPM = 300;
let sim: Simulator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  const now = Date.now();
  sim = await startSimulator({ events: generateDataset({ events: 1200, seed: 11, fromMs: now - 3 * H, toMs: now - 2 * H }), rpm: LIMIT_RPM, burst: 1 });
  dir = await mkdtemp(join(tmpdir(), 'duo-pace-'));
  // A ceiling 20 times the limit (every 10 ms): the first requests are surely refused, however slow the machine.
  env = { ...duoEnvOf(sim), OUTPUT_DIR: dir, DELAY_SECONDS: '1', LOOKBACK_HOURS: '4', PAGE_LIMIT: '50', REQUESTS_PER_MINUTE: String(LIMIT_RPM * 20) };
});

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const streamOf = (stdout: string): RunSummaryJson => (JSON.parse(stdout) as CollectionSummaryJson).streams[0] as RunSummaryJson;

describe('the learned pace', () => {
  let first: RunSummaryJson;

  it('a run learns the limit from 429s and keeps what it learned in the checkpoint', async () => {
    // Half the backlog: the next run has pages left to show what it starts from.
    const r = await runCli(['collect', '--json', '--max-pages', '12'], env);
    expect(r.code, r.stderr).toBe(0);
    first = streamOf(r.stdout);
    expect(first.outcome).toBe('page-limit');
    // From 6000 per minute down to 300 takes at least 4 refusals (halving each time).
    expect(first.rateLimited).toBeGreaterThanOrEqual(4);
    const learned = first.learnedRate!;
    expect(learned.endpoint.hi).not.toBeNull();
    expect(learned.endpoint.rpm).toBeLessThan(LIMIT_RPM * 2);
    expect(learned.endpoint.rpm).toBeGreaterThan(LIMIT_RPM / 4);
    const cp = JSON.parse(await readFile(join(dir, '_state', 'duo-telephony.json'), 'utf8')) as { learnedRate: unknown; version: number };
    expect(cp.learnedRate).toEqual(learned);
    // Advice, not protocol: the document's version stays.
    expect(cp.version).toBe(2);
  });

  it('check and state show report it', async () => {
    const check = await runCli(['check'], env);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/^Telephony pace:\s+[\d.]+\/min learned \(.*refused [\d.]+\), ceiling 6000\/min$/m);
    const show = await runCli(['state', 'show'], env);
    expect(show.stdout).toMatch(/^pace learned: [\d.]+\/min for this endpoint \(Duo accepted .*, refused [\d.]+\), [\d.]+\/min for the integration$/m);
  });

  it('the next run starts from it: hardly a 429, where learning took several; every event is delivered once', async () => {
    const r = await runCli(['collect', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const second = streamOf(r.stdout);
    expect(second.outcome).toBe('caught-up');
    expect(second.pages).toBeGreaterThanOrEqual(12);
    expect(second.rateLimited).toBeLessThanOrEqual(2);
    expect(exactlyOnceReport(sim.events.map((e) => e.id), idsOf(await localObjects(join(dir, 'duo-telephony'))))).toMatchObject({ missing: 0, doubled: 0 });
  });
});
