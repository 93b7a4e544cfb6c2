/**
 * Rate-limited catch-up. After an outage the collector is limited by Duo's request budget alone, so
 * the only figure that matters is how close it comes to that budget without ever exceeding it:
 * ideal time (N pages ÷ R requests per minute) ÷ actual run time, and the 429s it provoked.
 *
 * The simulator enforces R with its token bucket and runs in this process so its counters can be read; the collector is the built CLI in its own
 * process, configured to the same R, as users run it. R is scaled up from Duo's real limits (tens of
 * requests per minute) so that the run takes seconds, not hours; the ratio does not depend on the scale
 * as long as a page takes well under 60/R seconds to store.
 *
 * The bucket holds max(2, ⌈R/60⌉) requests, as it did before the simulator's default became one: this
 * measures the pipeline keeping up with a budget at 100 ms a page of 1000 items, where a loaded
 * machine's jitter is a tenth of the interval. Pacing behind a bucket that holds one request, at
 * intervals nearer Duo's, is the `rate` suite's subject.
 */
import { generateDataset, startSimulator } from '../src/simulator/index.js';
import { CLI, collectorEnv, passOrMiss, ratio, report, runNodeOk, seconds, withTempDir, type SimulateInfo } from './lib.js';

const RPM = 600;
const PAGES = 100;
const PAGE_LIMIT = 1000;
const MINUTE_MS = 60_000;

interface CollectSummary {
  outcome: string;
  events: number;
  pages: number;
  requests: number;
  rateLimited: number;
  durationMs: number;
}

export async function run(): Promise<void> {
  const nowMs = Date.now();
  // One window holds the whole backlog, and the page that empties it carries no cursor ('absent'), so
  // the run needs exactly PAGES requests: no extra empty page to account for.
  const events = generateDataset({ events: PAGES * PAGE_LIMIT, seed: 11, fromMs: nowMs - 90 * MINUTE_MS, toMs: nowMs - 30 * MINUTE_MS });
  const sim = await startSimulator({ events, rpm: RPM, burst: Math.max(2, Math.ceil(RPM / 60)), lastPageCursor: 'absent' });
  try {
    const integration = sim.integrations[0];
    if (!integration) throw new Error('the simulator started without an integration');
    const info: SimulateInfo = {
      url: sim.url,
      apiHost: sim.apiHost,
      ikey: integration.ikey,
      skey: integration.skey,
      events: events.length,
      window: { fromMs: nowMs - 90 * MINUTE_MS, toMs: nowMs - 30 * MINUTE_MS },
      env: { DUO_API_URL: sim.url, DUO_API_HOST: sim.apiHost, DUO_IKEY: integration.ikey, DUO_SKEY: integration.skey },
    };
    const summary = await withTempDir('catchup', async (dir) => {
      const env = collectorEnv(info, {
        OUTPUT_DIR: dir,
        LOOKBACK_HOURS: '2',
        PAGE_LIMIT: String(PAGE_LIMIT),
        REQUESTS_PER_MINUTE: String(RPM),
        LOG_LEVEL: 'warn',
      });
      const r = await runNodeOk('duo-secops collect', [CLI, 'collect', '--json'], env);
      // One stream: its entry of the collection's summary.
      return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { streams: [CollectSummary] }).streams[0];
    });
    if (summary.outcome !== 'caught-up' || summary.events !== events.length) {
      throw new Error(`the collector ended ${summary.outcome} with ${summary.events} of ${events.length} events`);
    }
    const idealMs = (summary.pages / RPM) * MINUTE_MS;
    const r = idealMs / summary.durationMs;
    const simulator429 = sim.stats.byStatus[429] ?? 0;
    const ok = r >= 0.97 && simulator429 === 0 && summary.rateLimited === 0;
    report({
      id: 'catchup',
      status: passOrMiss(ok),
      text:
        `${summary.pages} pages at ${RPM} rpm: ideal ${seconds(idealMs)}, actual ${seconds(summary.durationMs)}; ` +
        `ratio ${ratio(r)} (target ≥ 0.97); 429s ${simulator429} sent by the simulator, ${summary.rateLimited} seen by the collector (target 0)`,
      figures: { pages: summary.pages, rpm: RPM, idealMs, actualMs: summary.durationMs, ratio: r, simulator429, collector429: summary.rateLimited, requests: summary.requests },
    });
  } finally {
    await sim.close();
  }
}
