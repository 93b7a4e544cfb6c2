/**
 * Accounts mode in one process, through the CLI against the simulator's Accounts API and child accounts:
 * each child's streams into their own folders exactly once, the failing child named while the others
 * are collected, the selection (a list, an exclusion, an id Duo does not list), a time budget that
 * defers the last children, and a parent without the Accounts API permission.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomIntegration, startSimulator, type SimAccountOptions, type Simulator } from '../../src/simulator/index.js';
import type { StreamName } from '../../src/duo/streams.js';
import { runCli, spawnCli } from '../support/cli.js';
import { localObjects } from '../support/collected.js';
import { duoEnvOf } from '../support/duo-env.js';
import { exactlyOnceReport, expectedKeys, keysOf } from '../support/store-source.js';

const H = 3_600_000;
const now = Date.now();
const STREAMS: StreamName[] = ['telephony', 'authentication'];
const PREFIX: Record<string, string> = { telephony: 'duo-telephony', authentication: 'duo-authentication' };
const idOf = (n: number): string => `DA${String(n).padStart(18, '0')}`;

const child = (n: number, more: Partial<SimAccountOptions> = {}): SimAccountOptions => ({
  accountId: idOf(n),
  name: `Child ${n}`,
  apiHostname: `api-c${String(n).padStart(7, '0')}.duosecurity.com`,
  logs: {
    telephony: { events: 40 + n * 7, seed: 100 + n, fromMs: now - 2 * H, toMs: now - 10_000 },
    authentication: { events: 30 + n * 5, seed: 200 + n, fromMs: now - 2 * H, toMs: now - 10_000 },
  },
  ...more,
});

let sim: Simulator;
let dir: string;
const noAccounts = { ...randomIntegration(), permissions: { accounts: false } };

beforeAll(async () => {
  sim = await startSimulator({ accounts: [child(1), child(2, { denied: true }), child(3), child(4)], integrations: [randomIntegration(), noAccounts] });
  dir = await mkdtemp(join(tmpdir(), 'duo-accounts-'));
});

afterAll(async () => {
  await sim?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const env = (out: string, more: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...duoEnvOf(sim),
  OUTPUT_DIR: out,
  DUO_ACCOUNTS: 'all',
  DUO_LOGS: STREAMS.join(','),
  DELAY_SECONDS: '1',
  LOOKBACK_HOURS: '3',
  REQUESTS_PER_MINUTE: '100000',
  ...more,
});

async function assertExactlyOnce(out: string, n: number): Promise<void> {
  for (const stream of STREAMS) {
    const want = expectedKeys(stream, sim.eventsOf(stream, idOf(n)));
    const got = keysOf(stream, await localObjects(join(out, PREFIX[stream]!, idOf(n)), stream));
    expect(exactlyOnceReport(want, got), `${idOf(n)} ${stream}`).toEqual({ missing: 0, doubled: 0, unexpected: 0, total: want.length });
  }
}

interface Entry {
  stream: string;
  status: string;
  accountId?: string;
  accountName?: string;
  events?: number;
  error?: { code: string; message: string };
}

describe('collect in accounts mode', () => {
  it('collects every child into its own folders, names the refused one, and exits with its status', async () => {
    const out = join(dir, 'all');
    const r = await runCli(['collect', '--json'], env(out));
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout) as { outcome: string; streams: Entry[] };
    expect(summary.outcome).toBe('failed');
    expect(summary.streams.map((s) => `${s.accountId} ${s.stream} ${s.status}`)).toEqual(
      [1, 2, 3, 4].flatMap((n) => STREAMS.map((stream) => `${idOf(n)} ${stream} ${n === 2 ? 'failed' : 'collected'}`)),
    );
    expect(summary.streams.find((s) => s.accountId === idOf(2))!.error!.code).toBe('DUO_FORBIDDEN');
    for (const n of [1, 3, 4]) await assertExactlyOnce(out, n);
    // Every line says whose it is; each child has a checkpoint of its own.
    const [first] = await localObjects(join(out, 'duo-telephony', idOf(3)));
    expect(JSON.parse(first!.toString('utf8').split('\n')[0]!)).toMatchObject({ account_id: idOf(3), account_name: 'Child 3', host: 'api-c0000003.duosecurity.com', eventtype: 'telephony' });
    expect((await readdir(join(out, '_state'))).filter((f) => f.endsWith('.json')).sort()).toEqual([1, 3, 4].flatMap((n) => [`duo-authentication_${idOf(n)}.json`, `duo-telephony_${idOf(n)}.json`]).sort());

    // state shows a child's checkpoints, and says where to look when asked for the parent's.
    const shown = await runCli(['state', 'show', '--account', idOf(3), '--json'], env(out));
    expect(shown.code).toBe(0);
    const byStream = JSON.parse(shown.stdout) as Record<string, { nextMintimeMs: number } | null>;
    expect(Object.keys(byStream)).toEqual(STREAMS);
    for (const cp of Object.values(byStream)) expect(cp!.nextMintimeMs).toBeGreaterThan(now - 60_000);
    const parent = await runCli(['state', 'show'], env(out));
    expect(parent.stderr).toContain('DUO_ACCOUNTS is set: each child account has checkpoints of its own; name one with --account <id>');
    expect((await runCli(['state', 'show', '--account', '../x'], env(out))).stderr).toContain('--account: ../x is not an account id');

    // A second run finds nothing new and doubles nothing; the text summary names each account.
    const again = await runCli(['collect'], env(out));
    expect(again.stdout).toContain(`Child 1 (${idOf(1)}) telephony: caught up: 0 events`);
    expect(again.stdout).toContain(`Child 2 (${idOf(2)}) telephony: failed (DUO_FORBIDDEN)`);
    for (const n of [1, 3, 4]) await assertExactlyOnce(out, n);
  });

  it('verify --account compares one child with its folders, and --repair writes its lines as the collector does', async () => {
    const out = join(dir, 'all');
    const [fromMs, toMs] = [now - 3 * H, now - 60_000];
    const range = ['--from', new Date(fromMs).toISOString(), '--to', new Date(toMs).toISOString()];
    const clean = await runCli(['verify', '--account', idOf(3), ...range], env(out));
    expect(clean.stdout.trim().split('\n').map((l) => l.replace(/ \S+\.\.\S+:/, ':'))).toEqual(
      STREAMS.map((stream) => {
        const n = sim.eventsOf(stream, idOf(3)).filter((e) => e.tsMicros / 1000 >= fromMs && e.tsMicros / 1000 < toMs).length;
        return `verify ${idOf(3)} ${stream}: duo=${n} stored=${n} missing=0 doubled=0 unknown=0`;
      }),
    );
    expect(clean.code).toBe(0);

    // One line taken out of one of the child's objects: missing, then repaired with the child's fields.
    const folder = join(out, 'duo-telephony', idOf(3));
    const [file] = (await readdir(folder, { recursive: true })).filter((f) => f.endsWith('.json')).map((f) => join(folder, f));
    const lines = (await readFile(file!, 'utf8')).trim().split('\n');
    const removed = JSON.parse(lines[1]!) as { telephony_id: string };
    await writeFile(file!, `${[lines[0], ...lines.slice(2)].join('\n')}\n`);
    const missing = await runCli(['verify', '--account', idOf(3), '--stream', 'telephony', ...range], env(out));
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('missing=1 doubled=0 unknown=0');
    const repaired = await runCli(['verify', '--account', idOf(3), '--stream', 'telephony', '--repair', ...range], env(out));
    expect(repaired.code, repaired.stderr).toBe(0);
    const repairs = (await readdir(folder, { recursive: true })).filter((f) => /_r1\.json$/.test(f));
    expect(repairs).toHaveLength(1);
    const line = JSON.parse((await readFile(join(folder, repairs[0]!), 'utf8')).trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ telephony_id: removed.telephony_id, account_id: idOf(3), account_name: 'Child 3', host: 'api-c0000003.duosecurity.com' });
    await assertExactlyOnce(out, 3);

    // In accounts mode verify asks which child, and a child Duo does not list is refused by name.
    const which = await runCli(['verify', ...range], env(out));
    expect(which.code).toBe(2);
    expect(which.stderr).toContain('--account: DUO_ACCOUNTS is set');
    const unknown = await runCli(['verify', '--account', 'DA404', ...range], env(out));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--account: Duo does not list DA404 as a child account of this integration (4 listed)');
  });

  it('collects the children named, less those excluded, and warns of an id Duo does not list', async () => {
    const out = join(dir, 'some');
    const r = await runCli(['collect', '--json'], env(out, { DUO_ACCOUNTS: `${idOf(1)},${idOf(3)},DA404`, DUO_ACCOUNTS_EXCLUDE: idOf(3), LOG_LEVEL: 'warn' }));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { streams: Entry[] };
    expect(new Set(summary.streams.map((s) => s.accountId))).toEqual(new Set([idOf(1)]));
    expect(r.stderr).toContain('DUO_ACCOUNTS names DA404, which Duo does not list as a child of this integration');
    await assertExactlyOnce(out, 1);
  });

  it('defers the children its time budget does not reach, and the next run starts with them', async () => {
    const out = join(dir, 'budget');
    // Each child's turn takes at least a request interval at 60 per minute: a 0.5 s budget ends after the first.
    const r = await runCli(['collect', '--json'], env(out, { DUO_ACCOUNTS: `${idOf(1)},${idOf(3)},${idOf(4)}`, REQUESTS_PER_MINUTE: '60', RUN_BUDGET_SECONDS: '0.5' }));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { outcome: string; streams: Entry[] };
    expect(summary.outcome).toBe('budget');
    expect(summary.streams.filter((s) => s.status === 'deferred').length).toBeGreaterThan(0);
    const rest = await runCli(['collect', '--json'], env(out, { DUO_ACCOUNTS: `${idOf(1)},${idOf(3)},${idOf(4)}` }));
    expect(rest.code).toBe(0);
    for (const n of [1, 3, 4]) await assertExactlyOnce(out, n);
  });

  it('loses and doubles nothing of any child when killed at each step of the protocol, in any child', async () => {
    const out = join(dir, 'crash');
    // Pages of 10 items: each child's stream takes several pages, so there are many steps to die at.
    const three = { DUO_ACCOUNTS: `${idOf(1)},${idOf(3)},${idOf(4)}`, PAGE_LIMIT: '10' };
    // The n-th time a step is reached, counted across the children taken in turn from where their
    // checkpoints stand: each run dies a little further on, in the first child, then the next ones.
    const kills: Array<[string, number]> = [
      ['page.fetched', 2], ['object.writing', 3], ['object.written', 2], ['checkpoint.committing', 4], ['checkpoint.committed', 3],
      ['window.opened', 2], ['object.written', 4], ['checkpoint.committing', 5], ['page.fetched', 5], ['checkpoint.committed', 5],
      ['object.written', 10], ['checkpoint.committed', 15], ['checkpoint.committing', 20],
    ];
    let killed = 0;
    const reached = new Set<string>();
    for (const [point, n] of kills) {
      const r = await runCli(['collect', '--json'], env(out, { ...three, DUO_SECOPS_FAILPOINT: `${point}:${n}` }));
      if (r.signal === 'SIGKILL') killed += 1;
      else expect(r.code, r.stderr).toBe(0);
      // Which children the run had reached (the ones it started, whose checkpoint.missing or run lines it logged).
      for (const m of r.stderr.matchAll(/"account_id":"(DA\d+)"/g)) reached.add(m[1]!);
    }
    expect(killed).toBeGreaterThanOrEqual(kills.length - 2);
    expect(reached).toEqual(new Set([idOf(1), idOf(3), idOf(4)]));
    const last = await runCli(['collect', '--json'], env(out, three));
    expect(last.code, last.stderr).toBe(0);
    for (const n of [1, 3, 4]) await assertExactlyOnce(out, n);
  });

  it('the daemon collects the children in turn on its schedule, each log line naming its account', async () => {
    const out = join(dir, 'daemon');
    const d = spawnCli(['daemon'], env(out, { DUO_ACCOUNTS: `${idOf(1)},${idOf(3)}`, SCHEDULE: '0 0 1 1 *', LOG_LEVEL: 'info' }));
    let stderr = '';
    d.child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const finished = (): Array<{ account_id?: string }> =>
      stderr
        .split('\n')
        .filter((l) => l.includes('"run.finished"'))
        .map((l) => JSON.parse(l) as { account_id?: string });
    const deadline = Date.now() + 60_000;
    while (finished().length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    d.child.kill('SIGTERM');
    const r = await d.done;
    expect(r.code).toBe(0);
    expect(finished().map((l) => l.account_id).sort()).toEqual([idOf(1), idOf(1), idOf(3), idOf(3)]);
    for (const n of [1, 3]) await assertExactlyOnce(out, n);
  });

  it('check lists the children and proves access through the first one selected', async () => {
    const r = await runCli(['check'], env(join(dir, 'all'), { DUO_ACCOUNTS_EXCLUDE: `${idOf(1)},${idOf(2)}` }));
    expect(r.stdout).toMatch(new RegExp(`Child accounts: +4 listed by the Accounts API, 2 selected; the checks below went through Child 3 \\(${idOf(3)}\\)`));
    expect(r.stdout).toMatch(/Telephony pace: +\d/);
    expect(r.stdout).toContain('All checks passed.');
    expect(r.code).toBe(0);
    const refused = await runCli(['check', '--accounts', idOf(2)], env(join(dir, 'all')));
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(/Telephony permission: +missing/);
  });

  it('says what to do when the keys are not a parent allowed to list its children', async () => {
    const r = await runCli(['collect'], { ...env(join(dir, 'denied')), ...duoEnvOf(sim, 1) });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('Duo refused the child account list with HTTP 403');
    expect(r.stderr).toContain('unset DUO_ACCOUNTS to collect this account alone');
    expect(r.stderr).not.toContain(noAccounts.skey);
  });

  it('refuses settings that cannot hold in accounts mode, before reaching Duo', async () => {
    const requests = sim.stats.requests;
    const badId = await runCli(['collect'], env(join(dir, 'bad'), { DUO_ACCOUNTS: 'DA1,not an id' }));
    expect(badId.code).toBe(2);
    expect(badId.stderr).toContain('DUO_ACCOUNTS / --accounts: must be `all` or Duo account ids (letters and digits) separated by commas; "not an id" is not one');
    const oneKey = await runCli(['collect'], env(join(dir, 'bad'), { STATE_KEY: '_state/one.json' }));
    expect(oneKey.code).toBe(2);
    expect(oneKey.stderr).toContain('STATE_KEY / --state-key: names one checkpoint');
    expect(sim.stats.requests).toBe(requests);
  });
});
