/** The CLI as users meet it: help, version, the demo, and `state show|reset`. */
import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { VERSION } from '../../src/version.js';

describe('duo-secops CLI', () => {
  it('prints help for every command and its version', async () => {
    const help = await runCli(['--help'], {});
    expect(help.code).toBe(0);
    for (const c of ['collect', 'check', 'state', 'udm', 'simulate', 'daemon', 'demo']) expect(help.stdout).toContain(c);
    const collect = await runCli(['collect', '--help'], {});
    expect(collect.stdout).toMatch(/--max-pages/);
    expect(collect.stdout).toMatch(/Exit status/);
    const version = await runCli(['--version'], {});
    expect(version.stdout.trim()).toBe(VERSION);
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(pkg.version).toBe(VERSION);
  });

  it('answers an unknown command or flag with usage and exit 2', async () => {
    const r = await runCli(['collekt'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown command/);
  });

  it('runs the demo end to end: every simulated event once, UDM written', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-demo-'));
    try {
      const out = join(dir, 'demo');
      const r = await runCli(['demo', '--out', out, '--events', '3000'], {});
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/all 3,000 events delivered exactly once/);
      expect(r.stdout).toMatch(/UDM events/);
      // What it suggests next works as printed in a clone, where no duo-secops is on the PATH.
      const next = /Next: `node (\S+) udm (\S+) --stats`/.exec(r.stdout);
      expect(next, r.stdout).not.toBeNull();
      const suggested = await runCli(['udm', next![2]!, '--stats'], {});
      expect(next![1]).toBe('dist/src/entry/cli.js');
      expect(suggested.code, suggested.stderr).toBe(0);
      const udm = (await readFile(join(out, '_udm/events.udm.ndjson'), 'utf8')).trim().split('\n');
      expect(udm).toHaveLength(3000);
      // A second demo run replaces its own folder, but never a folder it did not make.
      expect((await runCli(['demo', '--out', out, '--events', '10'], {})).code).toBe(0);
      const foreign = join(dir, 'mine');
      await mkdir(foreign);
      await writeFile(join(foreign, 'keep.txt'), 'x');
      const refused = await runCli(['demo', '--out', foreign], {});
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/not made by the demo/);
      expect(await readFile(join(foreign, 'keep.txt'), 'utf8')).toBe('x');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('state show and state reset', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'duo-state-'));
    try {
      const none = await runCli(['state', 'show', '--out', dir], {});
      expect(none.code).toBe(0);
      expect(none.stdout).toMatch(/no checkpoint/);
      const to = new Date(Date.now() - 3_600_000).toISOString();
      const refused = await runCli(['state', 'reset', '--out', dir, '--to', to], {});
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--yes/);
      const bad = await runCli(['state', 'reset', '--out', dir, '--to', 'yesterday', '--yes'], {});
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/ISO 8601/);
      const ok = await runCli(['state', 'reset', '--out', dir, '--to', to, '--yes'], {});
      expect(ok.code, ok.stderr).toBe(0);
      const shown = await runCli(['state', 'show', '--out', dir, '--json'], {});
      expect(JSON.parse(shown.stdout)).toMatchObject({ version: 2, nextMintimeMs: Date.parse(to), open: null });
      const human = await runCli(['state', 'show', '--out', dir], {});
      expect(human.stdout).toContain(`next window starts: ${to}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
