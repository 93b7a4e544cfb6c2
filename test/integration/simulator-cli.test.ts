import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import type { CliIo } from '../../src/entry/io.js';
import { ConfigError } from '../../src/errors.js';
import { misbehaviourNotes, parseSimulateFlags, register, simulatorOptionsFrom, type SimulateJson } from '../../src/entry/commands/simulate.js';
import { pageAll, pageStream, parseBody, signedGet, type SimTarget } from '../unit/simulator/support.js';

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);

function fakeIo(): CliIo & { out: () => string; err: () => string; exitCode: () => number | undefined } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  let code: number | undefined;
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  return {
    stdout,
    stderr,
    stdin: new PassThrough(),
    env: {},
    isTTY: false,
    setExitCode: (c) => {
      code = c;
    },
    out: () => out,
    err: () => err,
    exitCode: () => code,
  };
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Run `simulate` in-process until the returned stop() sends SIGTERM. */
function runCommand(args: string[]) {
  const io = fakeIo();
  const program = new Command('duo-secops').exitOverride();
  register(program, io);
  const done = program.parseAsync(['node', 'duo-telephony', 'simulate', ...args]);
  return {
    io,
    done,
    stop: async () => {
      process.emit('SIGTERM');
      await done;
    },
  };
}

describe('parseSimulateFlags', () => {
  it('defaults: 5000 events over the 24 h ending 10 minutes ago, one burst, random keys', () => {
    const s = parseSimulateFlags({}, NOW);
    expect(s).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      apiHost: 'api-sim00000.duosecurity.com',
      events: 5000,
      seed: 1,
      toMs: NOW - 600_000,
      fromMs: NOW - 600_000 - 86_400_000,
      rpm: 0,
      lastPageCursor: 'present',
      faultRate: 0,
      readTelephony: true,
      maxSkewSeconds: 300,
      json: false,
    });
    expect(s.burst?.count).toBe(1000);
    expect(s.burst!.atMs).toBeGreaterThan(s.fromMs);
    expect(s.burst!.atMs).toBeLessThan(s.toMs);
    expect(s.ikey).toMatch(/^DI[A-Z0-9]{18}$/);
    expect(s.skey).toHaveLength(40);
    expect(parseSimulateFlags({}, NOW).skey).not.toBe(s.skey);
  });

  it('reads every flag, times as UTC unless an offset is given', () => {
    const s = parseSimulateFlags(
      {
        port: '8443',
        ikey: 'DIABC',
        skey: 'secret',
        events: '100',
        seed: '7',
        from: '2025-01-14T00:00:00',
        to: '2025-01-14T12:00:00+01:00',
        burstSize: '10',
        late: '5',
        lateDelaySeconds: '60',
        rpm: '120',
        lastPageCursor: 'absent',
        faultRate: '0.2',
        permission: false,
        maxSkewSeconds: '30',
        json: true,
      },
      NOW,
    );
    expect(s).toMatchObject({
      port: 8443,
      ikey: 'DIABC',
      skey: 'secret',
      events: 100,
      seed: 7,
      fromMs: Date.UTC(2025, 0, 14),
      toMs: Date.UTC(2025, 0, 14, 11),
      burst: { count: 10 },
      late: { count: 5, delayMs: 60_000 },
      rpm: 120,
      lastPageCursor: 'absent',
      faultRate: 0.2,
      readTelephony: false,
      maxSkewSeconds: 30,
      json: true,
    });
    const opts = simulatorOptionsFrom(s);
    expect(opts.rpm).toBe(120);
    const f = opts.faults!;
    const sum = (f.rate429 ?? 0) + (f.rate500 ?? 0) + (f.rate503 ?? 0) + (f.rateHtml502 ?? 0) + (f.rateReset ?? 0) + (f.rateTruncated ?? 0);
    expect(sum).toBeCloseTo(0.2);
    expect(opts.integrations).toEqual([{ ikey: 'DIABC', skey: 'secret', permissions: { readTelephony: false } }]);
  });

  it('behaves by default: no clock offset, no lateness, every id, no misbehaviour', () => {
    const s = parseSimulateFlags({}, NOW);
    expect(s).toMatchObject({ clockOffsetMs: 0, lateness: undefined, missingIdRate: 0, misbehaviour: undefined });
    const opts = simulatorOptionsFrom(s);
    for (const key of ['clockOffsetMs', 'misbehaviour'] as const) expect(opts).not.toHaveProperty(key);
    expect(opts.events).not.toHaveProperty('lateness');
    expect(opts.events).not.toHaveProperty('missingIdRate');
    expect(misbehaviourNotes(s)).toEqual([]);
  });

  it('reads the misbehaviour flags: a clock off by an offset, late events, missing ids, cursors and items that misbehave', () => {
    const s = parseSimulateFlags(
      {
        seed: '7',
        clockOffsetSeconds: '-290',
        latenessSeconds: '600',
        latenessRate: '0.25',
        missingIdRate: '0.01',
        rewindRate: '0.1',
        cycleRate: '0.05',
        repeatRate: '0',
        outOfOrderRate: '0.2',
        beyondMaxtimeRate: '0.3',
      },
      NOW,
    );
    expect(s).toMatchObject({
      clockOffsetMs: -290_000,
      // The default data set ends ten minutes ago by the simulator's clock.
      toMs: NOW - 290_000 - 600_000,
      lateness: { maxDelayMs: 600_000, rate: 0.25 },
      missingIdRate: 0.01,
    });
    // Only the switches that are on, seeded with --seed.
    expect(s.misbehaviour).toEqual({ seed: 7, rewindRate: 0.1, cycleRate: 0.05, outOfOrderRate: 0.2, beyondMaxtimeRate: 0.3 });
    const opts = simulatorOptionsFrom(s);
    expect(opts).toMatchObject({ clockOffsetMs: -290_000, misbehaviour: s.misbehaviour, events: { lateness: { maxDelayMs: 600_000, rate: 0.25 }, missingIdRate: 0.01 } });
    expect(parseSimulateFlags({ clockOffsetSeconds: '+45', latenessSeconds: '30' }, NOW)).toMatchObject({ clockOffsetMs: 45_000, lateness: { maxDelayMs: 30_000, rate: 1 } });
    expect(parseSimulateFlags({ latenessSeconds: '0' }, NOW).lateness).toBeUndefined();

    expect(misbehaviourNotes(s)).toEqual([
      "Its clock runs 290 s behind this machine's.",
      '25 % of events are published up to 600 s after their ts.',
      '1 % of events have no telephony_id.',
      'Misbehaving per page: rewind 0.1, cycle 0.05, outOfOrder 0.2, beyondMaxtime 0.3.',
    ]);
    expect(misbehaviourNotes(parseSimulateFlags({ clockOffsetSeconds: '400' }, NOW))).toEqual([
      "Its clock runs 400 s ahead of this machine's, beyond the 300 s it accepts: requests dated by this machine's clock get 401 40105.",
    ]);
  });

  it('lists every problem with the misbehaviour flags', () => {
    let error: unknown;
    try {
      parseSimulateFlags(
        { clockOffsetSeconds: '1.5', latenessSeconds: '-1', missingIdRate: 'some', rewindRate: '0.6', cycleRate: '0.3', repeatRate: '0.2', outOfOrderRate: '2', beyondMaxtimeRate: '' },
        NOW,
      );
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const flag of ['--clock-offset-seconds', '--lateness-seconds', '--missing-id-rate', '--out-of-order-rate', '--beyond-maxtime-rate']) expect(problems).toContain(flag);
    expect(problems).toMatch(/--rewind-rate, --cycle-rate and --repeat-rate add up to 1\.1/);
    expect(() => parseSimulateFlags({ latenessRate: '0.5' }, NOW)).toThrow(/--lateness-rate needs --lateness-seconds/);
    expect(() => parseSimulateFlags({ clockOffsetSeconds: String(366 * 86_400) }, NOW)).toThrow(/--clock-offset-seconds must be an integer from -31536000 to 31536000/);
  });

  it('--logs chooses the streams that get data: all by default, telephony from its own flags, the others the default day', () => {
    const all = parseSimulateFlags({}, NOW);
    expect(all.logs).toEqual(['telephony', 'authentication', 'activity', 'trust_monitor', 'administrator']);
    const opts = simulatorOptionsFrom(all);
    expect(Object.keys(opts.logs ?? {})).toEqual(['authentication', 'activity', 'trust_monitor', 'administrator']);
    expect(opts.logs?.administrator).toMatchObject({ stream: 'administrator', fromMs: all.fromMs, toMs: all.toMs, seed: 1, identicalRate: 0.1 });

    const some = parseSimulateFlags({ logs: 'trust-monitor, authentication', latenessSeconds: '60' }, NOW);
    expect(some.logs).toEqual(['authentication', 'trust_monitor']);
    const someOpts = simulatorOptionsFrom(some);
    expect(someOpts.events).toEqual([]);
    expect(Object.keys(someOpts.logs ?? {})).toEqual(['authentication', 'trust_monitor']);
    // Lateness is Duo publishing late, whatever the stream.
    expect(someOpts.logs?.authentication).toMatchObject({ lateness: { maxDelayMs: 60_000, rate: 1 } });
    expect(() => parseSimulateFlags({ logs: 'telephony,phone' }, NOW)).toThrow(/--logs phone is not a Duo log stream/);
  });

  it('keeps small data sets mostly outside the burst unless a size is given', () => {
    expect(parseSimulateFlags({ events: '100' }, NOW).burst?.count).toBe(20);
    expect(parseSimulateFlags({ events: '100', burstSize: '0' }, NOW).burst).toBeUndefined();
  });

  it('lists every problem in one ConfigError', () => {
    let error: unknown;
    try {
      parseSimulateFlags({ port: '70000', events: 'many', from: 'yesterday', ikey: 'a:b', faultRate: '2', lastPageCursor: 'maybe', burstSize: '10' }, NOW);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems.join('\n');
    for (const flag of ['--port', '--events', '--from', '--ikey', '--fault-rate', '--last-page-cursor']) expect(problems).toContain(flag);
    expect((error as ConfigError).exitCode).toBe(2);
    expect(() => parseSimulateFlags({ events: '5', burstSize: '6' }, NOW)).toThrow(/--burst-size \(6\) must not exceed --events \(5\)/);
    expect(() => parseSimulateFlags({ from: '2025-01-02', to: '2025-01-01' }, NOW)).toThrow(/--from .* must be before --to/);
  });
});

describe('simulate command', () => {
  it('prints one JSON object with the environment, serves, and exits 0 on SIGTERM', async () => {
    const run = runCommand(['--json', '--events', '400', '--seed', '3', '--last-page-cursor', 'absent']);
    const line = await waitFor(() => (run.io.out().includes('\n') ? run.io.out() : undefined));
    const summary = JSON.parse(line) as SimulateJson;
    expect(summary.events).toBe(400);
    expect(summary.env).toMatchObject({ DUO_API_URL: summary.url, DUO_API_HOST: summary.apiHost, DUO_IKEY: summary.ikey, DUO_SKEY: summary.skey });
    expect(Number(summary.env['LOOKBACK_HOURS'])).toBe(25);

    const target: SimTarget = { url: summary.url, apiHost: summary.apiHost, integrations: [{ ikey: summary.ikey, skey: summary.skey }] };
    const got = await pageAll(target, { mintimeMs: summary.window.fromMs, maxtimeMs: summary.window.toMs, sort: 'ts:asc' });
    expect(got.ids).toHaveLength(400);

    await run.stop();
    expect(run.io.exitCode()).toBe(0);
    await expect(signedGet(target, { params: {} })).rejects.toThrow();
  });

  it('prints export lines a shell takes as they are, and answers 403 with --no-permission', async () => {
    const run = runCommand(['--events', '50', '--no-permission', '--ikey', 'DITESTTESTTESTTESTTE', '--skey', "test secret's"]);
    const out = await waitFor(() => (run.io.out().includes('DUO_SKEY=') ? run.io.out() : undefined));
    // Pasted into a shell as printed: each variable is set and exported, quotes and spaces included.
    const names = [...out.matchAll(/^export (\w+)=/gm)].map((m) => m[1]!);
    const shown = execFileSync('sh', ['-c', `${out}\nfor n in ${names.join(' ')}; do printf '%s=%s\\n' "$n" "$(printenv "$n")"; done`], { encoding: 'utf8' });
    const env = Object.fromEntries(shown.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]));
    expect(Object.keys(env)).toEqual(['DUO_API_URL', 'DUO_API_HOST', 'DUO_IKEY', 'DUO_SKEY', 'LOOKBACK_HOURS', 'DUO_LOGS']);
    expect(env['DUO_LOGS']).toBe('telephony,authentication,activity,trust_monitor,administrator');
    expect(env['DUO_IKEY']).toBe('DITESTTESTTESTTESTTE');
    expect(env['DUO_SKEY']).toBe("test secret's");
    expect(run.io.err()).toMatch(/simulator on http:\/\/127\.0\.0\.1:\d+: every log stream/);
    expect(run.io.err()).toMatch(/^ {2}telephony +50 events, a burst of 10 in the millisecond /m);
    expect(run.io.err()).toMatch(/^ {2}administrator +1500 events, a burst of 400 in the second /m);

    const target: SimTarget = { url: env['DUO_API_URL']!, apiHost: env['DUO_API_HOST']!, integrations: [{ ikey: env['DUO_IKEY']!, skey: env['DUO_SKEY']! }] };
    const r = await signedGet(target, { params: { mintime: String(Date.now() - 3_600_000), maxtime: String(Date.now()) } });
    expect([r.status, parseBody(r).code]).toEqual([403, 40301]);
    await run.stop();
  });

  it('serves with a clock off by --clock-offset-seconds and the misbehaviour asked for', async () => {
    const run = runCommand(['--json', '--events', '300', '--burst-size', '0', '--clock-offset-seconds', '400', '--repeat-rate', '1', '--missing-id-rate', '0.5']);
    const line = await waitFor(() => (run.io.out().includes('\n') ? run.io.out() : undefined));
    const summary = JSON.parse(line) as SimulateJson;
    expect(summary).toMatchObject({ clockOffsetSeconds: 400, lateness: null, missingIdRate: 0.5, misbehaviour: { seed: 1, repeatRate: 1 } });
    const target: SimTarget = { url: summary.url, apiHost: summary.apiHost, integrations: [{ ikey: summary.ikey, skey: summary.skey }] };
    const params = { mintime: String(summary.window.fromMs), maxtime: String(summary.window.toMs), limit: '50', sort: 'ts:asc' };
    // Signed by this machine's clock: 400 s off, beyond the 300 s tolerance.
    const refused = await signedGet(target, { params });
    expect([refused.status, parseBody(refused).code]).toEqual([401, 40105]);
    // Signed by the simulator's clock, as a collector that learned it would.
    const first = await signedGet(target, { params, dateMs: Date.now() + 400_000 });
    expect(first.status).toBe(200);
    const body = parseBody(first).response!;
    expect(body.items.some((i) => !('telephony_id' in i))).toBe(true);
    const cursor = body.metadata.next_offset!;
    const second = await signedGet(target, { params: { ...params, next_offset: cursor }, dateMs: Date.now() + 400_000 });
    expect(parseBody(second).response!.metadata.next_offset).toBe(cursor);
    await run.stop();
    expect(run.io.exitCode()).toBe(0);
  });

  it('serves every stream by default and says per stream what it serves; --logs leaves the others empty', async () => {
    const run = runCommand(['--json', '--events', '200', '--seed', '4']);
    const summary = JSON.parse(await waitFor(() => (run.io.out().includes('\n') ? run.io.out() : undefined))) as SimulateJson;
    expect(summary.logs.telephony).toMatchObject({ events: 200, burst: { count: 40, unit: 'millisecond' } });
    expect(summary.logs.authentication.events).toBe(12_000);
    expect(summary.logs.administrator).toMatchObject({ events: 1500, burst: { count: 400, unit: 'second' } });
    expect(summary.env['DUO_LOGS']).toBe('telephony,authentication,activity,trust_monitor,administrator');
    const target: SimTarget = { url: summary.url, apiHost: summary.apiHost, integrations: [{ ikey: summary.ikey, skey: summary.skey }] };
    const got = await pageStream(target, 'trust_monitor', { mintimeMs: summary.window.fromMs, maxtimeMs: summary.window.toMs, limit: 200 });
    expect(got.items).toHaveLength(400);
    await run.stop();

    const only = runCommand(['--json', '--logs', 'activity']);
    const s2 = JSON.parse(await waitFor(() => (only.io.out().includes('\n') ? only.io.out() : undefined))) as SimulateJson;
    expect([s2.events, s2.logs.telephony.events, s2.logs.activity.events, s2.logs.authentication.events]).toEqual([0, 0, 2000, 0]);
    expect(s2.env['DUO_LOGS']).toBe('activity');
    await only.stop();
  });

  it('says on stderr how it misbehaves', async () => {
    const run = runCommand(['--events', '50', '--clock-offset-seconds', '-30', '--rewind-rate', '0.5']);
    const err = await waitFor(() => (run.io.err().includes('Paste these lines') ? run.io.err() : undefined));
    expect(err).toContain("Its clock runs 30 s behind this machine's.");
    expect(err).toContain('Misbehaving per page: rewind 0.5.');
    await run.stop();
  });

  it('rejects bad flags with a ConfigError before listening', async () => {
    const run = runCommand(['--events', '-3']);
    await expect(run.done).rejects.toBeInstanceOf(Error);
    const run2 = runCommand(['--events', 'x', '--rpm', 'fast']);
    await expect(run2.done).rejects.toThrow(/--events.*\n.*--rpm/s);
  });
});
