/**
 * The CloudEvent handler `main` in this process, behind the framework's own test server
 * (`getTestServer`): the binary-mode CloudEvent Eventarc sends in production, a configuration error,
 * and two events at once on one warm instance. The Duo simulator and the GCS test server run here too.
 * Also: importing the built module does nothing but register the handler (cheap cold start).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { resetForTests } from '../../src/entry/function.js';
import { generateDataset, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { defaultStateKey } from '../../src/config.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { exactlyOnceReport, expectedKeys, idsOf, keysOf } from '../support/store-source.js';
import { REPO_ROOT } from '../support/functions-framework.js';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
const now = Date.now();
const dataset = generateDataset({ events: 3000, seed: 31, fromMs: now - 2 * H, toMs: now - 5000 });
const allIds = dataset.map((e) => e.id);

let sim: Simulator;
let gcs: GcsTestServer;
let server: Server;
let url: string;
const savedEnv = { ...process.env };
let output: string[] = [];
let bucketNo = 0;

beforeAll(async () => {
  [sim, gcs] = await Promise.all([startSimulator({ events: dataset }), startGcsTestServer()]);
  server = getTestServer('main');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await resetForTests();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await Promise.allSettled([sim?.close(), gcs?.close()]);
});

beforeEach(async () => {
  await resetForTests();
  output = [];
  // The function logs to stdout (pino) and the framework reports failures with console.error.
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output.push(...String(chunk).split('\n').filter((l) => l !== ''));
    return true;
  });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    output.push(...args.map(String).join(' ').split('\n'));
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  for (const k of Object.keys(process.env)) if (!(k in savedEnv)) delete process.env[k];
  Object.assign(process.env, savedEnv);
});

/** The function's configuration, as Cloud Run would set it, for a fresh bucket. */
function configure(extra: Record<string, string | undefined> = {}): string {
  const bucket = `fn-${++bucketNo}`;
  gcs.createBucket(bucket);
  const env: Record<string, string | undefined> = {
    ...duoEnvOf(sim),
    GCS_BUCKET: bucket,
    GCS_API_ENDPOINT: gcs.url,
    DELAY_SECONDS: '1',
    LOOKBACK_HOURS: '3',
    PAGE_LIMIT: '1000',
    REQUESTS_PER_MINUTE: '1000000',
    LOG_LEVEL: 'info',
    ...extra,
  };
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  return bucket;
}

let eventNo = 0;
/** What Eventarc sends for a Pub/Sub trigger: a binary-mode CloudEvent, the push body as data. */
async function postEventarc(message: unknown = {}): Promise<{ status: number; body: string; id: string }> {
  const id = `evt-${++eventNo}-${Date.now()}`;
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-id': id,
      'ce-specversion': '1.0',
      'ce-type': 'google.cloud.pubsub.topic.v1.messagePublished',
      'ce-source': '//pubsub.googleapis.com/projects/demo/topics/duo-telephony-trigger',
      'ce-time': new Date().toISOString(),
    },
    body: JSON.stringify({
      message: { data: Buffer.from(JSON.stringify(message)).toString('base64'), messageId: id, publishTime: new Date().toISOString(), attributes: {} },
      subscription: 'projects/demo/subscriptions/eventarc-duo-telephony',
    }),
  });
  return { status: res.status, body: await res.text(), id };
}

function logLines(): Array<Record<string, unknown>> {
  return output.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

function bucketIds(bucket: string): string[] {
  return idsOf(
    gcs
      .objects(bucket)
      .filter((o) => o.name.startsWith('duo-telephony/'))
      .map((o) => o.data),
  );
}

describe('CloudEvent handler main (in process, getTestServer)', () => {
  it('runs on the binary-mode CloudEvent Eventarc sends and answers 204', async () => {
    const bucket = configure();
    const r = await postEventarc();
    expect(r.status, r.body).toBe(204);
    expect(exactlyOnceReport(allIds, bucketIds(bucket))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
    const cp = JSON.parse(gcs.objects(bucket).find((o) => o.name === defaultStateKey('duo-telephony'))!.data.toString('utf8')) as { open: unknown };
    expect(cp.open).toBeNull();

    const lines = logLines();
    expect(lines.find((l) => l.event === 'function.finished')).toMatchObject({ severity: 'INFO', eventId: r.id, outcome: 'caught-up', events: allIds.length });
    // At the default level: what an operator needs to follow the protocol in Cloud Logging.
    for (const e of ['window.opened', 'batch.written', 'checkpoint.committed', 'window.closed', 'run.finished']) expect(lines.map((l) => l.event)).toContain(e);
    expect(output.join('\n')).not.toContain(sim.integrations[0]!.skey);

    // Warm: the next event reuses the collector and finds nothing new.
    const again = await postEventarc();
    expect(again.status).toBe(204);
    expect(bucketIds(bucket)).toHaveLength(allIds.length);
  });

  it('collects every stream of DUO_LOGS in one invocation, each into its prefix, one summary with all of them', async () => {
    const auth = generateDataset({ stream: 'authentication', events: 1500, seed: 32, fromMs: now - 2 * H, toMs: now - 5000, bursts: [{ atMs: now - H, count: 200 }] });
    if (sim.eventsOf('authentication').length === 0) sim.addEvents(auth, 'authentication');
    const bucket = configure({ DUO_LOGS: 'telephony,authentication' });
    const r = await postEventarc();
    expect(r.status, r.body).toBe(204);
    expect(exactlyOnceReport(allIds, bucketIds(bucket))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
    const authObjects = gcs.objects(bucket).filter((o) => o.name.startsWith('duo-authentication/'));
    const expected = expectedKeys('authentication', sim.eventsOf('authentication'));
    expect(exactlyOnceReport(expected, keysOf('authentication', authObjects.map((o) => o.data)))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: expected.length });
    expect(authObjects[0]!.name).toMatch(/^duo-authentication\/\d{4}\/\d{2}\/\d{2}\/authentication_\d{13}_\d{13}_p00001\.json$/);
    expect(gcs.objects(bucket).map((o) => o.name)).toContain(defaultStateKey('duo-authentication'));
    const finished = logLines().find((l) => l.event === 'function.finished');
    expect(finished).toMatchObject({ summaryVersion: 2, outcome: 'caught-up', events: allIds.length + expected.length });
    expect((finished!.streams as Array<{ stream: string; status: string }>).map((x) => [x.stream, x.status])).toEqual([
      ['telephony', 'collected'],
      ['authentication', 'collected'],
    ]);
  });

  it('fails a misconfigured invocation with 500 and one clear log line, no stack trace', async () => {
    configure({ DUO_IKEY: undefined });
    const r = await postEventarc();
    expect(r.status).toBe(500);
    expect(r.body).toMatch(/DUO_IKEY.*required/);

    const mentions = output.filter((l) => l.includes('DUO_IKEY'));
    expect(mentions).toHaveLength(1);
    expect(JSON.parse(mentions[0]!)).toMatchObject({ severity: 'ERROR', event: 'function.failed', error_code: 'CONFIG_INVALID', eventId: r.id });
    expect(JSON.parse(mentions[0]!)).not.toHaveProperty('stack_trace');
    expect(output.filter((l) => /^\s+at /.test(l) || /\.(ts|js):\d+/.test(l))).toEqual([]);

    // A failed start is not kept: once the variable is set, the next event runs.
    const bucket = configure();
    const ok = await postEventarc();
    expect(ok.status, ok.body).toBe(204);
    expect(bucketIds(bucket)).toHaveLength(allIds.length);
  });

  it('answers 204 when another run owns the window (two events at once on one instance)', async () => {
    const bucket = configure();
    // Both runs read the checkpoint before either commits: the second compare-and-swap must fail.
    gcs.setFault({ kind: 'delay', ms: 300, times: 2, match: { method: 'GET', path: /_state/ } });
    const [a, b] = await Promise.all([postEventarc(), postEventarc()]);
    gcs.setFault(null);
    expect([a.status, b.status]).toEqual([204, 204]);
    const outcomes = logLines()
      .filter((l) => l.event === 'function.finished')
      .map((l) => l.outcome)
      .sort();
    expect(outcomes).toEqual(['caught-up', 'conflict']);
    expect(logLines().map((l) => l.event)).toContain('checkpoint.conflict');
    expect(logLines().map((l) => l.event)).not.toContain('function.failed');
    expect(exactlyOnceReport(allIds, bucketIds(bucket))).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: allIds.length });
  });

  it('on {"verify":"yesterday"} verifies yesterday (UTC) and logs one verify.finished line per stream: clean, then a gap', async () => {
    const DAY = 86_400_000;
    const todayMs = Math.floor(Date.now() / DAY) * DAY;
    sim.addEvents(generateDataset({ events: 400, seed: 41, fromMs: todayMs - DAY + 60_000, toMs: todayMs - 60_000 }));
    const bucket = configure({ LOOKBACK_HOURS: '48', WINDOW_MAX_HOURS: '6' });
    expect((await postEventarc()).status).toBe(204);
    const inYesterday = sim.events.filter((e) => e.tsMicros / 1000 >= todayMs - DAY && e.tsMicros / 1000 < todayMs).length;

    output = [];
    const r = await postEventarc({ verify: 'yesterday', repair: false });
    expect(r.status, r.body).toBe(204);
    const line = logLines().find((l) => l.event === 'verify.finished');
    expect(line).toMatchObject({ severity: 'INFO', clean: true, stream: 'telephony', duo: inYesterday, stored: inYesterday, missing: 0 });
    expect(line!.from).toBe(new Date(todayMs - DAY).toISOString());
    expect(logLines().find((l) => l.event === 'function.verified')).toMatchObject({ eventId: r.id });

    // An object of yesterday deleted by hand: the next daily verify reports the gap as a warning.
    const victim = gcs.objects(bucket).find((o) => o.name.startsWith('duo-telephony/') && Number(o.name.split('_')[1]) >= todayMs - DAY && Number(o.name.split('_')[1]) < todayMs - H)!;
    const { createStorage } = await import('../../src/gcs/storage.js');
    await (await createStorage({ apiEndpoint: gcs.url, timeoutMs: 10_000 })).bucket(bucket).file(victim.name).delete();
    output = [];
    expect((await postEventarc({ verify: 'yesterday' })).status).toBe(204);
    const gap = logLines().find((l) => l.event === 'verify.finished');
    expect(gap).toMatchObject({ severity: 'WARNING', clean: false, stream: 'telephony' });
    expect(gap!.missing).toBeGreaterThan(0);
  });
});

describe('cold start', () => {
  it('importing the package main registers the handler and loads nothing else', () => {
    // ESM modules are seen through a resolve hook, CommonJS ones in require.cache.
    const hooks = `import { writeSync } from 'node:fs';
      export async function resolve(specifier, context, next) {
        const r = await next(specifier, context);
        writeSync(2, 'resolved ' + r.url + '\\n');
        return r;
      }`;
    const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hooks)}`)});`;
    const script = `
      import { createRequire } from 'node:module';
      await import(${JSON.stringify(`${REPO_ROOT}dist/src/entry/function.js`)});
      const require = createRequire(import.meta.url);
      // Before loading the testing helper, which brings express along.
      const cjs = Object.keys(require.cache).filter((k) => !k.includes('/@google-cloud/functions-framework/'));
      const { getFunction } = require('@google-cloud/functions-framework/testing');
      console.log(JSON.stringify({ registered: typeof getFunction('main'), cjs }));
    `;
    // An empty environment: no configuration is read and nothing is logged at import.
    const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(register)}`, '--input-type=module', '-e', script], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim())).toEqual({ registered: 'function', cjs: [] });
    const esm = r.stderr
      .split('\n')
      .filter((l) => l.startsWith('resolved file:'))
      .map((l) => l.slice('resolved file://'.length).replace(REPO_ROOT, ''))
      .filter((p) => !p.startsWith('node_modules/@google-cloud/functions-framework/'))
      .sort();
    expect(esm).toEqual(['dist/src/entry/function.js', 'dist/src/errors.js', 'dist/src/exit-codes.js']);
    expect(r.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('resolved '))).toEqual([]);
  });
});
