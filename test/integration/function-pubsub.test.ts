/**
 * End to end as deployed, with real servers: Cloud Scheduler's message `{}` published to a topic of
 * the Pub/Sub emulator (the one that ships with the Google Cloud CLI), pushed to the real
 * functions-framework server running the built package's `main`, which pulls from the Duo simulator
 * and writes to the GCS test server. Skipped, with the reason printed, only where Java, gcloud or the
 * emulator component is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topic } from '@google-cloud/pubsub';
import { generateDataset, startSimulator, type SimEvent, type Simulator } from '../../src/simulator/index.js';
import { defaultStateKey } from '../../src/config.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { exactlyOnceReport, idsOf } from '../support/store-source.js';
import { pubsubUnavailableReason, startPubSubEmulator, type PubSubEmulator } from '../support/pubsub-emulator.js';
import { startFunctionsFramework, type FunctionsFrameworkServer } from '../support/functions-framework.js';
import { duoEnvOf } from '../support/duo-env.js';
import { emulatorClient, jsonLines, topicPushedTo, until as untilFor } from '../support/pubsub-push.js';

const unavailable = pubsubUnavailableReason();
if (unavailable) console.warn(`skipping the Pub/Sub end-to-end test: ${unavailable}`);
const itPubSub = unavailable ? it.skip : it;

const PROJECT = 'demo-duo-telephony';
const TOPIC = 'duo-telephony-trigger';
const BUCKET = 'duo-e2e';
const PREFIX = 'duo-telephony';
const DELAY_MS = 1000;
const H = 3_600_000;

const startedAt = Date.now();
const dataset = generateDataset({
  events: 4000,
  seed: 2024,
  fromMs: startedAt - 3 * H,
  toMs: startedAt - 10_000,
  bursts: [{ atMs: Math.floor((startedAt - 2 * H) / H) * H, count: 300 }],
});
const expected: SimEvent[] = [...dataset];

let emulator: PubSubEmulator | undefined;
let sim: Simulator | undefined;
let gcs: GcsTestServer | undefined;
let ff: FunctionsFrameworkServer | undefined;
let restore: (() => Promise<void>) | undefined;
let topic: Topic | undefined;

interface LogLine {
  severity?: unknown;
  message?: unknown;
  event?: unknown;
  outcome?: unknown;
  eventId?: unknown;
}

const parsed = (): LogLine[] => jsonLines<LogLine>(ff!);

function finishedCount(): number {
  return parsed().filter((l) => l.event === 'function.finished').length;
}

const until = (what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> => untilFor(ff, what, cond, timeoutMs);

function checkpoint(): { nextMintimeMs: number; open: unknown } {
  const o = gcs!.objects(BUCKET).find((x) => x.name === defaultStateKey(PREFIX));
  if (!o) throw new Error('no checkpoint object');
  return JSON.parse(o.data.toString('utf8')) as { nextMintimeMs: number; open: unknown };
}

function collectedIds(): string[] {
  return idsOf(
    gcs!
      .objects(BUCKET)
      .filter((o) => o.name.startsWith(`${PREFIX}/`))
      .map((o) => o.data),
  );
}

/** Every event older than the run's start minus the delay, and nothing else, exactly once. */
function assertExactlyOnce(runStartMs: number): void {
  const want = expected.filter((e) => e.tsMicros / 1000 < runStartMs - DELAY_MS).map((e) => e.id);
  expect(want.length).toBe(expected.length);
  expect(exactlyOnceReport(want, collectedIds())).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: want.length });
}

beforeAll(async () => {
  if (unavailable) return;
  // The emulator (a JVM) starts while the in-process servers do. allSettled, so that whatever did
  // start is known to afterAll even when another part failed.
  const started = await Promise.allSettled([
    startPubSubEmulator({ project: PROJECT }).then((e) => (emulator = e)),
    startSimulator({ events: dataset }).then((s) => (sim = s)),
    startGcsTestServer().then((g) => (gcs = g)),
  ]);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  if (!emulator || !sim || !gcs) throw new Error('unreachable: every server started');
  gcs.createBucket(BUCKET);
  ff = await startFunctionsFramework({
    env: {
      ...duoEnvOf(sim),
      GCS_BUCKET: BUCKET,
      GCS_PREFIX: PREFIX,
      GCS_API_ENDPOINT: gcs.url,
      DELAY_SECONDS: String(DELAY_MS / 1000),
      LOOKBACK_HOURS: '4',
      WINDOW_MAX_HOURS: '1',
      PAGE_LIMIT: '500',
      REQUESTS_PER_MINUTE: '1000000',
      // Debug: the secret and phone checks below then cover every line the code can write.
      LOG_LEVEL: 'debug',
      // As on Cloud Run: the framework prints no banner, so every stdout line is the function's.
      NODE_ENV: 'production',
    },
  });

  // The test process publishes as Cloud Scheduler would; the function itself never talks to Pub/Sub.
  const client = await emulatorClient(emulator, PROJECT);
  restore = client.restore;
  topic = await topicPushedTo(client.pubsub, ff, PROJECT, TOPIC, 60);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([ff?.stop(), restore?.()]);
  await Promise.allSettled([emulator?.stop(), sim?.close(), gcs?.close()]);
});

describe('Cloud Scheduler → Pub/Sub emulator → functions-framework → GCS', () => {
  itPubSub('publishing {} collects the backlog into the bucket and advances the checkpoint', async () => {
    const publishedAt = Date.now();
    await topic!.publishMessage({ data: Buffer.from('{}') });
    await until('function.finished', () => finishedCount() >= 1);

    const finished = parsed().find((l) => l.event === 'function.finished')!;
    expect(finished.outcome).toBe('caught-up');
    const cp = checkpoint();
    expect(cp.open).toBeNull();
    // Caught up with its start minus the delay on Duo's clock, which Duo's Date header gives to the second
    // below (and this machine's moment of hearing it a little later): up to two seconds earlier.
    expect(cp.nextMintimeMs).toBeGreaterThanOrEqual(publishedAt - DELAY_MS - 2000);
    assertExactlyOnce(publishedAt);
    const sample = gcs!.objects(BUCKET).find((o) => o.name.startsWith(`${PREFIX}/`))!;
    expect(sample.contentType).toBe('application/x-ndjson');
  });

  itPubSub('publishing twice at once, with new events arriving, doubles nothing', async () => {
    const from = checkpoint().nextMintimeMs + 1;
    // Up to a few seconds ago: the runs catch up with their start minus the delay on Duo's clock, known to
    // about two seconds below.
    const added = generateDataset({ events: 1500, seed: 77, fromMs: from, toMs: Math.max(from + 1, Date.now() - 3500) });
    sim!.addEvents(added);
    expected.push(...added);
    // Slow answers keep both invocations busy at the same time, so they do meet on the checkpoint.
    sim!.setFaults({ rateDelay: 1, delayMs: 250 });
    const before = finishedCount();
    const publishedAt = Date.now();
    await Promise.all([topic!.publishMessage({ data: Buffer.from('{}') }), topic!.publishMessage({ data: Buffer.from('{}') })]);
    await until('two more function.finished', () => finishedCount() >= before + 2);
    sim!.setFaults({});

    const runs = parsed().filter((l) => l.event === 'function.finished').slice(before);
    expect(new Set(runs.map((r) => r.eventId)).size).toBe(2);
    for (const r of runs) expect(['caught-up', 'conflict']).toContain(r.outcome);
    // They did run at the same time: one found the other owning the window (and answered success).
    expect(runs.map((r) => r.outcome).sort()).toEqual(['caught-up', 'conflict']);
    expect(checkpoint().open).toBeNull();
    assertExactlyOnce(publishedAt);
  });

  itPubSub('logs JSON lines Cloud Logging understands, with no secret and no phone number', () => {
    const out = parsed();
    expect(out.length).toBeGreaterThan(0);
    for (const l of out) {
      expect(typeof l.severity).toBe('string');
      expect(typeof l.message).toBe('string');
    }
    const events = new Set(out.map((l) => l.event));
    for (const e of ['page.fetched', 'batch.written', 'checkpoint.committed', 'window.closed', 'run.finished', 'function.finished']) expect(events).toContain(e);
    expect(events).not.toContain('function.failed');
    // Nothing on stderr: a failure would be there (the framework prints it).
    expect(ff!.stderr.filter((l) => l.trim() !== '')).toEqual([]);

    const all = ff!.lines.join('\n');
    expect(all).not.toContain(sim!.integrations[0]!.skey);
    // As Duo sends them (`+13035554799`) or as bare digits (a whole run of digits, not part of a timestamp).
    const digitRuns = new Set(all.match(/\d+/g) ?? []);
    const leaked = new Set<string>();
    for (const e of expected) {
      const phone = (JSON.parse(e.json) as { phone?: string }).phone;
      if (phone && (all.includes(phone) || digitRuns.has(phone.replace(/\D/g, '')))) leaked.add(phone);
    }
    expect([...leaked]).toEqual([]);
  });
});
