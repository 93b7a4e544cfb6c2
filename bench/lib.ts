/**
 * What every benchmark shares: where the built files are, child processes that print one JSON line
 * when ready, number formatting, and the result record the runner tabulates.
 *
 * Servers (the Duo simulator, the GCS test server) run in processes of their own so that their CPU
 * time is not billed to the collector being measured, as it would be if they shared its event loop.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SimulateJson } from '../src/entry/commands/simulate.js';

/** `dist/bench/lib.js` → the repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = join(ROOT, 'dist');
export const CLI = join(DIST, 'src', 'entry', 'cli.js');

export type Status = 'PASS' | 'MISS' | 'INFO';

export interface BenchResult {
  /** `pipeline/local`, `memory/collect`… */
  id: string;
  /** The one line printed, figures and ratio included. */
  line: string;
  status: Status;
  /** The headline figures, for the summary table. */
  figures: Record<string, number | string>;
}

const results: BenchResult[] = [];

/** Print a result line as soon as it is known (a slow suite should not look hung) and keep it. */
export function report(r: Omit<BenchResult, 'line'> & { text: string }): BenchResult {
  const result: BenchResult = { id: r.id, status: r.status, figures: r.figures, line: `${r.id}: ${r.text}${r.status === 'INFO' ? '' : ` ${r.status}`}` };
  results.push(result);
  process.stdout.write(`${result.line}\n`);
  return result;
}

export function reported(): readonly BenchResult[] {
  return results;
}

export function passOrMiss(ok: boolean): Status {
  return ok ? 'PASS' : 'MISS';
}

// ---- numbers ---------------------------------------------------------------------------------

const EN = new Intl.NumberFormat('en-US');

/** `1,000,000` */
export function int(n: number): string {
  return EN.format(Math.round(n));
}

/** Three significant digits with separators: `43,300`, `1.23`. */
export function sig3(n: number): string {
  if (!Number.isFinite(n) || n === 0) return String(n);
  const digits = Math.floor(Math.log10(Math.abs(n))) + 1;
  if (digits >= 3) {
    const unit = 10 ** (digits - 3);
    return EN.format(Math.round(n / unit) * unit);
  }
  return n.toFixed(3 - digits);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Three decimals: with two, 0.597 would print as 0.60 next to a MISS of a ≥ 0.6 target. */
export function ratio(r: number): string {
  return r.toFixed(3);
}

export function mb(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

// ---- files -----------------------------------------------------------------------------------

export async function withTempDir<T>(label: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), `duo-bench-${label}-`));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- child processes -------------------------------------------------------------------------

/** Keeps the end of a child's stderr: shown when the child fails, dropped otherwise. */
function tail(child: ChildProcess, limit = 4000): () => string {
  let text = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    text = (text + s).slice(-limit);
  });
  return () => text.trim();
}

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run a node script to completion, collecting its output. */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => (stdout += s));
    const stderr = tail(child);
    child.on('error', reject);
    child.on('close', (code, signal) => resolvePromise({ code, signal, stdout, stderr: stderr() }));
  });
}

/** Like runNode, but a non-zero exit is an error carrying the child's own words. */
export async function runNodeOk(what: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<ChildResult> {
  const r = await runNode(args, env);
  if (r.code !== 0) throw new Error(`${what} exited with ${r.code ?? r.signal}: ${r.stderr || r.stdout.trim()}`);
  return r;
}

export interface ServerProcess<T> {
  /** What the server printed as its first stdout line. */
  info: T;
  stop(): Promise<void>;
}

/**
 * Start a long-running node process that prints one JSON line once it is ready (the `simulate --json`
 * contract), and hand that line back with a way to stop it.
 */
export function startServerProcess<T>(what: string, args: readonly string[], env: NodeJS.ProcessEnv = process.env, readyTimeoutMs = 120_000): Promise<ServerProcess<T>> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = tail(child);
    let buffered = '';
    let ready = false;
    const exited = new Promise<void>((r) => child.once('close', () => r()));
    const stop = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${what} printed nothing within ${readyTimeoutMs / 1000} s: ${stderr()}`));
    }, readyTimeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (!ready) reject(new Error(`${what} exited with ${code ?? signal} before it was ready: ${stderr()}`));
    });
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (s: string) => {
      if (ready) return;
      buffered += s;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      ready = true;
      clearTimeout(timer);
      try {
        resolvePromise({ info: JSON.parse(buffered.slice(0, nl)) as T, stop });
      } catch (err) {
        void stop();
        reject(new Error(`${what} printed something that is not JSON: ${String(err)}`));
      }
    });
  });
}

/** What `duo-secops simulate --json` prints; the benchmarks use url, credentials, events and env. */
export type SimulateInfo = Pick<SimulateJson, 'url' | 'apiHost' | 'ikey' | 'skey' | 'events' | 'env'> & { window: Pick<SimulateJson['window'], 'fromMs' | 'toMs'> };

/**
 * The simulator as users start it (`duo-secops simulate`), in its own process. Its default data set
 * ends 10 minutes ago and spans 24 h, with one burst of 1000 events in a single millisecond.
 */
export function startSimulateProcess(events: number, seed = 7): Promise<ServerProcess<SimulateInfo>> {
  return startServerProcess<SimulateInfo>('duo-secops simulate', [CLI, 'simulate', '--events', String(events), '--seed', String(seed), '--logs', 'telephony', '--json', '--log-level', 'error']);
}

/** The GCS JSON API test server in its own process, with bucket `bucket` created. */
export function startGcsProcess(bucket: string): Promise<ServerProcess<{ url: string }>> {
  return startServerProcess<{ url: string }>('the GCS test server', [join(DIST, 'bench', 'gcs-server-child.js'), bucket]);
}

/**
 * The environment for a collector: only what it needs, so nothing from the caller's shell (a
 * STORAGE_EMULATOR_HOST, a LOG_LEVEL) changes what is measured.
 */
export function collectorEnv(sim: SimulateInfo, extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG'];
  const base: NodeJS.ProcessEnv = {};
  for (const k of keep) if (process.env[k] !== undefined) base[k] = process.env[k];
  // `sim.env` already reaches back over the whole data set (LOOKBACK_HOURS). The telephony log alone
  // unless a benchmark names more. Unthrottled unless a benchmark sets a budget: the client's pacing
  // gap becomes 0.06 ms.
  return { ...base, ...sim.env, DUO_LOGS: 'telephony', DELAY_SECONDS: '1', REQUESTS_PER_MINUTE: '1000000', ...extra };
}
