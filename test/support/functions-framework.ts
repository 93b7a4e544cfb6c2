/**
 * The real functions-framework server as a child process, serving the built package's `main` the
 * way Cloud Run does (`--source` is the repository root: the framework loads `package.json` `main`).
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FRAMEWORK_MAIN = fileURLToPath(new URL('../../node_modules/@google-cloud/functions-framework/build/src/main.js', import.meta.url));

export interface FunctionsFrameworkServer {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  pid: number;
  /** Lines written so far, in order; `stdout`/`stderr` hold the same lines split by stream. */
  readonly lines: readonly string[];
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  /** Resolves with the first line (already written or to come) that `match` accepts. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface FunctionsFrameworkOptions {
  /** The function's environment; the child gets only this plus PATH and HOME. */
  env: NodeJS.ProcessEnv;
  target?: string;
  source?: string;
  readyTimeoutMs?: number;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

export async function startFunctionsFramework(opts: FunctionsFrameworkOptions): Promise<FunctionsFrameworkServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [FRAMEWORK_MAIN, `--target=${opts.target ?? 'main'}`, '--signature-type=cloudevent', `--port=${port}`, `--source=${opts.source ?? REPO_ROOT}`],
    {
      // A clean environment: nothing of the developer's Duo or Google settings leaks in.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const waiters = new Set<{ match: (line: string) => boolean; resolve: (line: string) => void }>();
  const collect = (stream: NodeJS.ReadableStream, into: string[]): void => {
    let partial = '';
    stream.on('data', (d: Buffer) => {
      const parts = (partial + d.toString('utf8')).split('\n');
      partial = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        into.push(line);
        for (const w of waiters) {
          if (w.match(line)) {
            waiters.delete(w);
            w.resolve(line);
          }
        }
      }
    });
  };
  collect(child.stdout!, stdout);
  collect(child.stderr!, stderr);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  // If this process ends without stop(), the server must not stay behind holding its port.
  const onExit = (): void => {
    if (!gone) child.kill('SIGKILL');
  };
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (gone) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };

  // A GET on a CloudEvent server logs a TypeError, so readiness is a TCP connect.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  while (!(await canConnect(port))) {
    if (gone) throw new Error(`functions-framework exited before listening:\n${lines.join('\n').slice(-3000)}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`functions-framework did not listen on ${port}:\n${lines.join('\n').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    lines,
    stdout,
    stderr,
    waitForLine(match, timeoutMs = 30_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const w = {
          match,
          resolve: (line: string) => {
            clearTimeout(t);
            resolve(line);
          },
        };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`no matching line from functions-framework within ${timeoutMs} ms; last lines:\n${lines.slice(-20).join('\n')}`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    stop,
  };
}
