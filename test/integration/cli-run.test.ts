/**
 * What a user meets running the CLI: settings honoured by every command (`--gcs-endpoint`), the
 * progress display on an 80-column terminal, and how collect and the daemon stop (Ctrl-C, a
 * configuration problem another tick cannot cure).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, generateDataset, type Simulator } from '../../src/simulator/index.js';
import { startGcsTestServer, type GcsTestServer } from '../support/gcs-server.js';
import { spawn } from 'node:child_process';
import { CLI, runCli, spawnCli } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { idsOf, exactlyOnceReport } from '../support/store-source.js';
import { main } from '../../src/entry/main.js';
import type { CliIo } from '../../src/entry/io.js';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
let sim: Simulator;
let gcs: GcsTestServer;
let duoEnv: Record<string, string>;

beforeAll(async () => {
  const now = Date.now();
  sim = await startSimulator({ events: generateDataset({ events: 3000, seed: 5, fromMs: now - 3 * H, toMs: now - 10 * 60_000 }) });
  gcs = await startGcsTestServer();
  duoEnv = {
    ...duoEnvOf(sim),
    DELAY_SECONDS: '1',
    LOOKBACK_HOURS: '4',
    REQUESTS_PER_MINUTE: '100000',
  };
});

afterAll(async () => {
  await sim?.close();
  await gcs?.close();
});

/** Wait until `check` holds, polling; for conditions a child process makes true in its own time. */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const dataIds = (bucket: string): string[] =>
  idsOf(
    gcs
      .objects(bucket)
      .filter((o) => o.name.startsWith('duo-telephony/'))
      .map((o) => o.data),
  );

describe('--gcs-endpoint is honoured by every command that reaches storage', () => {
  // Without it, the commands would go to Google's own endpoint, which this machine cannot reach.
  it('collect writes through it', async () => {
    gcs.createBucket('ep-collect');
    const r = await runCli(['collect', '--bucket', 'ep-collect', '--gcs-endpoint', gcs.url], duoEnv);
    expect(r.code, r.stderr).toBe(0);
    expect(exactlyOnceReport(sim.events.map((e) => e.id), dataIds('ep-collect'))).toMatchObject({ missing: 0, doubled: 0 });
    expect(gcs.objects('ep-collect').map((o) => o.name)).toContain('_state/duo-telephony.json');
  });

  it('state show reads through it, state reset writes through it', async () => {
    const show = await runCli(['state', 'show', '--bucket', 'ep-collect', '--gcs-endpoint', gcs.url], {});
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('gs://ep-collect/_state/duo-telephony.json');
    expect(show.stdout).toContain('next window starts');
    const to = new Date(Date.now() - 2 * H).toISOString().replace(/\.\d+Z$/, 'Z');
    const reset = await runCli(['state', 'reset', '--bucket', 'ep-collect', '--gcs-endpoint', gcs.url, '--to', to, '--yes'], {});
    expect(reset.code, reset.stderr).toBe(0);
    const cp = JSON.parse(gcs.objects('ep-collect').find((o) => o.name === '_state/duo-telephony.json')!.data.toString('utf8')) as { nextMintimeMs: number };
    expect(cp.nextMintimeMs).toBe(Date.parse(to));
  });

  it('the daemon collects through it', async () => {
    gcs.createBucket('ep-daemon');
    const { child, done } = spawnCli(['daemon', '--bucket', 'ep-daemon', '--gcs-endpoint', gcs.url, '--schedule', '0 0 1 1 *'], duoEnv);
    try {
      await until('the daemon to write every event', () => dataIds('ep-daemon').length >= sim.events.length);
    } finally {
      child.kill('SIGTERM');
    }
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(exactlyOnceReport(sim.events.map((e) => e.id), dataIds('ep-daemon'))).toMatchObject({ missing: 0, doubled: 0 });
  });
});

describe('collect on an 80-column terminal', () => {
  it('keeps log lines out of the progress line, never wraps it, and prints the summary after it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-tty-'));
    try {
      let stderr = '';
      let stdout = '';
      const sink = (add: (s: string) => void) =>
        new Writable({
          write(chunk: Buffer, _enc, cb) {
            add(chunk.toString('utf8'));
            cb();
          },
        });
      let code: number | undefined;
      const io: CliIo = {
        stdout: sink((s) => (stdout += s)),
        stderr: sink((s) => (stderr += s)),
        stdin: process.stdin,
        // DELAY_SECONDS=1 makes a warning: a log line that must land above the progress line.
        env: { ...duoEnv, OUTPUT_DIR: dir, PAGE_LIMIT: '100' },
        isTTY: true,
        columns: () => 80,
        setExitCode: (c) => (code = c),
      };
      const status = await main(['collect'], io);
      expect(status, stderr).toBe(0);
      expect(code ?? 0).toBe(0);
      // What the terminal shows: each `\r\x1b[K` starts the line over; a log line ends with a newline.
      const CLEAR = '\r\u001b[K';
      const segments = stderr.split(CLEAR);
      const drawn = segments.filter((s) => s !== '' && !s.includes('\n'));
      expect(drawn.length).toBeGreaterThan(0);
      for (const line of drawn) {
        expect(line.length).toBeLessThanOrEqual(79);
        expect(line).toMatch(/^\[[#-]+\] \d+% /);
      }
      // Every log line starts on a clean line, whole, in words; at a terminal's default level, no info.
      const logLines = segments.flatMap((s) => s.split('\n').slice(0, -1));
      expect(logLines).toEqual([expect.stringMatching(/^warning \[config\.warning\] DELAY_SECONDS=1 is below Duo's 120 s/)]);
      // The status line is gone before the summary, which goes to stdout.
      expect(stderr.endsWith(CLEAR)).toBe(true);
      expect(stdout).toMatch(/^caught up: 3,000 events in \d+ new objects/);
      expect(exactlyOnceReport(sim.events.map((e) => e.id), idsOf(await localObjects(join(dir, 'duo-telephony'))))).toMatchObject({ missing: 0, doubled: 0 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('stopping', () => {
  it('Ctrl-C: collect stops, having committed every page it wrote, and exits 130; the next run carries on exactly once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-sigint-'));
    try {
      // Slow pages: the signal surely arrives while there is more to fetch.
      const env = { ...duoEnv, OUTPUT_DIR: dir, PAGE_LIMIT: '100', REQUESTS_PER_MINUTE: '120' };
      const { child, done } = spawnCli(['collect'], env);
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      await until('a first page written', () => stderr.includes('"event":"batch.written"'));
      child.kill('SIGINT');
      const r = await done;
      expect(r.code, r.stderr).toBe(130);
      expect(r.stdout).toMatch(/^stopped on request; every page written is committed/);
      const again = await runCli(['collect'], { ...env, REQUESTS_PER_MINUTE: '100000' });
      expect(again.code, again.stderr).toBe(0);
      expect(exactlyOnceReport(sim.events.map((e) => e.id), idsOf(await localObjects(join(dir, 'duo-telephony'))))).toEqual({
        missing: 0,
        doubled: 0,
        unexpected: 0,
        total: sim.events.length,
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the daemon stops cleanly when the process that started it is gone (npx runs it under a shell that does not pass SIGTERM on)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-orphan-'));
    // `; true` keeps the shell from exec-ing node: node is the shell's child, as under `npx`.
    const child = spawn('sh', ['-c', `"${process.execPath}" "${CLI}" daemon --schedule "0 0 1 1 *"; true`], {
      env: { PATH: process.env.PATH, ...duoEnv, OUTPUT_DIR: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      await until('the daemon to start', () => stderr.includes('"event":"daemon.started"'));
      child.kill('SIGKILL');
      await until('the orphaned daemon to stop', () => stderr.includes('"event":"daemon.stopped"'));
      expect(stderr).toContain('"event":"daemon.orphaned"');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('the daemon stops with the exit status of a problem another tick cannot cure (a wrong secret key: 3)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-daemon-stop-'));
    try {
      const r = await runCli(['daemon', '--schedule', '* * * * * *'], { ...duoEnv, OUTPUT_DIR: dir, DUO_SKEY: 'x'.repeat(40) });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('another tick cannot cure this: the daemon stops');
      expect(r.stderr).not.toContain('x'.repeat(40));
      // It never reached Duo successfully: nothing was left behind that would pin the start.
      expect(await localObjects(dir).catch(() => [])).toEqual([]);
      const show = await runCli(['state', 'show', '--out', dir], {});
      expect(show.stdout).toMatch(/^no checkpoint at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
