/**
 * `collect --stdout`: data on stdout for a pipe, the summary kept off it, and at least once for real:
 * a page still unread in a pipe is not committed, so a reader that dies loses nothing.
 */
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, generateDataset, type Simulator } from '../../src/simulator/index.js';
import { CLI, runCli } from '../support/cli.js';
import { duoEnvOf } from '../support/duo-env.js';

const H = 3_600_000;
let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ events: generateDataset({ events: 20_000, seed: 8, fromMs: Date.now() - 3 * H, toMs: Date.now() - H }) });
  dir = await mkdtemp(join(tmpdir(), 'duo-stdout-'));
});
afterAll(async () => {
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = (out: string) => ({
  PATH: process.env.PATH ?? '',
  ...duoEnvOf(sim),
  DELAY_SECONDS: '1',
  LOOKBACK_HOURS: '4',
  REQUESTS_PER_MINUTE: '100000',
  OUTPUT_DIR: join(dir, out),
  LOG_LEVEL: 'warn',
});

/** A shell pipeline, as users write one: `collect --stdout` into `sink` (`> file`, `| head …`). */
function shell(sink: string, e: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile('sh', ['-c', `"${process.execPath}" "${CLI}" collect --stdout ${sink}`], { env: e }, (err) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr: stderrOf });
    });
    let stderrOf = '';
    child.stderr!.on('data', (d: Buffer) => (stderrOf += d.toString()));
  });
}

/** The telephony ids of the whole lines of a file (a reader cut off mid-line leaves half a line). */
async function idsIn(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter((l) => l.endsWith('}'))
    .map((l) => (JSON.parse(l) as { telephony_id: string }).telephony_id);
}

describe('collect --stdout', () => {
  it('into a file: every event once, the summary on stderr; the next run continues with nothing to repeat', async () => {
    const e = env('file');
    const first = await shell(`> "${join(dir, 'all.ndjson')}"`, e);
    expect(first.code, first.stderr).toBe(0);
    const ids = await idsIn(join(dir, 'all.ndjson'));
    expect(ids).toHaveLength(20_000);
    expect(new Set(ids).size).toBe(20_000);
    expect(first.stderr).toMatch(/caught up: 20,000 events/);
    const again = await runCli(['collect', '--stdout', '--json'], { ...e, DELAY_SECONDS: '1' });
    // The test's own pipe: nothing new, so nothing to repeat either (the last run wrote to a file).
    expect(again.stdout).toBe('');
    expect(JSON.parse(again.stderr.trim().split('\n').pop()!)).toMatchObject({ outcome: 'caught-up', events: 0 });
  });

  it('into a pipe whose reader dies: nothing lost, the next run writes again what may still have sat in the pipe', async () => {
    // Small pages (about 14 KB): several of them fit in the pipe, written and accepted but not yet read.
    const e = { ...env('pipe'), PAGE_LIMIT: '50' };
    // The reader takes 3 MB of the 5.6 MB and exits: the collector meets a closed pipe (exit 4).
    const cut = await shell(`| head -c 3000000 > "${join(dir, 'part.ndjson')}"`, e);
    expect(cut.stderr).toMatch(/reading side of the pipe went away/);
    const part = await idsIn(join(dir, 'part.ndjson'));
    expect(part.length).toBeGreaterThan(5_000);
    const rest = await shell(`> "${join(dir, 'rest.ndjson')}"`, e);
    expect(rest.code, rest.stderr).toBe(0);
    const restIds = await idsIn(join(dir, 'rest.ndjson'));
    const got = new Set([...part, ...restIds]);
    expect(sim.events.filter((x) => !got.has(x.id))).toEqual([]);
    // What repeats is bounded by what a pipe can hold (pipe-max-size, 1 MiB here): a few thousand lines.
    const repeated = restIds.filter((id) => part.includes(id)).length;
    expect(repeated).toBeLessThan(8_000);
  });
});
