/**
 * The learned pace against a Duo whose token bucket holds one request (every request must keep the
 * interval): catch-up at a limit of 2, 30 and 120 requests per minute, once told the true rate
 * (REQUESTS_PER_MINUTE = the limit) and once learning it below a ceiling; then a limit that halves
 * in the middle of the run.
 *
 *   - told: ideal time (pages ÷ limit) ÷ actual time, and the 429s (targets ≥ 0.97 and 0);
 *   - learning: from the 31st request on, the pages Duo served per minute ÷ the limit (target ≥ 0.9)
 *     and the most 429s among any 20 requests in a row (target ≤ 1);
 *   - halving: the 429s from the change until 20 answers in a row are good (target ≤ 5), then the
 *     same two figures against the new limit.
 *
 * Time is scaled: every case runs its limit at REAL_RPM real requests per minute, and the collector's
 * ceiling is scaled by the same factor (`auto`, 60 per minute, becomes 60 × the factor), so that a
 * limit of 2 per minute takes seconds, not hours. The ratios do not depend on the scale as long as a
 * page takes well under one interval to store. The simulator runs in this process, so its timeline of
 * answers can be read; the collector is the built CLI, as users run it.
 */
import { performance } from 'node:perf_hooks';
import { generateDataset, startSimulator } from '../src/simulator/index.js';
import { CLI, passOrMiss, ratio, report, runNodeOk, seconds, withTempDir } from './lib.js';

/**
 * The real rate every case's limit is scaled to: a 250 ms interval. Faster, the few milliseconds a
 * loaded machine adds here and there become a share of the interval that Duo's real intervals (a
 * second and more) never see.
 */
const REAL_RPM = 240;
const PAGE_LIMIT = 100;
const MINUTE_MS = 60_000;
/** Learning: the requests it may take to reach the limit, and the 429s allowed per so many after that. */
const LEARN_WITHIN = 30;
const PER = 20;
const AUTO_CEILING = 60;

interface Case {
  id: string;
  /** Duo's limit, requests per minute (unscaled). */
  limit: number;
  /** REQUESTS_PER_MINUTE (unscaled). */
  ceiling: number;
  told: boolean;
  pages: number;
  /** The limit halves when this many answers have been sent. */
  halveAt?: number;
}

const CASES: Case[] = [
  { id: 'rate/told-2', limit: 2, ceiling: 2, told: true, pages: 60 },
  { id: 'rate/told-30', limit: 30, ceiling: 30, told: true, pages: 60 },
  { id: 'rate/told-120', limit: 120, ceiling: 120, told: true, pages: 60 },
  { id: 'rate/auto-2', limit: 2, ceiling: AUTO_CEILING, told: false, pages: 100 },
  { id: 'rate/auto-30', limit: 30, ceiling: AUTO_CEILING, told: false, pages: 100 },
  // Above auto's ceiling of 60: a number sets a higher one, and the pace is learned below it all the same.
  { id: 'rate/learn-120', limit: 120, ceiling: 240, told: false, pages: 100 },
  { id: 'rate/halving-40', limit: 40, ceiling: AUTO_CEILING, told: false, pages: 150, halveAt: 60 },
];

interface Answer {
  atMs: number;
  status: number;
}

interface Summary {
  outcome: string;
  events: number;
  pages: number;
  rateLimited: number;
  durationMs: number;
  learnedRate: { endpoint: { rpm: number } } | null;
}

async function runCase(c: Case): Promise<{ summary: Summary; answers: Answer[]; scale: number }> {
  const scale = REAL_RPM / c.limit;
  const nowMs = Date.now();
  // One window holds the backlog, and the page that empties it carries no cursor: one request per page.
  const events = generateDataset({ events: (c.pages + 5) * PAGE_LIMIT, seed: 13, fromMs: nowMs - 90 * MINUTE_MS, toMs: nowMs - 30 * MINUTE_MS });
  const answers: Answer[] = [];
  const halved = { done: false };
  const sim = await startSimulator({
    events,
    rpm: c.limit * scale,
    burst: 1,
    lastPageCursor: 'absent',
    onResponse: (status) => {
      answers.push({ atMs: performance.now(), status });
      if (c.halveAt !== undefined && !halved.done && answers.length >= c.halveAt) {
        halved.done = true;
        sim.setRateLimit({ rpm: (c.limit / 2) * scale });
      }
    },
  });
  try {
    const integration = sim.integrations[0];
    if (!integration) throw new Error('the simulator started without an integration');
    const summary = await withTempDir('rate', async (dir) => {
      const env = {
        ...process.env,
        DUO_API_URL: sim.url,
        DUO_API_HOST: sim.apiHost,
        DUO_IKEY: integration.ikey,
        DUO_SKEY: integration.skey,
        OUTPUT_DIR: dir,
        LOOKBACK_HOURS: '2',
        PAGE_LIMIT: String(PAGE_LIMIT),
        MAX_ITERATIONS: String(c.pages),
        REQUESTS_PER_MINUTE: String(c.ceiling * scale),
        LOG_LEVEL: 'warn',
      };
      const r = await runNodeOk('duo-secops collect', [CLI, 'collect', '--json'], env);
      return (JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as { streams: [Summary] }).streams[0];
    });
    if (summary.pages !== c.pages) throw new Error(`${c.id}: the collector ended ${summary.outcome} after ${summary.pages} of ${c.pages} pages`);
    return { summary, answers, scale };
  } finally {
    await sim.close();
  }
}

/** Pages served per minute (unscaled) over these answers, and their 429s. */
function steady(answers: readonly Answer[], scale: number): { rpm: number; refused: number; requests: number } {
  const served = answers.filter((a) => a.status === 200);
  const spanMs = served.length > 1 ? served[served.length - 1]!.atMs - served[0]!.atMs : Number.NaN;
  return { rpm: ((served.length - 1) * MINUTE_MS) / spanMs / scale, refused: answers.filter((a) => a.status === 429).length, requests: answers.length };
}

/** The most 429s among any PER requests in a row. */
function worstRun(answers: readonly Answer[]): number {
  let worst = 0;
  for (let i = 0; i + PER <= answers.length; i++) worst = Math.max(worst, answers.slice(i, i + PER).filter((a) => a.status === 429).length);
  return worst;
}

export async function run(): Promise<void> {
  for (const c of CASES) {
    const { summary, answers, scale } = await runCase(c);
    const refused = answers.filter((a) => a.status === 429).length;
    const wholeIdealMs = (summary.pages / (c.limit * scale)) * MINUTE_MS;
    const learned = summary.learnedRate ? `${Math.round((summary.learnedRate.endpoint.rpm / scale) * 100) / 100}` : 'none';
    if (c.told) {
      const r = wholeIdealMs / summary.durationMs;
      report({
        id: c.id,
        status: passOrMiss(r >= 0.97 && refused === 0),
        text: `told ${c.limit}/min, ${summary.pages} pages: ideal ${seconds(wholeIdealMs)}, actual ${seconds(summary.durationMs)}; ratio ${ratio(r)} (target ≥ 0.97); 429s ${refused} (target 0)`,
        figures: { limit: c.limit, pages: summary.pages, ratio: r, refused },
      });
      continue;
    }
    if (c.halveAt === undefined) {
      const after = steady(answers.slice(LEARN_WITHIN), scale);
      const worst = worstRun(answers.slice(LEARN_WITHIN));
      const r = after.rpm / c.limit;
      const ok = r >= 0.9 && worst <= 1;
      report({
        id: c.id,
        status: passOrMiss(ok),
        text:
          `limit ${c.limit}/min unknown, ceiling ${c.ceiling}/min: 429s ${answers.slice(0, LEARN_WITHIN).filter((a) => a.status === 429).length} in the first ${LEARN_WITHIN} requests; ` +
          `after them ${ratio(r)} of the limit (target ≥ 0.9), ${after.refused} 429s in ${after.requests} requests, at most ${worst} in any ${PER} in a row (target ≤ 1); ` +
          `learned ${learned}/min; whole run ${ratio(wholeIdealMs / summary.durationMs)} of ideal`,
        figures: { limit: c.limit, ratio: r, worstPer20: worst, refusedFirst30: answers.slice(0, LEARN_WITHIN).filter((a) => a.status === 429).length, whole: wholeIdealMs / summary.durationMs },
      });
      continue;
    }
    // Halving: settled again at the first run of PER good answers after the change.
    const from = c.halveAt;
    let settledAt = -1;
    for (let i = from; i + PER <= answers.length; i++) {
      if (answers.slice(i, i + PER).every((a) => a.status === 200)) {
        settledAt = i;
        break;
      }
    }
    const toSettle = answers.slice(from, settledAt < 0 ? answers.length : settledAt).filter((a) => a.status === 429).length;
    const settled = answers.slice(settledAt < 0 ? answers.length : settledAt);
    const after = steady(settled, scale);
    const worst = worstRun(settled);
    const r = after.rpm / (c.limit / 2);
    const ok = settledAt >= 0 && toSettle <= 5 && r >= 0.9 && worst <= 1;
    report({
      id: c.id,
      status: passOrMiss(ok),
      text:
        `limit ${c.limit}/min halved to ${c.limit / 2}/min at request ${from}: ${toSettle} 429s until ${PER} good answers in a row (target ≤ 5); ` +
        `then ${ratio(r)} of the new limit (target ≥ 0.9), at most ${worst} 429s in any ${PER} in a row (target ≤ 1); learned ${learned}/min`,
      figures: { limit: c.limit, refusedToSettle: toSettle, ratio: r, worstPer20: worst },
    });
  }
}
