/**
 * Cold start: how long a fresh Node.js process takes, from its start (`performance.timeOrigin`) until
 * the function handler is registered with the functions-framework, which is what the framework waits
 * for before it serves the first event. Baseline: a process that only imports `@google-cloud/storage`,
 * the one import every GCS-writing function (the guide's included) pays before it can do anything.
 *
 * The package entry registers the handler and nothing else; configuration, the Duo client and the GCS
 * driver load on the first event. So that deferring is not mistaken for saving, the cost of the first
 * event's imports (the handler plus every module the GCS collector loads) is reported alongside.
 *
 * Each variant runs in a fresh process, RUNS times, interleaved so load spikes hit all of them alike;
 * each figure is the median. An empty process is measured too: Node's own start-up is in every figure.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, median, passOrMiss, ratio, report, runNodeOk } from './lib.js';

const RUNS = 15;
const TARGET = 1.2;

const FUNCTION_ENTRY = pathToFileURL(join(DIST, 'src', 'entry', 'function.js')).href;
const GCS_MODULES = ['config.js', 'log.js', 'collect/deps.js', 'gcs/storage.js', 'sinks/gcs.js', 'checkpoint/gcs.js'].map((m) => pathToFileURL(join(DIST, 'src', m)).href);

/**
 * Each variant is a module script whose last act is to print the milliseconds since its process began.
 * The handler variant then proves the registration happened (after the clock was read, so the check
 * costs nothing measured).
 */
const VARIANTS = {
  empty: `process.stdout.write(String(performance.now()));`,
  storage: `await import('@google-cloud/storage'); process.stdout.write(String(performance.now()));`,
  handler:
    `await import(${JSON.stringify(FUNCTION_ENTRY)}); const t = performance.now();` +
    `const { getFunction } = await import('@google-cloud/functions-framework/testing');` +
    `if (typeof getFunction('main') !== 'function') throw new Error('the handler "main" is not registered');` +
    `process.stdout.write(String(t));`,
  firstEvent: `await import(${JSON.stringify(FUNCTION_ENTRY)}); await Promise.all(${JSON.stringify(GCS_MODULES)}.map((m) => import(m))); process.stdout.write(String(performance.now()));`,
} as const;

type Variant = keyof typeof VARIANTS;

async function once(variant: Variant): Promise<number> {
  const r = await runNodeOk(`cold start (${variant})`, ['--input-type=module', '-e', VARIANTS[variant]]);
  const ms = Number(r.stdout.trim());
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`cold start (${variant}) printed ${JSON.stringify(r.stdout)}`);
  return ms;
}

export async function run(): Promise<void> {
  const variants = Object.keys(VARIANTS) as Variant[];
  // One untimed round warms the OS file cache, as a redeployed instance's image would be.
  for (const v of variants) await once(v);
  const samples: Record<Variant, number[]> = { empty: [], storage: [], handler: [], firstEvent: [] };
  for (let i = 0; i < RUNS; i++) for (const v of variants) samples[v].push(await once(v));
  const m = Object.fromEntries(variants.map((v) => [v, median(samples[v])])) as Record<Variant, number>;
  const r = m.handler / m.storage;
  report({
    id: 'coldstart/handler',
    status: passOrMiss(r <= TARGET),
    text:
      `handler registered ${m.handler.toFixed(0)} ms after process start; importing @google-cloud/storage alone ${m.storage.toFixed(0)} ms; ` +
      `ratio ${ratio(r)} (target ≤ ${TARGET}); empty process ${m.empty.toFixed(0)} ms; median of ${RUNS}`,
    figures: { handlerMs: m.handler, storageMs: m.storage, emptyMs: m.empty, ratio: r },
  });
  report({
    id: 'coldstart/first-event',
    status: 'INFO',
    text: `handler plus every module the first event loads for the GCS collector ${m.firstEvent.toFixed(0)} ms; ratio ${ratio(m.firstEvent / m.storage)} to the same baseline (no target: paid once per instance, on its first event)`,
    figures: { firstEventMs: m.firstEvent, ratio: m.firstEvent / m.storage },
  });
}
