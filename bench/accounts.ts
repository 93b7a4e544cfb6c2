/**
 * Accounts mode in turn: what a child account costs beyond its own requests. `duo-secops collect` reads
 * 200 child accounts of the simulator one after another (a collector built and closed per child, their
 * checkpoints and folders), then again once they are caught up, against the same collector reading the
 * parent's own log (as many events as all the children together) in the same run, also twice. The
 * figures: events per second spread over 200 children against one account, and what a caught-up child
 * costs beyond a caught-up run of one account (listing, a collector built and closed, its checkpoint
 * read, one request). The fan-out's sizing (docs/accounts.md) rests on that cost being small beside
 * the child's pace.
 *
 * `accounts/fan-out-shared`: the fan-out's work messages behind a rate limit the children share with
 * the parent integration (the simulator's `--child-limit shared`, a bucket of one request): the
 * function's own dispatch (`workMessages`) and work handler (`collectWork`), FAN_OUT_INSTANCES of them
 * at once in this process as Cloud Run would run them, once with each message paced at its share of
 * the ceiling (ACCOUNTS_SHARE_RATE, the default) and once at the whole ceiling. Ideal time (requests ÷
 * the limit) ÷ actual, and the 429s.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config.js';
import { listChildren, workMessages } from '../src/collect/accounts.js';
import { collectWork } from '../src/entry/fan-out.js';
import { createLogger } from '../src/log.js';
import { CLI, collectorEnv, int, ratio, report, runNodeOk, seconds, startServerProcess, withTempDir, type SimulateInfo } from './lib.js';
import type { CollectionSummary } from '../src/collect/run-streams.js';

const CHILDREN = 200;
const PARENT_EVENTS = 10_000;

interface Collected {
  events: number;
  requests: number;
  ms: number;
}

interface SummaryJson {
  outcome?: string;
  events?: number;
  streams?: Array<{ status?: string; requests?: number }>;
}

async function collect(sim: SimulateInfo, out: string, accounts: string): Promise<Collected> {
  const env = collectorEnv(sim, { OUTPUT_DIR: out, DUO_ACCOUNTS: accounts, LOG_LEVEL: 'error' });
  const t0 = performance.now();
  const r = await runNodeOk(`duo-secops collect (DUO_ACCOUNTS=${accounts || 'unset'})`, [CLI, 'collect', '--json'], env);
  const ms = performance.now() - t0;
  const s = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as SummaryJson;
  if (s.outcome !== 'caught-up') throw new Error(`collect ended ${s.outcome ?? 'without a summary'}`);
  const requests = (s.streams ?? []).reduce((n, x) => n + (x.requests ?? 0), 0);
  return { events: s.events ?? 0, requests, ms };
}

const SHARED_CHILDREN = 20;
const SHARED_RPM = 600;
const INSTANCES = 5;

interface FanOut {
  requests: number;
  rateLimited: number;
  failed: number;
  ms: number;
}

/** One scheduled run fanned out in this process: dispatch, then at most INSTANCES work messages at once. */
async function fanOut(sim: SimulateInfo, out: string, share: boolean): Promise<FanOut> {
  const env = collectorEnv(sim, {
    OUTPUT_DIR: out,
    DUO_ACCOUNTS: 'all',
    REQUESTS_PER_MINUTE: String(SHARED_RPM),
    FAN_OUT_INSTANCES: String(INSTANCES),
    ACCOUNTS_SHARE_RATE: String(share),
    PAGE_LIMIT: '10',
    // Retries after a second 429 in a row wait 50 ms, 100 ms, …: the pace, not the backoff, is measured.
    DUO_SECOPS_BACKOFF_MS: '50',
    RUN_BUDGET_SECONDS: '0',
  });
  const config = loadConfig(env, {}, { needDuo: true, entry: 'function' });
  const logger = createLogger({ level: 'silent', destination: process.stderr });
  const t0 = performance.now();
  const { selected } = await listChildren(config, config.skey ?? '', logger);
  const messages = workMessages(config, selected);
  const results: Array<CollectionSummary | undefined> = [];
  let next = 0;
  const instance = async (): Promise<void> => {
    while (next < messages.length) {
      const m = messages[next++]!;
      results.push(await collectWork(config, logger, m, undefined));
    }
  };
  await Promise.all(Array.from({ length: INSTANCES }, instance));
  const ms = performance.now() - t0;
  let requests = 0;
  let rateLimited = 0;
  let failed = 0;
  for (const r of results.flatMap((x) => x?.streams ?? [])) {
    if (r.status === 'collected') {
      requests += r.summary.requests;
      rateLimited += r.summary.rateLimited;
    } else failed += 1;
  }
  return { requests, rateLimited, failed, ms };
}

export async function run(): Promise<void> {
  const sim = await startServerProcess<SimulateInfo>('duo-secops simulate', [
    CLI,
    'simulate',
    '--events',
    String(PARENT_EVENTS),
    '--accounts',
    String(CHILDREN),
    '--logs',
    'telephony',
    '--seed',
    '5',
    '--json',
    '--log-level',
    'error',
  ]);
  const twice = (accounts: string) =>
    withTempDir(`accounts-${accounts || 'one'}`, async (dir) => {
      const a = await collect(sim.info, join(dir, 'out'), accounts);
      return [a, await collect(sim.info, join(dir, 'out'), accounts)] as const;
    });
  let single: Collected;
  let singleAgain: Collected;
  let first: Collected;
  let again: Collected;
  try {
    [single, singleAgain] = await twice('');
    [first, again] = await twice('all');
  } finally {
    await sim.stop();
  }
  // A bucket as deep as the instances lets through the requests of instances that happen to coincide;
  // a bucket of one (the strictest reading of Duo) refuses any two within one interval of the limit.
  await runSharedFanOut(INSTANCES);
  await runSharedFanOut(1);
  if (single.events !== PARENT_EVENTS) throw new Error(`the parent's run collected ${single.events} events`);
  if (first.events !== PARENT_EVENTS) throw new Error(`the children's run collected ${first.events} events`);
  const rate = (c: Collected): number => c.events / c.ms;
  const perCaughtUpChildMs = (again.ms - singleAgain.ms) / (CHILDREN - 1);
  report({
    id: 'accounts/in-turn',
    status: 'INFO',
    text:
      `${CHILDREN} children in turn: ${int(first.events)} events, ${int(first.requests)} requests in ${seconds(first.ms)} (${(first.ms / CHILDREN).toFixed(1)} ms a child); ` +
      `events per second ${ratio(rate(first) / rate(single))} × one account with as many (${int(single.requests)} requests in ${seconds(single.ms)}); ` +
      `caught up, again in ${seconds(again.ms)} (${int(again.requests)} requests) against ${seconds(singleAgain.ms)} for one account: ${perCaughtUpChildMs.toFixed(1)} ms a caught-up child`,
    figures: {
      children: CHILDREN,
      msFirst: Math.round(first.ms),
      msAgain: Math.round(again.ms),
      msSingle: Math.round(single.ms),
      msSingleAgain: Math.round(singleAgain.ms),
      msPerCaughtUpChild: perCaughtUpChildMs,
      requestsFirst: first.requests,
      requestsAgain: again.requests,
      requestsSingle: single.requests,
      eventsPerSecondRatio: rate(first) / rate(single),
    },
  });
}

async function runSharedFanOut(bucket: number): Promise<void> {
  const sim = await startServerProcess<SimulateInfo>('duo-secops simulate (shared limit)', [
    CLI,
    'simulate',
    '--events',
    '0',
    '--accounts',
    String(SHARED_CHILDREN),
    '--child-limit',
    'shared',
    '--rpm',
    String(SHARED_RPM),
    '--bucket-capacity',
    String(bucket),
    '--logs',
    'telephony',
    '--seed',
    '9',
    '--json',
    '--log-level',
    'error',
  ]);
  let shared: FanOut;
  let whole: FanOut;
  try {
    shared = await withTempDir('fanout-share', (dir) => fanOut(sim.info, join(dir, 'out'), true));
    whole = await withTempDir('fanout-whole', (dir) => fanOut(sim.info, join(dir, 'out'), false));
  } finally {
    await sim.stop();
  }
  const ideal = (f: FanOut): number => (f.requests / SHARED_RPM) * 60_000;
  const text = (f: FanOut): string =>
    `${int(f.requests)} requests in ${seconds(f.ms)} (ideal ${seconds(ideal(f))}, ratio ${ratio(ideal(f) / f.ms)}), ${int(f.rateLimited)} × 429${f.failed ? `, ${f.failed} failed` : ''}`;
  report({
    id: `accounts/fan-out-shared-bucket-${bucket}`,
    status: 'INFO',
    text: `${SHARED_CHILDREN} children sharing a limit of ${SHARED_RPM}/min (a bucket of ${bucket}), ${INSTANCES} at once: each paced at its share: ${text(shared)}; each at the whole ceiling: ${text(whole)}`,
    figures: {
      sharedRequests: shared.requests,
      sharedRateLimited: shared.rateLimited,
      sharedMs: Math.round(shared.ms),
      wholeRequests: whole.requests,
      wholeRateLimited: whole.rateLimited,
      wholeMs: Math.round(whole.ms),
    },
  });
}
