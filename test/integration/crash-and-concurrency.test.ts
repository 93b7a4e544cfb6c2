/**
 * The collector as users run it (the built CLI in its own process) is killed with SIGKILL at random
 * protocol steps and random moments, and run four at a time on one store: nothing is lost, nothing is
 * doubled. Two streams run in every process: telephony and the administrator log (no cursor, no id,
 * identical events counted as a multiset), the stream least like it. The simulator runs in this
 * process; storage is a real folder or the GCS test server.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, generateDataset, createRng, type Simulator } from '../../src/simulator/index.js';
import { createLocalCheckpointStore } from '../../src/checkpoint/local.js';
import { initialCheckpoint, parseCheckpoint, serializeCheckpoint } from '../../src/checkpoint/codec.js';
import { defaultStateKey } from '../../src/config.js';
import { exactlyOnceReport, expectedKeys, keysOf } from '../support/store-source.js';
import type { StreamName } from '../../src/duo/streams.js';
import { localObjects } from '../support/collected.js';
import { runCli, spawnCli, type CliResult } from '../support/cli.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
const X = Math.floor((Date.now() - 5 * H) / H) * H;
const dataset = generateDataset({
  events: 12_000,
  seed: 99,
  fromMs: X,
  toMs: X + 3 * H,
  bursts: [
    { atMs: X + H, count: 700 },
    { atMs: X + 2 * H, count: 400 },
  ],
});
const adminDataset = generateDataset({
  stream: 'administrator',
  events: 4000,
  seed: 98,
  fromMs: X,
  toMs: X + 3 * H,
  // Seconds with hundreds of events (fewer than the 1000 Duo serves at once) on and near window edges.
  bursts: [
    { atMs: X + H, count: 600 },
    { atMs: X + 2 * H - 1000, count: 500 },
  ],
  identicalRate: 0.2,
});
const STREAMS_RUN: readonly StreamName[] = ['telephony', 'administrator'];
const PREFIX: Record<string, string> = { telephony: 'duo-telephony', administrator: 'duo-administrator' };
const POINTS = ['window.opened', 'page.fetched', 'object.writing', 'object.written', 'checkpoint.committing', 'checkpoint.committed'] as const;

let sim: Simulator;
let gcs: GcsTestServer;
beforeAll(async () => {
  sim = await startSimulator({ logs: { telephony: dataset, administrator: adminDataset }, lastPageCursor: 'absent' });
  gcs = await startGcsTestServer();
});
afterAll(async () => {
  await sim?.close();
  await gcs?.close();
});

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  return {
    ...duoEnvOf(sim),
    DELAY_SECONDS: '1',
    WINDOW_MAX_HOURS: '1',
    PAGE_LIMIT: '250',
    DUO_LOGS: STREAMS_RUN.join(','),
    REQUESTS_PER_MINUTE: '1000000',
    LOG_LEVEL: 'error',
    ...extra,
  };
}

async function seedLocal(dir: string): Promise<void> {
  for (const stream of STREAMS_RUN) {
    await createLocalCheckpointStore({ path: join(dir, defaultStateKey(PREFIX[stream]!)) }).save(serializeCheckpoint(initialCheckpoint(X, new Date().toISOString())), null);
  }
}

/** Every stream of the run caught up (one `<stream>: caught up…` line each). */
function caughtUp(r: CliResult): boolean {
  const lines = r.stdout.trim().split('\n');
  return r.code === 0 && lines.length === STREAMS_RUN.length && lines.every((l) => /^\w+: caught up/.test(l));
}

/** Each stream's objects hold each of the simulator's events once. */
async function expectEachOnce(read: (stream: StreamName) => Promise<Buffer[]>): Promise<void> {
  for (const stream of STREAMS_RUN) {
    const expected = expectedKeys(stream, sim.eventsOf(stream));
    expect(exactlyOnceReport(expected, keysOf(stream, await read(stream))), stream).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: expected.length });
  }
}

describe('crash safety', () => {
  // Own simulator: this test adds events as it goes.
  beforeAll(async () => {
    await sim.close();
    sim = await startSimulator({ logs: { telephony: dataset, administrator: adminDataset }, lastPageCursor: 'absent' });
  });
  afterAll(async () => {
    await sim.close();
    sim = await startSimulator({ logs: { telephony: dataset, administrator: adminDataset }, lastPageCursor: 'absent' });
  });
  it('loses and doubles nothing when killed with SIGKILL at 50+ random points', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-crash-'));
    try {
      await seedLocal(dir);
      const rng = createRng(4242);
      let kills = 0;
      let finished = false;
      let added = 0;
      for (let attempt = 0; attempt < 300 && !finished; attempt++) {
        let r: CliResult;
        if (kills < 50 && attempt % 4 !== 3) {
          // A chosen protocol step: the n-th time it is reached, the process SIGKILLs itself.
          const point = POINTS[Math.floor(rng.next() * POINTS.length)]!;
          const n = 1 + Math.floor(rng.next() * 4);
          r = await runCli(['collect'], env({ OUTPUT_DIR: dir, DUO_SECOPS_FAILPOINT: `${point}:${n}` }));
        } else if (kills < 50) {
          // A random moment, wherever the process happens to be (mid-write, mid-fsync, mid-request).
          const { child, done } = spawnCli(['collect'], env({ OUTPUT_DIR: dir }));
          const t = setTimeout(() => child.kill('SIGKILL'), 150 + Math.floor(rng.next() * 400));
          r = await done;
          clearTimeout(t);
        } else {
          r = await runCli(['collect'], env({ OUTPUT_DIR: dir }));
        }
        if (r.signal === 'SIGKILL') kills += 1;
        else if (r.code !== 0) throw new Error(`collect failed: ${r.code} ${r.stderr}`);
        else if (caughtUp(r)) {
          if (kills >= 50) finished = true;
          else {
            // Caught up before enough crashes: new events arrive, later than the checkpoint, as in life.
            // (Right after it: the run caught up with its start minus the delay on Duo's clock, which its
            // Date header gives to the second below, so the checkpoint may be a few seconds behind now.)
            let from = 0;
            for (const stream of STREAMS_RUN) {
              const stored = await createLocalCheckpointStore({ path: join(dir, defaultStateKey(PREFIX[stream]!)) }).load();
              from = Math.max(from, parseCheckpoint(stored!.data, 'crash test').nextMintimeMs + 1);
            }
            const seed = 1000 + added++;
            sim.addEvents(generateDataset({ events: 1500, seed, fromMs: from, toMs: from + 300, bursts: [{ atMs: from + 200, count: 300 }] }));
            // The administrator log counts whole seconds: its new events start in the next one.
            const second = Math.ceil(from / 1000) * 1000;
            sim.addEvents(generateDataset({ stream: 'administrator', events: 300, seed, fromMs: second, toMs: second + 1000, identicalRate: 0.3 }), 'administrator');
            await new Promise((res) => setTimeout(res, 2100));
          }
        }
      }
      expect(kills).toBeGreaterThanOrEqual(50);
      expect(finished).toBe(true);
      await expectEachOnce((stream) => localObjects(join(dir, PREFIX[stream]!), stream));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});

describe('concurrency', () => {
  async function fourAtOnce(extra: Record<string, string>, read: (stream: StreamName) => Promise<Buffer[]>): Promise<void> {
    let done = false;
    for (let round = 0; round < 30 && !done; round++) {
      const results = await Promise.all([0, 1, 2, 3].map(() => runCli(['collect', '--max-pages', '6'], env(extra))));
      for (const r of results) if (r.code !== 0) throw new Error(`collect failed: ${r.code} ${r.stderr}`);
      done = results.some(caughtUp);
    }
    // Whatever a conflicting run left open, one more run finishes it.
    const last = await runCli(['collect'], env(extra));
    expect(caughtUp(last), last.stderr).toBe(true);
    await expectEachOnce(read);
  }

  it('4 collect processes on one local folder: nothing lost, nothing doubled', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-conc-'));
    try {
      await seedLocal(dir);
      await fourAtOnce({ OUTPUT_DIR: dir }, (stream) => localObjects(join(dir, PREFIX[stream]!), stream));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 180_000);

  it('4 collect processes on one GCS bucket (test server): nothing lost, nothing doubled', async () => {
    gcs.createBucket('conc');
    for (const stream of STREAMS_RUN) {
      gcs.putObject('conc', defaultStateKey(PREFIX[stream]!), serializeCheckpoint(initialCheckpoint(X, new Date().toISOString())), { contentType: 'application/json' });
    }
    await fourAtOnce({ GCS_BUCKET: 'conc', GCS_API_ENDPOINT: gcs.url }, async (stream) =>
      gcs
        .objects('conc')
        .filter((o) => o.name.startsWith(`${PREFIX[stream]!}/`))
        .map((o) => o.data),
    );
    const sample = gcs.objects('conc').find((o) => o.name.startsWith('duo-telephony/'))!;
    expect(sample.contentType).toBe('application/x-ndjson');
    expect(sample.metadata).toMatchObject({ itemCount: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  }, 180_000);
});
