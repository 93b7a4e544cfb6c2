/**
 * Memory: the peak resident set size of `duo-secops collect`, the built CLI as users run it, in a
 * process of its own (the simulator holding the data set is another one), for 100,000 and 1,000,000
 * events. Flat memory means the backlog never accumulates in the collector: the 1M run may not need
 * more than the 100k run plus a little.
 *
 * Both runs read the same 1M-event simulator; the 100k run stops after 100 pages (--max-pages).
 * Each size runs twice and keeps the higher peak, since a peak is what a memory limit has to hold.
 * The process's footprint before any collecting (`collect --help`, same modules loaded) is measured
 * too, to tell the runtime's share from the collector's.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI, DIST, collectorEnv, int, mb, passOrMiss, report, runNodeOk, startSimulateProcess, withTempDir, type SimulateInfo } from './lib.js';
import type { RssReport } from './rss-probe.js';

const EVENTS = 1_000_000;
const SMALL_PAGES = 100;
const RUNS = 2;
const MAX_RSS_BYTES = 120 * 1_048_576;
const MAX_GROWTH = 0.2;
const PROBE = join(DIST, 'bench', 'rss-probe.js');

interface Measured extends RssReport {
  events: number;
}

async function measure(sim: SimulateInfo, maxPages: number | null, args: string[] = ['collect', '--json']): Promise<Measured> {
  return withTempDir('memory', async (dir) => {
    const rssFile = join(dir, 'rss.json');
    const env = collectorEnv(sim, { OUTPUT_DIR: join(dir, 'out'), BENCH_RSS_FILE: rssFile, ...(maxPages !== null ? { MAX_ITERATIONS: String(maxPages) } : {}) });
    const r = await runNodeOk('duo-secops collect', ['--import', PROBE, CLI, ...args], env);
    const probe = JSON.parse(await readFile(rssFile, 'utf8')) as RssReport;
    const summary = args.includes('--json') ? (JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { events?: number }) : {};
    return { ...probe, events: summary.events ?? 0 };
  });
}

async function peakOf(sim: SimulateInfo, maxPages: number | null): Promise<Measured> {
  let best: Measured | undefined;
  for (let i = 0; i < RUNS; i++) {
    const m = await measure(sim, maxPages);
    if (!best || m.maxRssBytes > best.maxRssBytes) best = m;
  }
  return best as Measured;
}

export async function run(): Promise<void> {
  const sim = await startSimulateProcess(EVENTS);
  let small: Measured;
  let large: Measured;
  let idle: Measured;
  try {
    idle = await measure(sim.info, null, ['collect', '--help']);
    small = await peakOf(sim.info, SMALL_PAGES);
    large = await peakOf(sim.info, null);
  } finally {
    await sim.stop();
  }
  if (large.events !== EVENTS) throw new Error(`the 1M run collected ${large.events} events`);
  const growth = large.maxRssBytes / small.maxRssBytes - 1;
  const ok = large.maxRssBytes <= MAX_RSS_BYTES && growth <= MAX_GROWTH;
  report({
    id: 'memory/collect',
    status: passOrMiss(ok),
    text:
      `peak RSS ${mb(small.maxRssBytes)} at ${int(small.events)} events, ${mb(large.maxRssBytes)} at ${int(large.events)}; ` +
      `growth ${Math.round(growth * 100)} % (target ≤ 120 MB at 1M, ≤ 20 % growth); ` +
      `process before collecting ${mb(idle.maxRssBytes)}; at 1M peak V8 heap ${mb(large.heapTotal)} (${mb(large.heapUsed)} used), external ${mb(large.external)}` +
      (large.rssFile > 0 ? `, resident peaks ${mb(large.rssAnon)} allocated and ${mb(large.rssFile)} mapped from files (the node executable)` : ''),
    figures: {
      rss100kBytes: small.maxRssBytes,
      rss1mBytes: large.maxRssBytes,
      growth,
      idleRssBytes: idle.maxRssBytes,
      heapTotal1m: large.heapTotal,
      heapUsed1m: large.heapUsed,
      external1m: large.external,
      rssAnon1m: large.rssAnon,
      rssFile1m: large.rssFile,
    },
  });
}
