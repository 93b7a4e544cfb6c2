/** `collect --stdout` and `--json`: data on stdout for a pipe, the summary kept off it. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator, generateDataset, type Simulator } from '../../src/simulator/index.js';
import { runCli } from '../support/cli.js';

const H = 3_600_000;
let sim: Simulator;
let dir: string;
beforeAll(async () => {
  sim = await startSimulator({ events: generateDataset({ events: 2500, seed: 8, fromMs: Date.now() - 3 * H, toMs: Date.now() - H }) });
  dir = await mkdtemp(join(tmpdir(), 'duo-stdout-'));
});
afterAll(async () => {
  await sim?.close();
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  DUO_IKEY: sim.integrations[0]!.ikey,
  DUO_SKEY: sim.integrations[0]!.skey,
  DUO_API_HOST: sim.apiHost,
  DUO_API_URL: sim.url,
  DELAY_SECONDS: '1',
  REQUESTS_PER_MINUTE: '100000',
  OUTPUT_DIR: dir,
  LOG_LEVEL: 'warn',
});

describe('collect --stdout', () => {
  it('writes every event as one NDJSON line on stdout and the summary on stderr; the next run continues', async () => {
    const r = await runCli(['collect', '--stdout'], env());
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(2500);
    expect(new Set(lines.map((l) => (JSON.parse(l) as { telephony_id: string }).telephony_id)).size).toBe(2500);
    expect(r.stderr).toMatch(/caught up: 2,500 events/);
    const again = await runCli(['collect', '--stdout', '--json'], env());
    expect(again.stdout).toBe('');
    const summary = JSON.parse(again.stderr.trim().split('\n').pop()!) as { outcome: string; events: number };
    expect(summary).toMatchObject({ outcome: 'caught-up', events: 0 });
  });
});
