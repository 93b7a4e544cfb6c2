/**
 * The edges of the configuration and of Duo's answers as a user meets them: the built CLI, its exact
 * words on stderr and its exit status. Each setting that cannot be used is refused before anything is
 * read or written, with one line of its own, all of them at once, exit 2.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { startScriptedServer, type ScriptedServer } from '../support/scripted-server.js';

const DUO = { DUO_IKEY: 'DIWJ8X6AEYOR5OMC6TQ1', DUO_SKEY: 'Zh5eGmUq9zpfQnyUIu5OL9iWoMMv5ZNmk3zT1bLc', DUO_API_HOST: 'api-123abcde.duosecurity.com' };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'config-edges-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

describe('config edges through the CLI', () => {
  const cases: Array<[setting: string, value: string, line: string]> = [
    ['GCS_PREFIX', '/', 'GCS_PREFIX / --prefix: empty (or only /) would hold the checkpoint _state/root.json: the feed would read the whole bucket, checkpoint included; name a folder such as duo-telephony'],
    ['GCS_PREFIX', '_state', 'GCS_PREFIX / --prefix: _state would hold the checkpoint _state/_state.json, which the feed must not read: choose another prefix, or set STATE_KEY outside it'],
    ['GCS_PREFIX', 'a//b', 'GCS_PREFIX / --prefix: must not contain an empty segment (// or a trailing /)'],
    ['GCS_PREFIX', 'a/../b', 'GCS_PREFIX / --prefix: must not contain . or .. segments'],
    ['GCS_PREFIX', '..\\x', 'GCS_PREFIX / --prefix: must not contain a backslash: folders are separated by /'],
    ['STATE_KEY', '.', 'STATE_KEY / --state-key: must not contain . or .. segments'],
    ['STATE_KEY', '..', 'STATE_KEY / --state-key: must not contain . or .. segments'],
    ['STATE_KEY', '/tmp/state.json', 'STATE_KEY / --state-key: must be relative to the bucket or OUTPUT_DIR, not an absolute path'],
    ['STATE_KEY', '_state\\duo.json', 'STATE_KEY / --state-key: must not contain a backslash: folders are separated by /'],
    ['PAGE_LIMIT', '0x10', 'PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000'],
    ['MAX_ITERATIONS', '1e3', 'MAX_ITERATIONS / --max-pages: must be a whole number, at least 0'],
    ['WINDOW_MAX_HOURS', '1e-9', 'WINDOW_MAX_HOURS / --window-max-hours: must be a decimal number like 90 or 1.5, from 0.0167 (one minute) to 4296 (179 days)'],
    ['WINDOW_MAX_HOURS', '0.001', 'WINDOW_MAX_HOURS / --window-max-hours: must be at least 0.0167 (one minute)'],
    ['WINDOW_MAX_HOURS', '4320', 'WINDOW_MAX_HOURS / --window-max-hours: must be at most 4296 (179 days)'],
  ];

  let runs = 0;
  it.each(cases)('collect refuses %s=%s with one line, exit 2, and writes nothing', async (setting, value, line) => {
    const out = join(dir, `out-${(runs += 1)}`);
    const r = await runCli(['collect'], { ...DUO, OUTPUT_DIR: out, [setting]: value });
    expect(r.stderr).toBe(`duo-secops: invalid configuration:\n  - ${line}\n`);
    expect(r.code).toBe(2);
    expect(await exists(out)).toBe(false);
  });

  it('lists every problem at once, flags and environment alike', async () => {
    const env = await runCli(['collect'], { ...DUO, OUTPUT_DIR: join(dir, 'all'), GCS_PREFIX: 'logs\\duo', STATE_KEY: '../state.json', WINDOW_MAX_HOURS: '0', PAGE_LIMIT: '1e3' });
    expect(env.stderr).toBe(
      [
        'duo-secops: invalid configuration:',
        '  - GCS_PREFIX / --prefix: must not contain a backslash: folders are separated by /',
        '  - STATE_KEY / --state-key: must not contain . or .. segments',
        '  - PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000',
        '  - WINDOW_MAX_HOURS / --window-max-hours: must be at least 0.0167 (one minute)',
        '',
      ].join('\n'),
    );
    expect(env.code).toBe(2);
    const flags = await runCli(['state', 'show', '--prefix', '/', '--out', join(dir, 'flags')], {});
    expect(flags.stderr).toBe(
      'duo-secops: invalid configuration:\n  - GCS_PREFIX / --prefix: empty (or only /) would hold the checkpoint _state/root.json: the feed would read the whole bucket, checkpoint included; name a folder such as duo-telephony\n',
    );
    expect(flags.code).toBe(2);
  });
});

describe("Duo's refusal inside a 200 through the CLI", () => {
  let server: ScriptedServer;
  beforeAll(async () => {
    server = await startScriptedServer([
      {
        status: 200,
        body: { stat: 'FAIL', code: 40002, message: 'Invalid request parameters', message_detail: 'mintime must be within the past 180 days' },
      },
    ]);
  });
  afterAll(async () => {
    await server.close();
  });

  it('check reports stat FAIL 40002 as Duo refusing the parameters, after one request, exit 2', async () => {
    const r = await runCli(['check'], { ...DUO, DUO_API_URL: server.url });
    expect(r.stdout).toContain(
      'Duo answered:           Duo answered HTTP 200 for /admin/v2/logs/telephony with stat FAIL: 40002 Invalid request parameters ' +
        '(mintime must be within the past 180 days). Duo refused the request window or parameters: the detail names which\n',
    );
    expect(r.stdout).not.toMatch(/proxy|unreachable/);
    expect(r.code).toBe(2);
    expect(server.requests).toHaveLength(1);
  });
});
