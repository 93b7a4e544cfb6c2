/**
 * One measured pass of the unthrottled pipeline, in a fresh process so that each pass starts from the
 * same cold heap and JIT: `node dist/bench/pipeline-worker.js collector|baseline [file]`.
 * Reads the collector's environment (DUO_*, OUTPUT_DIR or GCS_BUCKET + GCS_API_ENDPOINT, LOOKBACK_HOURS,
 * DELAY_SECONDS) and prints one JSON line: `{"events":…,"pages":…,"ms":…}`.
 *
 * - `collector`: the product as the CLI builds it (createCollector), one run until caught up. Only the
 *   run is timed: loading the GCS client is a one-time start-up cost, measured by the cold-start
 *   benchmark instead.
 * - `baseline`: the least any collector must do: fetch the same pages (signed, as Duo requires) and
 *   append the same NDJSON lines, enrichment included, to one file, with no checkpoint, no object
 *   names, no per-page durability (one fsync at the end). The difference to `collector` is what exactly-
 *   once costs.
 */
import { open } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { loadConfig } from '../src/config.js';
import { createCollector } from '../src/collect/deps.js';
import { createLogger } from '../src/log.js';
import { canonicalParams, rfc2822Date, signRequest } from '../src/duo/sign.js';
import type { TelephonyItem } from '../src/duo/types.js';
import { STREAMS } from '../src/duo/streams.js';
import { streamSummary } from '../src/collect/run-streams.js';

export interface WorkerResult {
  events: number;
  pages: number;
  ms: number;
  outcome?: string;
}

interface DuoPageBody {
  stat: string;
  response?: { items?: TelephonyItem[]; metadata?: { next_offset?: string | null } };
}

const HOUR_MS = 3_600_000;

async function collector(): Promise<WorkerResult> {
  const config = loadConfig(process.env, {}, { needDuo: true });
  const collector = await createCollector(config, { logger: createLogger({ level: config.logLevel }) });
  try {
    const t0 = performance.now();
    const s = streamSummary(await collector.run());
    return { events: s.events, pages: s.pages, ms: performance.now() - t0, outcome: s.outcome };
  } finally {
    await collector.close();
  }
}

async function baseline(file: string): Promise<WorkerResult> {
  // The same settings the collector reads, so both fetch the same events.
  const config = loadConfig(process.env, {}, { needDuo: true });
  const skey = config.skey ?? '';
  const nowMs = Date.now();
  const mintime = String(nowMs - config.lookbackHours * HOUR_MS);
  const maxtime = String(nowMs - config.delaySeconds * 1000);
  const agent = new Agent({ keepAliveTimeout: 10_000 });
  const fh = await open(file, 'w');
  let events = 0;
  let pages = 0;
  let offset: string | null = null;
  const t0 = performance.now();
  try {
    for (;;) {
      const params: Record<string, string> = { mintime, maxtime, limit: String(config.pageLimit), sort: 'ts:asc' };
      if (offset !== null) params['next_offset'] = offset;
      const date = rfc2822Date(Date.now());
      const authorization = signRequest({ ikey: config.ikey, skey, method: 'GET', host: config.apiHost, path: STREAMS.telephony.path, params, date, version: 5, body: '' });
      const res = await request(`${config.apiUrl}${STREAMS.telephony.path}?${canonicalParams(params)}`, { dispatcher: agent, headers: { date, authorization } });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`the simulator answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`);
      const body = JSON.parse(text) as DuoPageBody;
      const items = body.response?.items ?? [];
      pages += 1;
      if (items.length > 0) {
        let lines = '';
        for (const item of items) lines += `${JSON.stringify({ ...item, eventtype: 'telephony', host: config.apiHost })}\n`;
        await fh.write(lines);
        events += items.length;
      }
      const next = body.response?.metadata?.next_offset;
      if (items.length === 0 || !next) break;
      offset = next;
    }
    await fh.sync();
  } finally {
    await fh.close();
    await agent.close();
  }
  return { events, pages, ms: performance.now() - t0 };
}

const mode = process.argv[2];
let result: WorkerResult;
if (mode === 'collector') result = await collector();
else if (mode === 'baseline' && process.argv[3]) result = await baseline(process.argv[3]);
else throw new Error('usage: pipeline-worker.js collector | baseline <file>');
process.stdout.write(`${JSON.stringify(result)}\n`);
