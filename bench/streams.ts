/**
 * Every stream at once: the peak resident set size of `duo-secops collect` backfilling all five Duo log
 * streams side by side (the built CLI in its own process, the simulator in another), against the same
 * collector backfilling the telephony log alone from the same simulator in the same run. Five streams
 * read ahead and store at once; the backlog must still never accumulate in the collector.
 *
 * Data: a day of 400,000 telephony events and the other streams at 25 times their default sizes
 * (300,000 authentication, 50,000 activity, 10,000 trust monitor, 37,500 administrator events).
 * The streams take turns per page (collect/run-streams.ts), so what five streams hold at once is one
 * page; the rest of the peak is garbage V8 has not collected yet, which the run with a smaller young
 * generation shows.
 */
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { CLI, DIST, collectorEnv, int, mb, passOrMiss, ratio, report, runNodeOk, seconds, startServerProcess, withTempDir, type SimulateInfo } from './lib.js';
import type { RssReport } from './rss-probe.js';

const TELEPHONY_EVENTS = 400_000;
const SCALE = 25;
const MAX_RSS_BYTES = 150 * 1_048_576;
const PROBE = join(DIST, 'bench', 'rss-probe.js');
const ALL = 'telephony,authentication,activity,trust_monitor,administrator';
const SMALL_YOUNG_GENERATION = '--max-semi-space-size=4';

interface Measured extends RssReport {
  events: number;
  ms: number;
}

async function measure(sim: SimulateInfo, logs: string, nodeOptions?: string): Promise<Measured> {
  return withTempDir('streams', async (dir) => {
    const rssFile = join(dir, 'rss.json');
    const env = collectorEnv(sim, { OUTPUT_DIR: join(dir, 'out'), BENCH_RSS_FILE: rssFile, DUO_LOGS: logs, LOG_LEVEL: 'error', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) });
    const t0 = performance.now();
    const r = await runNodeOk(`duo-secops collect (${logs})`, ['--import', PROBE, CLI, 'collect', '--json'], env);
    const ms = performance.now() - t0;
    const probe = JSON.parse(await readFile(rssFile, 'utf8')) as RssReport;
    const summary = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { events?: number; outcome?: string };
    if (summary.outcome !== 'caught-up') throw new Error(`collect (${logs}) ended ${summary.outcome ?? 'without a summary'}`);
    return { ...probe, events: summary.events ?? 0, ms };
  });
}

export async function run(): Promise<void> {
  const sim = await startServerProcess<SimulateInfo>('duo-secops simulate', [
    CLI,
    'simulate',
    '--events',
    String(TELEPHONY_EVENTS),
    '--scale',
    String(SCALE),
    '--seed',
    '11',
    '--json',
    '--log-level',
    'error',
  ]);
  let alone: Measured;
  let all: Measured;
  let tuned: Measured;
  try {
    alone = await measure(sim.info, 'telephony');
    all = await measure(sim.info, ALL);
    // The same with V8's young generation capped: how much of the peak is garbage V8 had not collected yet.
    tuned = await measure(sim.info, ALL, SMALL_YOUNG_GENERATION);
  } finally {
    await sim.stop();
  }
  if (alone.events !== TELEPHONY_EVENTS) throw new Error(`the telephony run collected ${alone.events} events`);
  const ok = all.maxRssBytes <= MAX_RSS_BYTES;
  report({
    id: 'streams/backfill',
    status: passOrMiss(ok),
    text:
      `all five streams, ${int(all.events)} events in ${seconds(all.ms)}: peak RSS ${mb(all.maxRssBytes)} (target ≤ 150 MB), ` +
      `${ratio(all.maxRssBytes / alone.maxRssBytes)} × the telephony-only backfill's ${mb(alone.maxRssBytes)} (${int(alone.events)} events in ${seconds(alone.ms)}); ` +
      `events per second ${ratio(all.events / all.ms / (alone.events / alone.ms))} × telephony alone; ` +
      `with NODE_OPTIONS=${SMALL_YOUNG_GENERATION}: peak RSS ${mb(tuned.maxRssBytes)}, ${seconds(tuned.ms)}`,
    figures: {
      rssAllBytes: all.maxRssBytes,
      rssTelephonyBytes: alone.maxRssBytes,
      rssRatio: all.maxRssBytes / alone.maxRssBytes,
      eventsAll: all.events,
      msAll: Math.round(all.ms),
      msTelephony: Math.round(alone.ms),
      rssTunedBytes: tuned.maxRssBytes,
    },
  });
}
