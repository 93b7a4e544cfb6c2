/**
 * Accounts mode in turn: what a child account costs beyond its own requests. `duo-secops collect` reads
 * 200 child accounts of the simulator one after another (a collector built and closed per child, their
 * checkpoints and folders), then again once they are caught up, against the same collector reading the
 * parent's own log (as many events as all the children together) in the same run, also twice. The
 * figures: events per second spread over 200 children against one account, and what a caught-up child
 * costs beyond a caught-up run of one account (listing, a collector built and closed, its checkpoint
 * read, one request). The fan-out's sizing (docs/accounts.md) rests on that cost being small beside
 * the child's pace.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CLI, collectorEnv, int, ratio, report, runNodeOk, seconds, startServerProcess, withTempDir, type SimulateInfo } from './lib.js';

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
