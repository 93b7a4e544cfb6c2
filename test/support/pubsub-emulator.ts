/**
 * The Pub/Sub emulator that ships with the Google Cloud CLI, for end-to-end tests.
 *
 * It is started from its jar with `java` rather than through `gcloud beta emulators pubsub start`:
 * that is faster, and killing the gcloud wrapper would leave its Java child holding the port. Only when
 * the component is installed without the expected jar does it fall back to the gcloud command, in a
 * process group of its own so that stopping it takes the Java child along.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

export interface PubSubEmulator {
  /** `127.0.0.1:PORT`, the form `PUBSUB_EMULATOR_HOST` takes (no scheme). */
  host: string;
  port: number;
  /** What the emulator printed so far (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

type Launcher = { kind: 'jar'; java: string; jar: string } | { kind: 'gcloud'; gcloud: string };

let located: { launcher: Launcher } | { reason: string } | undefined;

/** The first executable called `name` on PATH. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The SDK root: next to the real `gcloud` (fast), else what `gcloud info` says (about a second). */
function sdkRoot(gcloud: string): string | undefined {
  try {
    const guess = dirname(dirname(realpathSync(gcloud)));
    if (existsSync(join(guess, 'platform'))) return guess;
  } catch {
    // A broken symlink: ask gcloud itself.
  }
  const r = spawnSync(gcloud, ['info', '--format=value(installation.sdk_root)'], { encoding: 'utf8', timeout: 20_000 });
  const root = r.status === 0 ? r.stdout.trim() : '';
  return root || undefined;
}

function locate(): { launcher: Launcher } | { reason: string } {
  const java = onPath('java');
  if (!java) return { reason: 'java is not installed (the Pub/Sub emulator needs a Java runtime)' };
  if (spawnSync(java, ['-version'], { stdio: 'ignore', timeout: 20_000 }).status !== 0) return { reason: `${java} -version fails` };
  const gcloud = onPath('gcloud');
  if (!gcloud) return { reason: 'the Google Cloud CLI (gcloud) is not installed' };
  const root = sdkRoot(gcloud);
  if (!root) return { reason: 'gcloud does not report its installation root' };
  const emulatorDir = join(root, 'platform', 'pubsub-emulator');
  if (!existsSync(emulatorDir)) return { reason: `the pubsub-emulator component is not installed (no ${emulatorDir})` };
  const lib = join(emulatorDir, 'lib');
  const jar = existsSync(lib) ? readdirSync(lib).find((f) => /^cloud-pubsub-emulator-.*-all\.jar$/.test(f)) : undefined;
  return { launcher: jar ? { kind: 'jar', java, jar: join(lib, jar) } : { kind: 'gcloud', gcloud } };
}

function launcher(): { launcher: Launcher } | { reason: string } {
  return (located ??= locate());
}

/** Why the emulator cannot run here, or null when it can. */
export function pubsubUnavailableReason(): string | null {
  const l = launcher();
  return 'reason' in l ? l.reason : null;
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

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startPubSubEmulator(opts: { project?: string; readyTimeoutMs?: number } = {}): Promise<PubSubEmulator> {
  const l = launcher();
  if ('reason' in l) throw new Error(`Pub/Sub emulator unavailable: ${l.reason}`);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const child =
    l.launcher.kind === 'jar'
      ? spawn(l.launcher.java, ['-jar', l.launcher.jar, '--host=127.0.0.1', `--port=${port}`], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(l.launcher.gcloud, ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${opts.project ?? 'demo-test'}`], {
          stdio: ['ignore', 'pipe', 'pipe'],
          // Its own process group: stop() signals the group, Java child included.
          detached: true,
        });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));

  const kill = (signal: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      if (l.launcher.kind === 'gcloud') process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone.
    }
  };
  // A JVM outlives the test process unless killed: if this process ends without stop(), take it along.
  const onExit = (): void => kill('SIGKILL');
  process.once('exit', onExit);
  const stop = async (): Promise<void> => {
    kill('SIGTERM');
    const t = setTimeout(() => kill('SIGKILL'), 3000);
    await exited(child);
    clearTimeout(t);
    process.off('exit', onExit);
  };

  // Ready when `GET /` answers `Ok`: the gRPC and REST front ends share that port.
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 30_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the Pub/Sub emulator exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${out.slice(-2000)}`);
    }
    try {
      const res = await fetch(`http://${host}/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.text()).trim() === 'Ok') break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the Pub/Sub emulator did not answer on ${host} within ${opts.readyTimeoutMs ?? 30_000} ms:\n${out.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  return { host, port, output: () => out, stop };
}
