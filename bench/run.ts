/**
 * `npm run bench [-- --only udm,memory]` (the npm script builds first, so the figures are always those
 * of the current source): runs each benchmark in a process of its own and prints one line per figure,
 * then a summary to paste into BENCHMARKS.md.
 *
 * Every figure is a ratio against a baseline measured in the same run, because the machines are shared
 * and noisy: absolute numbers from two runs are not comparable, ratios mostly are.
 *
 * Exit status: 0 when every benchmark ran (missed targets included: they are results), 1 when one
 * could not run, 2 for a bad argument.
 */
import { spawn } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DIST, ROOT, type BenchResult } from './lib.js';
import { BENCHMARKS, isBenchName, type BenchName } from './suite.js';

interface Args {
  only: BenchName[];
}

function parseArgs(argv: readonly string[]): Args {
  const all = Object.keys(BENCHMARKS) as BenchName[];
  let only: BenchName[] = all;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--only' || a.startsWith('--only=')) {
      const value = a === '--only' ? argv[++i] : a.slice('--only='.length);
      const names = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const bad = names.filter((n) => !isBenchName(n));
      if (names.length === 0 || bad.length > 0) usage(`--only takes a comma-separated list of ${all.join(', ')}${bad.length ? `; unknown: ${bad.join(', ')}` : ''}`);
      // Keep the suite's order whatever order they were named in.
      only = all.filter((n) => names.includes(n));
    } else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  return { only };
}

function usage(problem?: string): never {
  const lines = [
    'usage: npm run bench [-- --only NAME[,NAME…]]',
    ...Object.entries(BENCHMARKS).map(([n, d]) => `  ${n.padEnd(10)} ${d}`),
  ];
  if (problem) process.stderr.write(`bench: ${problem}\n`);
  process.stderr.write(`${lines.join('\n')}\n`);
  process.exit(problem ? 2 : 0);
}

function spawnAndWait(args: readonly string[], env: NodeJS.ProcessEnv, captureStderr: boolean): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: ROOT, env, stdio: ['ignore', 'inherit', captureStderr ? 'pipe' : 'inherit'] });
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
  });
}

function machine(): string {
  const cpu = cpus();
  const model = cpu[0]?.model.replace(/\s+/g, ' ').trim() ?? 'unknown CPU';
  const load = loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');
  return `${cpu.length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${process.platform}/${process.arch}, load average ${load} at start`;
}

function minutes(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

const args = parseArgs(process.argv.slice(2));
const started = performance.now();
const date = new Date().toISOString();
process.stdout.write(`duo-secops benchmarks, ${date}\n${machine()}\n`);

const results: BenchResult[] = [];
const failed: string[] = [];
const durations: Array<[string, number]> = [];
for (const name of args.only) {
  const resultFile = join(tmpdir(), `duo-bench-${process.pid}-${name}.json`);
  const t0 = performance.now();
  const r = await spawnAndWait(['--expose-gc', join(DIST, 'bench', 'child.js'), name], { ...process.env, BENCH_RESULT_FILE: resultFile }, true);
  durations.push([name, performance.now() - t0]);
  try {
    results.push(...(JSON.parse(await readFile(resultFile, 'utf8')) as BenchResult[]));
  } catch {
    // No file: the child died before writing it; the exit status below says so.
  }
  await rm(resultFile, { force: true });
  if (r.code !== 0) {
    failed.push(name);
    process.stdout.write(`${name}: could not run (exit ${r.code}): ${r.stderr || 'no message'}\n`);
  }
}

const total = performance.now() - started;
const summary = [
  '',
  `## Results (${date.slice(0, 10)})`,
  '',
  `Machine: ${machine().replace(/, load average.*$/, '')}.`,
  `Command: \`npm run bench${args.only.length === Object.keys(BENCHMARKS).length ? '' : ` -- --only ${args.only.join(',')}`}\`; the whole run took ${minutes(total)} (${durations.map(([n, ms]) => `${n} ${minutes(ms)}`).join(', ')}).`,
  '',
  '| benchmark | result | status |',
  '|---|---|---|',
  ...results.map((r) => `| ${r.id} | ${r.line.slice(r.id.length + 2).replace(/ (PASS|MISS)$/, '').replace(/\|/g, '\\|')} | ${r.status} |`),
  ...failed.map((n) => `| ${n} | could not run | — |`),
];
process.stdout.write(`${summary.join('\n')}\n`);
process.exitCode = failed.length > 0 ? 1 : 0;
