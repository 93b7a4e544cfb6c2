/**
 * Accounts mode fanned out as deployed, with real servers: the schedule's `{}` on the trigger topic of
 * the Pub/Sub emulator reaches the real functions-framework server running the built `main`; it lists
 * the simulator's 50 child accounts and publishes one work message per (account, stream) on the work
 * topic, whose push subscription brings each back to the same function as an invocation of its own.
 * One child answers 403, one is in a 429 storm: every other child's events land exactly once, the two
 * are named, nothing waits for them. Then a child is added and one removed between runs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Topic } from '@google-cloud/pubsub';
import { generateDataset, startSimulator, type SimAccountOptions, type Simulator } from '../../src/simulator/index.js';
import type { StreamName } from '../../src/duo/streams.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { exactlyOnceReport, expectedKeys, keysOf } from '../support/store-source.js';
import { pubsubUnavailableReason, startPubSubEmulator, type PubSubEmulator } from '../support/pubsub-emulator.js';
import { startFunctionsFramework, type FunctionsFrameworkServer } from '../support/functions-framework.js';
import { duoEnvOf } from '../support/duo-env.js';
import { emulatorClient, jsonLines, topicPushedTo, until as untilFor } from '../support/pubsub-push.js';

const unavailable = pubsubUnavailableReason();
if (unavailable) console.warn(`skipping the accounts fan-out test: ${unavailable}`);
const itPubSub = unavailable ? it.skip : it;

const PROJECT = 'demo-duo-accounts';
const TRIGGER = 'duo-secops-trigger';
const WORK = 'duo-secops-work';
const BUCKET = 'duo-accounts';
const STREAMS: StreamName[] = ['telephony', 'authentication'];
const PREFIX: Record<string, string> = { telephony: 'duo-telephony', authentication: 'duo-authentication' };
const H = 3_600_000;
const CHILDREN = 50;
const DENIED = 7;
const STORM = 13;
const REMOVED = 21;
const ADDED = 51;

const startedAt = Date.now();
const idOf = (n: number): string => `DA${String(n).padStart(18, '0')}`;

function child(n: number, toMs = startedAt - 10_000): SimAccountOptions {
  return {
    accountId: idOf(n),
    name: `Child ${n}`,
    apiHostname: `api-c${String(n).padStart(7, '0')}.duosecurity.com`,
    logs: {
      telephony: { events: 10 + (n % 7) * 5, seed: 1000 + n, fromMs: startedAt - 2 * H, toMs },
      authentication: { events: 8 + (n % 5) * 6, seed: 5000 + n, fromMs: startedAt - 2 * H, toMs },
    },
    ...(n === DENIED ? { denied: true } : {}),
    ...(n === STORM ? { rate429: 1 } : {}),
  };
}

let emulator: PubSubEmulator | undefined;
let sim: Simulator | undefined;
let gcs: GcsTestServer | undefined;
let ff: FunctionsFrameworkServer | undefined;
let restore: (() => Promise<void>) | undefined;
let trigger: Topic | undefined;
let work: Topic | undefined;

interface LogLine {
  severity?: string;
  message?: string;
  event?: string;
  outcome?: string;
  account_id?: string;
  account_name?: string;
  stream?: string;
  error_code?: string;
  messages?: number;
}

const lines = (): LogLine[] => jsonLines<LogLine>(ff!);
const workFinished = (): LogLine[] => lines().filter((l) => l.event === 'function.finished' && l.account_id !== undefined);
const until = (what: string, cond: () => boolean, timeoutMs = 120_000): Promise<void> => untilFor(ff, what, cond, timeoutMs);

/** The objects one child wrote for one stream. */
const objectsOf = (n: number, stream: StreamName) => gcs!.objects(BUCKET).filter((o) => o.name.startsWith(`${PREFIX[stream]}/${idOf(n)}/`));

/** Where a child's telephony checkpoint says its next window starts: events after it are new to it. */
function nextMintimeOf(n: number): number {
  const o = gcs!.objects(BUCKET).find((x) => x.name === `_state/duo-telephony_${idOf(n)}.json`);
  if (!o) throw new Error(`no checkpoint for ${idOf(n)}`);
  return (JSON.parse(o.data.toString('utf8')) as { nextMintimeMs: number }).nextMintimeMs + 1;
}

function assertExactlyOnce(n: number): void {
  for (const stream of STREAMS) {
    const want = expectedKeys(stream, sim!.eventsOf(stream, idOf(n)));
    expect(want.length, `${idOf(n)} ${stream} has events`).toBeGreaterThan(0);
    const got = keysOf(stream, objectsOf(n, stream).map((o) => o.data));
    expect(exactlyOnceReport(want, got), `${idOf(n)} ${stream}`).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: want.length });
  }
}

beforeAll(async () => {
  if (unavailable) return;
  const accounts = Array.from({ length: CHILDREN }, (_, i) => child(i + 1));
  const started = await Promise.allSettled([
    startPubSubEmulator({ project: PROJECT }).then((e) => (emulator = e)),
    startSimulator({ accounts }).then((s) => (sim = s)),
    startGcsTestServer().then((g) => (gcs = g)),
  ]);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
  if (!emulator || !sim || !gcs) throw new Error('unreachable: every server started');
  gcs.createBucket(BUCKET);
  ff = await startFunctionsFramework({
    env: {
      ...duoEnvOf(sim),
      DUO_ACCOUNTS: 'all',
      DUO_LOGS: STREAMS.join(','),
      WORK_TOPIC: `projects/${PROJECT}/topics/${WORK}`,
      FAN_OUT_INSTANCES: '10',
      GCS_BUCKET: BUCKET,
      GCS_API_ENDPOINT: gcs.url,
      DELAY_SECONDS: '1',
      LOOKBACK_HOURS: '3',
      WINDOW_MAX_HOURS: '4',
      REQUESTS_PER_MINUTE: '1000000',
      // The storm child gives up after its retries in well under a second instead of a minute.
      DUO_SECOPS_BACKOFF_MS: '5',
      // The function publishes the work itself: to the emulator.
      PUBSUB_EMULATOR_HOST: emulator.host,
      METADATA_SERVER_DETECTION: 'none',
      NODE_ENV: 'production',
    },
  });
  const client = await emulatorClient(emulator, PROJECT);
  restore = client.restore;
  // Ten minutes, as Cloud Run's trigger subscriptions allow: a collection is never redelivered mid-run.
  trigger = await topicPushedTo(client.pubsub, ff, PROJECT, TRIGGER, 600);
  work = await topicPushedTo(client.pubsub, ff, PROJECT, WORK, 600);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([ff?.stop(), restore?.()]);
  await Promise.allSettled([emulator?.stop(), sim?.close(), gcs?.close()]);
});

describe('accounts mode fanned out: schedule → dispatch → one invocation per (account, stream)', () => {
  itPubSub('collects 50 children × 2 streams exactly once, naming the one that is refused and the one in a 429 storm', async () => {
    await trigger!.publishMessage({ data: Buffer.from('{}') });
    await until('100 work invocations', () => workFinished().length >= CHILDREN * STREAMS.length);

    const dispatched = lines().filter((l) => l.event === 'accounts.dispatched');
    expect(dispatched.map((l) => l.messages)).toEqual([CHILDREN * STREAMS.length]);
    for (let n = 1; n <= CHILDREN; n++) if (n !== DENIED && n !== STORM) assertExactlyOnce(n);

    // Every line and object says whose it is.
    const sample = objectsOf(3, 'authentication')[0]!;
    for (const line of sample.data.toString('utf8').trim().split('\n')) expect(JSON.parse(line)).toMatchObject({ account_id: idOf(3), account_name: 'Child 3', host: 'api-c0000003.duosecurity.com' });
    expect(sample.metadata).toMatchObject({ account_id: idOf(3), account_name: 'Child 3' });

    // The two failing children are named, per stream, with what went wrong; the invocations succeeded.
    const failed = lines().filter((l) => l.event === 'stream.failed');
    expect(failed.map((l) => `${l.account_id} ${l.stream} ${l.error_code}`).sort()).toEqual(
      [`${idOf(DENIED)} authentication DUO_FORBIDDEN`, `${idOf(DENIED)} telephony DUO_FORBIDDEN`, `${idOf(STORM)} authentication DUO_RATE_LIMITED`, `${idOf(STORM)} telephony DUO_RATE_LIMITED`].sort(),
    );
    for (const l of failed) expect(l.message).toContain(`Child ${l.account_id === idOf(DENIED) ? DENIED : STORM} (`);
    expect(lines().filter((l) => l.event === 'function.failed')).toEqual([]);
    expect(objectsOf(DENIED, 'telephony')).toEqual([]);
    expect(gcs!.objects(BUCKET).some((o) => o.name === `_state/duo-telephony_${idOf(5)}.json`)).toBe(true);
  }, 180_000);

  itPubSub('picks up a child added between runs, and stops asking for a removed one without an error', async () => {
    const before = workFinished().length;
    sim!.removeAccount(idOf(REMOVED));
    sim!.addAccount(child(ADDED, Date.now() - 3_000));
    const removedRequests = sim!.stats.byAccount[idOf(REMOVED)]?.requests ?? 0;
    // Events published since the first run, for a child collected then: the next run takes exactly those.
    sim!.addEvents(generateDataset({ events: 25, seed: 99, fromMs: nextMintimeOf(1), toMs: Date.now() - 3_000 }), 'telephony', idOf(1));
    const errorsBefore = lines().filter((l) => l.severity === 'ERROR').length;

    await trigger!.publishMessage({ data: Buffer.from('{}') });
    await until('100 more work invocations', () => workFinished().length >= before + CHILDREN * STREAMS.length);

    expect(workFinished().slice(before).some((l) => l.account_id === idOf(REMOVED))).toBe(false);
    expect(sim!.stats.byAccount[idOf(REMOVED)]?.requests ?? 0).toBe(removedRequests);
    assertExactlyOnce(ADDED);
    assertExactlyOnce(1);
    // The only errors of the second run are the two failing children's again.
    const errors = lines().filter((l) => l.severity === 'ERROR').slice(errorsBefore);
    expect(new Set(errors.map((l) => l.account_id))).toEqual(new Set([idOf(DENIED), idOf(STORM)]));
  }, 180_000);

  itPubSub('a work message delivered twice at once writes nothing twice', async () => {
    const before = workFinished().length;
    sim!.addEvents(generateDataset({ events: 40, seed: 7, fromMs: nextMintimeOf(2), toMs: Date.now() - 3_000 }), 'telephony', idOf(2));
    const message = { account_id: idOf(2), account_name: 'Child 2', api_hostname: 'api-c0000002.duosecurity.com', stream: 'telephony', requests_per_minute: 1000 };
    await Promise.all([work!.publishMessage({ json: message }), work!.publishMessage({ json: message })]);
    await until('both invocations', () => workFinished().length >= before + 2);
    const outcomes = workFinished().slice(before).map((l) => l.outcome);
    for (const o of outcomes) expect(['caught-up', 'conflict']).toContain(o);
    assertExactlyOnce(2);
  }, 120_000);

  itPubSub('a work message for a child that is gone since the dispatch names it, and the invocation still succeeds', async () => {
    const before = workFinished().length;
    await work!.publishMessage({ json: { account_id: idOf(REMOVED), account_name: `Child ${REMOVED}`, api_hostname: 'api-c0000021.duosecurity.com', stream: 'authentication', requests_per_minute: 1000 } });
    await until('its invocation', () => workFinished().length >= before + 1, 30_000);
    const failed = lines().filter((l) => l.event === 'stream.failed' && l.account_id === idOf(REMOVED));
    expect(failed.map((l) => l.error_code)).toEqual(['DUO_BAD_REQUEST']);
    expect(failed[0]!.message).toContain(`Child ${REMOVED} (${idOf(REMOVED)}) authentication`);
    expect(failed[0]!.message).toContain('account_id');
    expect(lines().filter((l) => l.event === 'function.failed')).toEqual([]);
  }, 60_000);

  itPubSub('drops a work message it cannot trust, and logs no secret', async () => {
    const requests = sim!.stats.requests;
    await work!.publishMessage({ json: { account_id: idOf(2), account_name: 'Child 2', api_hostname: 'api.evil.example', stream: 'telephony' } });
    await until('work.refused', () => lines().some((l) => l.event === 'work.refused'), 30_000);
    expect(lines().find((l) => l.event === 'work.refused')!.message).toContain("host api.evil.example is outside the parent's domain (duosecurity.com)");
    expect(sim!.stats.requests).toBe(requests);
    const all = ff!.lines.join('\n');
    expect(all).not.toContain(duoEnvOf(sim!).DUO_SKEY);
  });
});
