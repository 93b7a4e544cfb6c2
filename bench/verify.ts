/**
 * `verify` over 1,000,000 events: its peak resident set size (target ≤ 150 MB, whatever the range: it
 * compares slice by slice) and how fast it reads, as the events per second of `collect` writing the
 * same events to the same folder in the same run (target ≥ 0.5: verify reads Duo and the store both).
 *
 * The simulator holding the data set runs in a process of its own; collect and verify are the built
 * CLI, as users run them, unpaced (REQUESTS_PER_MINUTE far above what the simulator needs).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, DIST, collectorEnv, int, mb, passOrMiss, ratio, report, runNodeOk, seconds, startSimulateProcess, withTempDir } from './lib.js';
import type { RssReport } from './rss-probe.js';

const EVENTS = 1_000_000;
const MAX_RSS_BYTES = 150 * 1_048_576;
const PROBE = join(DIST, 'bench', 'rss-probe.js');

export async function run(): Promise<void> {
  const sim = await startSimulateProcess(EVENTS);
  try {
    await withTempDir('verify', async (dir) => {
      const env = collectorEnv(sim.info, { OUTPUT_DIR: join(dir, 'out'), LOG_LEVEL: 'warn' });
      const collectStarted = performance.now();
      const collected = await runNodeOk('duo-secops collect', [CLI, 'collect', '--json'], env);
      const collectMs = performance.now() - collectStarted;
      const events = (JSON.parse(collected.stdout.trim().split('\n').pop() ?? '{}') as { events?: number }).events ?? 0;
      if (events !== EVENTS) throw new Error(`collect wrote ${events} of ${EVENTS} events`);

      const rssFile = join(dir, 'rss.json');
      const range = ['--from', new Date(sim.info.window.fromMs).toISOString(), '--to', new Date(sim.info.window.toMs + 1).toISOString()];
      const verifyStarted = performance.now();
      const r = await runNodeOk('duo-secops verify', ['--import', PROBE, CLI, 'verify', ...range, '--json'], { ...env, BENCH_RSS_FILE: rssFile });
      const verifyMs = performance.now() - verifyStarted;
      const probe = JSON.parse(await readFile(rssFile, 'utf8')) as RssReport;
      const out = JSON.parse(r.stdout.trim()) as { duo: number; stored: number; missing: number; doubled: number; unknown: number };
      if (out.duo !== EVENTS || out.stored !== EVENTS || out.missing + out.doubled + out.unknown !== 0) {
        throw new Error(`verify found duo=${out.duo} stored=${out.stored} missing=${out.missing} doubled=${out.doubled} unknown=${out.unknown}`);
      }
      const rate = collectMs / verifyMs;
      report({
        id: 'verify/1M',
        status: passOrMiss(probe.maxRssBytes <= MAX_RSS_BYTES && rate >= 0.5),
        text:
          `${int(EVENTS)} events: verify ${seconds(verifyMs)}, peak RSS ${mb(probe.maxRssBytes)} (target ≤ 150 MB; peak V8 heap ${mb(probe.heapTotal)}, ${mb(probe.heapUsed)} used); collect wrote them in ${seconds(collectMs)}; ` +
          `verify's events per second ${ratio(rate)} × collect's (target ≥ 0.5)`,
        figures: { events: EVENTS, verifyMs, collectMs, ratio: rate, maxRssBytes: probe.maxRssBytes },
      });
    });
  } finally {
    await sim.stop();
  }
}
