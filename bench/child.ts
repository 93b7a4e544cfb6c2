/**
 * Runs one benchmark in a fresh process: `node --expose-gc dist/bench/child.js <name>`. A fresh process
 * per benchmark keeps one benchmark's heap, JIT state and open sockets from colouring the next one's
 * figures, and lets the runner carry on when one of them cannot run.
 *
 * Result lines go to stdout as they are known; the records are written as JSON to BENCH_RESULT_FILE for
 * the runner's summary. Exit status 1 means the benchmark could not run (a missed target is not that).
 */
import { writeFileSync } from 'node:fs';
import { reported } from './lib.js';
import { isBenchName, type BenchName } from './suite.js';

const load: Record<BenchName, () => Promise<{ run(): Promise<void> }>> = {
  catchup: () => import('./catchup.js'),
  rate: () => import('./rate.js'),
  verify: () => import('./verify.js'),
  accounts: () => import('./accounts.js'),
  pipeline: () => import('./pipeline.js'),
  memory: () => import('./memory.js'),
  streams: () => import('./streams.js'),
  udm: () => import('./udm.js'),
  coldstart: () => import('./coldstart.js'),
};

const name = process.argv[2] ?? '';
if (!isBenchName(name)) {
  process.stderr.write(`unknown benchmark "${name}"; choose one of ${Object.keys(load).join(', ')}\n`);
  process.exit(2);
}
try {
  await (await load[name]()).run();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
} finally {
  const file = process.env['BENCH_RESULT_FILE'];
  if (file) writeFileSync(file, JSON.stringify(reported()));
}
