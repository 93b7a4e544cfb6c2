/**
 * Every Duo log stream through the CLI against the simulator: all five collected side by side into
 * their own prefixes, each event once (the administrator log's identical events as a multiset), with
 * bursts on window and page edges, late events and a second run; a stream the account does not offer
 * reported as unsupported while the others are collected; `check` asking every selected stream.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, randomIntegration, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { STREAM_NAMES, type StreamName } from '../../src/duo/streams.js';
import { runCli } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { duoEnvOf } from '../support/duo-env.js';
import { exactlyOnceReport, expectedKeys, keysOf } from '../support/store-source.js';

const H = 3_600_000;
const now = Date.now();
/** Whole hours from X: WINDOW_MAX_HOURS=1 puts window edges on them, and the bursts sit exactly there. */
const X = Math.floor((now - 5 * H) / H) * H;
const PREFIX: Record<StreamName, string> = {
  telephony: 'duo-telephony',
  authentication: 'duo-authentication',
  activity: 'duo-activity',
  trust_monitor: 'duo-trust-monitor',
  administrator: 'duo-administrator',
};
const SIZE: Record<StreamName, number> = { telephony: 3000, authentication: 4000, activity: 2500, trust_monitor: 600, administrator: 2500 };

let sim: Simulator;
const dirs: string[] = [];

async function folder(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'duo-streams-'));
  dirs.push(d);
  return d;
}

beforeAll(async () => {
  const logs = Object.fromEntries(
    STREAM_NAMES.map((stream, i) => [
      stream,
      generateDataset({
        stream,
        events: SIZE[stream],
        seed: 70 + i,
        fromMs: X,
        toMs: now - 10 * 60_000,
        // Bursts in one time unit (a second for the administrator log) on window edges and inside a page.
        bursts: [
          { atMs: X + H, count: 150 },
          { atMs: X + 2 * H + 1000, count: 40 },
        ],
        late: { count: 20, delayMs: 30_000 },
        ...(stream === 'administrator' ? { identicalRate: 0.2 } : {}),
      }),
    ]),
  );
  sim = await startSimulator({ logs });
});

afterAll(async () => {
  await sim?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const env = (dir: string, extra: Record<string, string> = {}): Record<string, string> => ({
  ...duoEnvOf(sim),
  OUTPUT_DIR: dir,
  DUO_LOGS: STREAM_NAMES.join(','),
  DELAY_SECONDS: '1',
  LOOKBACK_HOURS: '6',
  WINDOW_MAX_HOURS: '1',
  PAGE_LIMIT: '100',
  REQUESTS_PER_MINUTE: '1000000',
  LOG_LEVEL: 'error',
  ...extra,
});

async function report(dir: string, stream: StreamName) {
  return exactlyOnceReport(expectedKeys(stream, sim.eventsOf(stream)), keysOf(stream, await localObjects(join(dir, PREFIX[stream]), stream)));
}

describe('every Duo log stream, collected side by side', () => {
  it('writes every event of every stream exactly once, one summary per stream, and the next run adds only what is new', async () => {
    const dir = await folder();
    const first = await runCli(['collect', '--json'], env(dir));
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const json = JSON.parse(first.stdout) as { summaryVersion: number; outcome: string; streams: Array<{ stream: string; status: string; events: number; pages: number; windowsClosed: number }> };
    expect(json).toMatchObject({ summaryVersion: 2, outcome: 'caught-up' });
    expect(json.streams.map((s) => [s.stream, s.status])).toEqual(STREAM_NAMES.map((s) => [s, 'collected']));
    for (const s of json.streams) expect(s.pages, s.stream).toBeGreaterThan(1);
    for (const stream of STREAM_NAMES) {
      const r = await report(dir, stream);
      expect(r, stream).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: sim.eventsOf(stream).length });
    }
    // Each stream keeps its own checkpoint, outside every prefix.
    for (const stream of STREAM_NAMES) expect(JSON.parse(await readFile(join(dir, '_state', `${PREFIX[stream]}.json`), 'utf8'))).toHaveProperty('nextMintimeMs');

    // Four minutes later on Duo's clock (less than the skew Duo tolerates), Duo has published more of every stream: the next run writes only those.
    const later = Date.now();
    for (const [i, stream] of STREAM_NAMES.entries()) {
      sim.addEvents(generateDataset({ stream, events: 50, seed: 900 + i, fromMs: later + 30_000, toMs: later + 2 * 60_000, ...(stream === 'administrator' ? { identicalRate: 0.3 } : {}) }), stream);
    }
    sim.clock.advance(4 * 60_000);
    const second = await runCli(['collect'], env(dir));
    expect(second.stderr).toBe('');
    expect(second.code).toBe(0);
    const lines = second.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(':')[0])).toEqual([...STREAM_NAMES]);
    for (const stream of STREAM_NAMES) expect(await report(dir, stream), stream).toMatchObject({ missing: 0, doubled: 0, unexpected: 0 });
  });

  it('reports a stream the account does not serve (404) or allow (403) as unsupported, and collects the rest: exit 0', async () => {
    const integration = { ...randomIntegration(), permissions: { denied: ['activity'] as StreamName[] } };
    const narrow = await startSimulator({
      integrations: [integration],
      unsupported: ['trust_monitor'],
      logs: { telephony: generateDataset({ events: 300, seed: 3, fromMs: now - 2 * H, toMs: now - 10 * 60_000 }) },
    });
    try {
      const dir = await folder();
      const e = { ...env(dir), ...duoEnvOf(narrow, integration) };
      const r = await runCli(['collect', '--json'], e);
      expect(r.code).toBe(0);
      const json = JSON.parse(r.stdout) as { outcome: string; streams: Array<{ stream: string; status: string; error?: { code: string } }> };
      expect(json.streams.map((s) => [s.stream, s.status, s.error?.code])).toEqual([
        ['telephony', 'collected', undefined],
        ['authentication', 'collected', undefined],
        ['activity', 'unsupported', 'DUO_FORBIDDEN'],
        ['trust_monitor', 'unsupported', 'DUO_BAD_REQUEST'],
        ['administrator', 'collected', undefined],
      ]);
      expect(await localObjects(join(dir, PREFIX.telephony))).not.toHaveLength(0);
      const text = await runCli(['collect'], e);
      expect(text.stdout).toMatch(/^activity: not served to this Duo account or application \(DUO_FORBIDDEN\), left out: .*403/m);

      // check asks every selected stream and says which to leave out; exit as Duo's refusal says.
      const check = await runCli(['check'], e);
      expect(check.stdout).toMatch(/Authentication permission:\s+ok/);
      expect(check.stdout).toMatch(/Activity permission:\s+missing \(Duo 40301, HTTP 403\)\. Fix: .*Grant read log/);
      expect(check.stdout).toMatch(/Trust monitor permission:\s+not served to this account \(Duo 40401, HTTP 404\): leave trust_monitor out of DUO_LOGS/);
      expect(check.code).not.toBe(0);
      const good = await runCli(['check'], { ...e, DUO_LOGS: 'telephony,authentication,administrator' });
      expect(good.stdout).toContain('All checks passed.');
      expect(good.code).toBe(0);

      // Selected alone, a refused stream is the failure it always was.
      const alone = await runCli(['collect'], { ...e, DUO_LOGS: 'activity' });
      expect(alone.code).toBe(3);
      expect(alone.stderr).toContain('Grant read log');
    } finally {
      await narrow.close();
    }
  });

  it('shows and resets one stream’s checkpoint at a time', async () => {
    const dir = await folder();
    const e = env(dir, { DUO_LOGS: 'telephony,administrator' });
    expect((await runCli(['collect'], e)).code).toBe(0);
    const shown = await runCli(['state', 'show'], e);
    expect(shown.stdout).toMatch(/^telephony:\ncheckpoint: .*_state\/duo-telephony\.json/m);
    expect(shown.stdout).toMatch(/^administrator:\ncheckpoint: .*_state\/duo-administrator\.json/m);
    const both = await runCli(['state', 'reset', '--to', new Date(now - H).toISOString(), '--yes'], e);
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("--logs: state reset moves one stream's checkpoint");
    const one = await runCli(['state', 'reset', '--to', new Date(now - H).toISOString(), '--yes', '--logs', 'administrator'], e);
    expect(one.code).toBe(0);
    expect(one.stdout).toContain('_state/duo-administrator.json reset');
  });
});
