import { describe, expect, it } from 'vitest';
import { Command } from 'commander';
import { loadConfig, configWarnings, defaultStateKey, SETTINGS, settingsTable, type ConfigFlags, type SettingKey, type SettingRow } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { addSettingOptions, explicitFlags } from '../../src/entry/options.js';

const duo = { DUO_IKEY: 'DIXXXXXXXXXXXXXXXXXX', DUO_SKEY: 'not-a-real-secret-key-0123456789abcdef', DUO_API_HOST: 'api-12345678.duosecurity.com' };

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

/** Parse a command line through the generated options, as the CLI does. */
function flagsOf(command: 'collect' | 'daemon' | 'check' | 'state', argv: string[]): ConfigFlags {
  const cmd = new Command(command).exitOverride();
  addSettingOptions(cmd, command);
  cmd.action(() => {});
  cmd.parse(argv, { from: 'user' });
  return explicitFlags(cmd);
}

describe('loadConfig', () => {
  it.each([
    ['auto', 'auto'],
    [' AUTO ', 'auto'],
    ['12.5', 12.5],
  ])('reads REQUESTS_PER_MINUTE=%j as the ceiling %j', (value, ceiling) => {
    expect(loadConfig({ ...duo, REQUESTS_PER_MINUTE: value }, {}, { needDuo: true }).requestsPerMinute).toBe(ceiling);
  });

  it('applies the documented defaults', () => {
    const c = loadConfig(duo, {}, { needDuo: true });
    expect(c).toMatchObject({
      prefix: 'duo-telephony',
      stateKey: '_state/duo-telephony.json',
      stateKeyExplicit: false,
      outputDir: './duo-secops-data',
      maxPages: 0,
      pageLimit: 1000,
      delaySeconds: 120,
      lookbackHours: 24,
      windowMaxHours: 24,
      requestsPerMinute: 'auto',
      runBudgetSeconds: 0,
      enrich: true,
      logLevel: 'info',
      schedule: '*/5 * * * *',
      runAtStart: true,
      signatureVersion: 5,
      apiUrl: 'https://api-12345678.duosecurity.com',
      bucket: undefined,
      gcsApiEndpoint: undefined,
      entry: 'cli',
    });
  });

  it.each([
    { entry: 'cli' as const, budget: 0 },
    { entry: 'daemon' as const, budget: 0 },
    { entry: 'function' as const, budget: 540 },
  ])('gives the $entry a run budget of $budget s by default', ({ entry, budget }) => {
    expect(loadConfig(duo, {}, { entry }).runBudgetSeconds).toBe(budget);
  });

  it('logs at warn by default on a terminal (the CLI only), at the level asked for otherwise', () => {
    expect(loadConfig(duo, {}, { terminal: true }).logLevel).toBe('warn');
    expect(loadConfig(duo, {}, { terminal: true, entry: 'daemon' }).logLevel).toBe('info');
    expect(loadConfig({ ...duo, LOG_LEVEL: 'debug' }, {}, { terminal: true }).logLevel).toBe('debug');
  });

  it('lets flags win over the environment', () => {
    const c = loadConfig({ ...duo, GCS_PREFIX: 'env', PAGE_LIMIT: '10' }, { prefix: 'flag/', pageLimit: '20' });
    expect(c.prefix).toBe('flag');
    expect(c.pageLimit).toBe(20);
    expect(c.stateKey).toBe(defaultStateKey('flag'));
  });

  it('records which settings were given, for messages about them', () => {
    const c = loadConfig({ ...duo, LOOKBACK_HOURS: '48' }, { pageLimit: '20' });
    expect(c.explicit.has('lookbackHours')).toBe(true);
    expect(c.explicit.has('pageLimit')).toBe(true);
    expect(c.explicit.has('windowMaxHours')).toBe(false);
  });

  it('keeps the guide variable names and their meaning', () => {
    const c = loadConfig({ ...duo, GCS_BUCKET: 'duo-telephony-logs', GCS_PREFIX: 'duo-telephony', STATE_KEY: 'duo-telephony/state.json', MAX_ITERATIONS: '10' });
    expect(c.bucket).toBe('duo-telephony-logs');
    expect(c.maxPages).toBe(10);
    // The guide's STATE_KEY lies inside the feed's prefix: read as the guide's state, never written.
    expect(c.stateKey).toBe('_state/duo-telephony.json');
    expect(c.legacyStateKey).toBe('duo-telephony/state.json');
    expect(configWarnings(c).join('\n')).toMatch(/under the feed's prefix duo-telephony\/.*read as the guide's state and carried on from, never written; the checkpoint goes to _state\/duo-telephony\.json/);
  });

  it('writes the checkpoint at a STATE_KEY outside the prefix, and carries on from nothing else', () => {
    const c = loadConfig({ ...duo, GCS_PREFIX: 'duo-telephony', STATE_KEY: 'state/duo.json' });
    expect(c).toMatchObject({ stateKey: 'state/duo.json', legacyStateKey: undefined });
    expect(loadConfig(duo)).toMatchObject({ stateKey: '_state/duo-telephony.json', legacyStateKey: 'duo-telephony/state.json' });
    expect(configWarnings(c)).toEqual([]);
  });

  it('lists every problem in one error and never echoes the secret', () => {
    let err: unknown;
    try {
      loadConfig({ DUO_SKEY: 'super-secret-value', PAGE_LIMIT: '5000', DELAY_SECONDS: '-1', LOOKBACK_HOURS: '9999', GCS_BUCKET: 'gs://x', ENRICH: 'maybe' }, {}, { needDuo: true });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as ConfigError).message;
    for (const name of ['PAGE_LIMIT', 'DELAY_SECONDS', 'LOOKBACK_HOURS', 'GCS_BUCKET', 'ENRICH', 'DUO_IKEY', 'DUO_API_HOST']) expect(msg).toContain(name);
    expect(msg).not.toContain('super-secret-value');
    expect((err as ConfigError).exitCode).toBe(2);
  });

  // Each edge is refused with exactly this one line (ConfigError prints it after "invalid configuration:").
  it.each([
    ['PAGE_LIMIT', '0x10', 'PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000'],
    ['PAGE_LIMIT', '1e3', 'PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000'],
    ['PAGE_LIMIT', '2.5', 'PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000'],
    ['MAX_ITERATIONS', '-1', 'MAX_ITERATIONS / --max-pages: must be a whole number, at least 0'],
    ['MAX_ITERATIONS', '0x10', 'MAX_ITERATIONS / --max-pages: must be a whole number, at least 0'],
    ['DELAY_SECONDS', 'Infinity', 'DELAY_SECONDS / --delay-seconds: must be a decimal number like 90 or 1.5, at least 0'],
    ['DELAY_SECONDS', '1e3', 'DELAY_SECONDS / --delay-seconds: must be a decimal number like 90 or 1.5, at least 0'],
    ['REQUESTS_PER_MINUTE', '0', 'REQUESTS_PER_MINUTE / --rpm: must be greater than 0, or auto'],
    ['REQUESTS_PER_MINUTE', '0x10', 'REQUESTS_PER_MINUTE / --rpm: must be a decimal number like 90 or 1.5, greater than 0, or auto'],
    ['REQUESTS_PER_MINUTE', 'fast', 'REQUESTS_PER_MINUTE / --rpm: must be a decimal number like 90 or 1.5, greater than 0, or auto'],
    ['LOOKBACK_HOURS', '5000', 'LOOKBACK_HOURS / --lookback-hours: must be at most 4296 (179 days: Duo keeps 180)'],
    ['LOOKBACK_HOURS', '1e3', 'LOOKBACK_HOURS / --lookback-hours: must be a decimal number like 90 or 1.5, greater than 0 and at most 4296 (179 days: Duo keeps 180)'],
    ['WINDOW_MAX_HOURS', '1e-9', 'WINDOW_MAX_HOURS / --window-max-hours: must be a decimal number like 90 or 1.5, from 0.0167 (one minute) to 4296 (179 days)'],
    ['WINDOW_MAX_HOURS', '0.000000001', 'WINDOW_MAX_HOURS / --window-max-hours: must be at least 0.0167 (one minute)'],
    ['WINDOW_MAX_HOURS', '0.0166', 'WINDOW_MAX_HOURS / --window-max-hours: must be at least 0.0167 (one minute)'],
    ['WINDOW_MAX_HOURS', '0', 'WINDOW_MAX_HOURS / --window-max-hours: must be at least 0.0167 (one minute)'],
    ['WINDOW_MAX_HOURS', '4297', 'WINDOW_MAX_HOURS / --window-max-hours: must be at most 4296 (179 days)'],
    ['RUN_BUDGET_SECONDS', '1e3', 'RUN_BUDGET_SECONDS / --budget-seconds: must be a decimal number like 90 or 1.5, at least 0'],
    ['DUO_SIGNATURE_VERSION', '3', 'DUO_SIGNATURE_VERSION: must be 2 or 5'],
    ['LOG_LEVEL', 'loud', 'LOG_LEVEL / --log-level: must be one of trace, debug, info, warn, error, fatal, silent'],
    // A prefix: the feed's folder, and a folder below OUTPUT_DIR.
    ['GCS_PREFIX', '/', 'GCS_PREFIX / --prefix: empty (or only /) would hold the checkpoint _state/root.json: the feed would read the whole bucket, checkpoint included; name a folder such as duo-telephony'],
    ['GCS_PREFIX', '///', 'GCS_PREFIX / --prefix: empty (or only /) would hold the checkpoint _state/root.json: the feed would read the whole bucket, checkpoint included; name a folder such as duo-telephony'],
    ['GCS_PREFIX', '_state', 'GCS_PREFIX / --prefix: _state would hold the checkpoint _state/_state.json, which the feed must not read: choose another prefix, or set STATE_KEY outside it'],
    ['GCS_PREFIX', 'a//b', 'GCS_PREFIX / --prefix: must not contain an empty segment (// or a trailing /)'],
    ['GCS_PREFIX', '..\\x', 'GCS_PREFIX / --prefix: must not contain a backslash: folders are separated by /'],
    ['GCS_PREFIX', 'logs\\duo', 'GCS_PREFIX / --prefix: must not contain a backslash: folders are separated by /'],
    ['GCS_PREFIX', 'a/../b', 'GCS_PREFIX / --prefix: must not contain . or .. segments'],
    ['GCS_PREFIX', '../duo', 'GCS_PREFIX / --prefix: must not contain . or .. segments'],
    ['GCS_PREFIX', 'duo/.', 'GCS_PREFIX / --prefix: must not contain . or .. segments'],
    // STATE_KEY: relative to the bucket or OUTPUT_DIR, and never out of it.
    ['STATE_KEY', '.', 'STATE_KEY / --state-key: must not contain . or .. segments'],
    ['STATE_KEY', '..', 'STATE_KEY / --state-key: must not contain . or .. segments'],
    ['STATE_KEY', '_state/../../state.json', 'STATE_KEY / --state-key: must not contain . or .. segments'],
    ['STATE_KEY', '/var/lib/duo/state.json', 'STATE_KEY / --state-key: must be relative to the bucket or OUTPUT_DIR, not an absolute path'],
    ['STATE_KEY', '..\\state.json', 'STATE_KEY / --state-key: must not contain a backslash: folders are separated by /'],
    ['STATE_KEY', 'C:\\duo\\state.json', 'STATE_KEY / --state-key: must not contain a backslash: folders are separated by /'],
    ['STATE_KEY', '_state//duo.json', 'STATE_KEY / --state-key: must not contain an empty segment (// or a trailing /)'],
    ['STATE_KEY', '_state/', 'STATE_KEY / --state-key: must not contain an empty segment (// or a trailing /)'],
  ])('refuses %s=%s with one line', (name, value, line) => {
    expect(problemsOf(() => loadConfig({ ...duo, [name]: value }))).toEqual([line]);
  });

  it('lists every edge at once, one line each, exit 2', () => {
    let err: unknown;
    try {
      loadConfig({ ...duo, GCS_PREFIX: 'a//b', STATE_KEY: '.', WINDOW_MAX_HOURS: '1e-9', PAGE_LIMIT: '0x10' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toBe(
      [
        'invalid configuration:',
        '  - GCS_PREFIX / --prefix: must not contain an empty segment (// or a trailing /)',
        '  - STATE_KEY / --state-key: must not contain . or .. segments',
        '  - PAGE_LIMIT / --page-limit: must be a whole number from 1 to 1000',
        '  - WINDOW_MAX_HOURS / --window-max-hours: must be a decimal number like 90 or 1.5, from 0.0167 (one minute) to 4296 (179 days)',
      ].join('\n'),
    );
    expect((err as ConfigError).exitCode).toBe(2);
  });

  it('takes flags to the same rules', () => {
    expect(problemsOf(() => loadConfig(duo, { prefix: '/', stateKey: '..' }))).toEqual(['STATE_KEY / --state-key: must not contain . or .. segments']);
    expect(problemsOf(() => loadConfig(duo, { prefix: '/' }))).toEqual([expect.stringMatching(/^GCS_PREFIX \/ --prefix: empty \(or only \/\) would hold the checkpoint _state\/root\.json/)]);
  });

  it('accepts the edges just inside the rules', () => {
    expect(loadConfig({ ...duo, WINDOW_MAX_HOURS: '0.0167' }).windowMaxHours).toBe(0.0167);
    expect(loadConfig({ ...duo, WINDOW_MAX_HOURS: '4296' }).windowMaxHours).toBe(4296);
    // Slashes around a prefix are the feed's folder written as a folder.
    expect(loadConfig({ ...duo, GCS_PREFIX: '/logs/duo/' })).toMatchObject({ prefix: 'logs/duo', stateKey: '_state/logs_duo.json' });
    // A prefix below _state/ does not hold its own checkpoint (_state/_state_x.json).
    expect(loadConfig({ ...duo, GCS_PREFIX: '_state/x' }).stateKey).toBe('_state/_state_x.json');
    // `...` and `.hidden` are names, not the current or parent folder.
    expect(loadConfig({ ...duo, GCS_PREFIX: '.../.hidden', STATE_KEY: '_state/.duo.json' })).toMatchObject({ prefix: '.../.hidden', stateKey: '_state/.duo.json' });
  });

  it('lets an explicit STATE_KEY stand beside an empty or _state prefix, with a warning', () => {
    // The guide keeps its checkpoint under the prefix; its users are warned, not stopped.
    const empty = loadConfig({ ...duo, GCS_PREFIX: '/', STATE_KEY: 'state.json' });
    expect(empty).toMatchObject({ prefix: '', stateKey: 'state.json' });
    expect(configWarnings(empty)).toEqual([
      "STATE_KEY=state.json is in the feed's reach: GCS_PREFIX is empty, so a SecOps GCS V2 feed reads the whole bucket and ingests it as a bogus log each time it changes; prefer a GCS_PREFIX such as duo-telephony",
    ]);
    const state = loadConfig({ ...duo, GCS_PREFIX: '_state', STATE_KEY: 'checkpoints/duo.json' });
    expect(configWarnings(state)).toEqual([]);
  });

  it('accepts plain decimal numbers with surrounding white space', () => {
    const c = loadConfig({ ...duo, WINDOW_MAX_HOURS: ' 1.5 ', PAGE_LIMIT: ' 500', RUN_BUDGET_SECONDS: '0' });
    expect(c).toMatchObject({ windowMaxHours: 1.5, pageLimit: 500, runBudgetSeconds: 0 });
  });

  it('refuses the secret key as a flag', () => {
    expect(() => loadConfig(duo, { skey: 'x' })).toThrow(/cannot be given as a flag/);
  });

  it('trims the secret key (a pasted key often ends in a newline)', () => {
    expect(loadConfig({ ...duo, DUO_SKEY: '  abc123\n' }).skey).toBe('abc123');
  });

  it('accepts a Secret Manager name instead of DUO_SKEY', () => {
    const { DUO_SKEY: _omit, ...rest } = duo;
    const c = loadConfig({ ...rest, DUO_SKEY_SECRET: 'projects/p/secrets/duo-skey/versions/latest' }, {}, { needDuo: true });
    expect(c.skey).toBeUndefined();
    expect(c.skeySecret).toBe('projects/p/secrets/duo-skey/versions/latest');
  });

  it('warns below Duo’s two-minute delay but accepts it', () => {
    const c = loadConfig({ ...duo, DELAY_SECONDS: '1' });
    expect(c.delaySeconds).toBe(1);
    expect(configWarnings(c).join('\n')).toMatch(/below Duo's 120 s/);
  });

  it('treats empty environment values as unset', () => {
    expect(loadConfig({ ...duo, GCS_BUCKET: '', PAGE_LIMIT: ' ' }).bucket).toBeUndefined();
  });

  it('rejects a URL as DUO_API_HOST with the fix', () => {
    expect(() => loadConfig({ ...duo, DUO_API_HOST: 'https://api-1.duosecurity.com' })).toThrow(/not a URL/);
  });

  it('reads the GCS endpoint from the flag, GCS_API_ENDPOINT or STORAGE_EMULATOR_HOST', () => {
    expect(loadConfig(duo, { gcsApiEndpoint: 'http://127.0.0.1:9/' }).gcsApiEndpoint).toBe('http://127.0.0.1:9');
    expect(loadConfig({ ...duo, GCS_API_ENDPOINT: 'http://127.0.0.1:8' }).gcsApiEndpoint).toBe('http://127.0.0.1:8');
    expect(loadConfig({ ...duo, STORAGE_EMULATOR_HOST: 'http://127.0.0.1:7' }).gcsApiEndpoint).toBe('http://127.0.0.1:7');
  });

  it('refuses a GCS endpoint that differs from STORAGE_EMULATOR_HOST (the client would split reads from uploads)', () => {
    const problems = problemsOf(() => loadConfig({ ...duo, STORAGE_EMULATOR_HOST: 'http://127.0.0.1:7' }, { gcsApiEndpoint: 'http://127.0.0.1:9' }));
    expect(problems.join('\n')).toMatch(/differs from STORAGE_EMULATOR_HOST/);
    expect(loadConfig({ ...duo, STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9/' }, { gcsApiEndpoint: 'http://127.0.0.1:9' }).gcsApiEndpoint).toBe('http://127.0.0.1:9');
  });
});

describe('the settings table', () => {
  const rows = Object.entries(SETTINGS) as Array<[SettingKey, SettingRow]>;

  it('gives every setting an environment variable or a flag, and every environment variable one row', () => {
    const names = rows.flatMap(([, r]) => [r.env, ...(r.envAliases ?? [])]).filter(Boolean);
    expect(new Set(names).size).toBe(names.length);
    for (const [key, r] of rows) expect(r.env ?? r.flag, key).toBeDefined();
  });

  it('parses each default that is a plain value with its own parser', () => {
    for (const [key, r] of rows) {
      const d = r.default;
      if (d === undefined || typeof d === 'object') continue;
      const parsed = r.schema.safeParse(typeof d === 'boolean' ? d : String(d));
      expect(parsed.success, key).toBe(true);
      expect(parsed.data, key).toEqual(d);
    }
  });

  it.each(['collect', 'daemon', 'check', 'state'] as const)('maps every flag %s shows back to its setting', (command) => {
    for (const [key, r] of rows) {
      if (!r.flag || r.internal || !r.commands.includes(command)) continue;
      const takesValue = r.flag.includes('<');
      const value = key === 'gcsApiEndpoint' ? 'http://127.0.0.1:1' : key === 'logLevel' ? 'debug' : '7';
      const flags = flagsOf(command, takesValue ? [r.flag.split(' ')[0]!, value] : [r.flag]);
      expect(Object.keys(flags), `${command} ${r.flag}`).toEqual([key]);
    }
  });

  it('honours --gcs-endpoint on every command that reaches storage', () => {
    for (const command of ['collect', 'daemon', 'state'] as const) {
      const c = loadConfig(duo, flagsOf(command, ['--gcs-endpoint', 'http://127.0.0.1:4443']));
      expect(c.gcsApiEndpoint, command).toBe('http://127.0.0.1:4443');
    }
  });

  it('lets the environment stand when a boolean flag is absent (commander invents its default)', () => {
    expect(loadConfig({ ...duo, ENRICH: 'false' }, flagsOf('collect', [])).enrich).toBe(false);
    expect(loadConfig(duo, flagsOf('collect', ['--no-enrich'])).enrich).toBe(false);
  });

  it('shows each flag with its environment variable and default in --help', () => {
    const cmd = new Command('collect');
    addSettingOptions(cmd, 'collect');
    const help = cmd.helpInformation().replace(/\s+/g, ' ');
    expect(help).toContain('--budget-seconds <s> stop opening new pages after this many seconds');
    expect(help).toContain('(env RUN_BUDGET_SECONDS, default 0 (no limit))');
    expect(help).toContain('(env PAGE_LIMIT, default 1000)');
    expect(help).toContain('--no-enrich do not add eventtype and host to each line (env ENRICH)');
    expect(help).toMatch(/--gcs-endpoint <url> .* \(env GCS_API_ENDPOINT, default Google's\)/);
    expect(help).not.toContain('DUO_SECOPS_FAILPOINT');
    const daemon = new Command('daemon');
    addSettingOptions(daemon, 'daemon', 'daemon');
    expect(daemon.helpInformation().replace(/\s+/g, ' ')).toContain('(env SCHEDULE, default */5 * * * *)');
    const fn = new Command('collect');
    addSettingOptions(fn, 'collect', 'function');
    expect(fn.helpInformation().replace(/\s+/g, ' ')).toContain('(env RUN_BUDGET_SECONDS, default 540)');
  });

  it('makes one README row per documented setting', () => {
    const table = settingsTable();
    const documented = rows.filter(([, r]) => !r.internal);
    expect(table.split('\n')).toHaveLength(documented.length + 2);
    expect(table).toContain('| `DUO_SKEY` | — | required unless `DUO_SKEY_SECRET` |');
    expect(table).toContain('| `GCS_API_ENDPOINT` / `STORAGE_EMULATOR_HOST` | `--gcs-endpoint` |');
    expect(table).not.toContain('FAILPOINT');
    expect(table).toContain('| `RUN_BUDGET_SECONDS` | `--budget-seconds` | CLI and daemon `0` (no limit); function `540` |');
  });
});

describe('log streams (DUO_LOGS) and their prefixes', () => {
  it('collects telephony alone by default, at the guide-compatible places', () => {
    const c = loadConfig({ ...duo });
    expect(c.logs).toEqual(['telephony']);
    expect(c.stores).toEqual([{ stream: 'telephony', prefix: 'duo-telephony', stateKey: '_state/duo-telephony.json', legacyStateKey: 'duo-telephony/state.json' }]);
  });

  it('gives every other stream duo-<stream> and _state/<prefix>.json, in the table order', () => {
    const c = loadConfig({ ...duo, DUO_LOGS: 'administrator, trust-monitor,telephony,Authentication,activity' });
    expect(c.stores.map((s) => [s.stream, s.prefix, s.stateKey, s.legacyStateKey])).toEqual([
      ['telephony', 'duo-telephony', '_state/duo-telephony.json', 'duo-telephony/state.json'],
      ['authentication', 'duo-authentication', '_state/duo-authentication.json', undefined],
      ['activity', 'duo-activity', '_state/duo-activity.json', undefined],
      ['trust_monitor', 'duo-trust-monitor', '_state/duo-trust-monitor.json', undefined],
      ['administrator', 'duo-administrator', '_state/duo-administrator.json', undefined],
    ]);
    expect(loadConfig({ ...duo, DUO_LOGS: 'authentication', GCS_PREFIX_AUTHENTICATION: '/logs/duo-auth/' }).stores).toEqual([
      { stream: 'authentication', prefix: 'logs/duo-auth', stateKey: '_state/logs_duo-auth.json', legacyStateKey: undefined },
    ]);
  });

  it.each([
    [{ DUO_LOGS: 'telephony,sms' }, 'DUO_LOGS / --logs: sms is not a Duo log stream: choose from telephony, authentication, activity, trust_monitor, administrator'],
    [{ DUO_LOGS: ' , ' }, 'DUO_LOGS / --logs: must name at least one of telephony, authentication, activity, trust_monitor, administrator'],
    [{ DUO_LOGS: 'telephony,authentication', GCS_PREFIX_AUTHENTICATION: 'duo-telephony' }, 'GCS_PREFIX_AUTHENTICATION: duo-telephony overlaps GCS_PREFIX / --prefix duo-telephony of the telephony log'],
    [{ DUO_LOGS: 'telephony,activity', GCS_PREFIX_ACTIVITY: 'duo-telephony/activity' }, 'GCS_PREFIX_ACTIVITY: duo-telephony/activity overlaps GCS_PREFIX / --prefix duo-telephony'],
    [{ DUO_LOGS: 'activity,administrator', GCS_PREFIX_ACTIVITY: 'a/b', GCS_PREFIX_ADMINISTRATOR: 'a_b' }, 'would share the checkpoint _state/a_b.json'],
    [{ DUO_LOGS: 'telephony,administrator', GCS_PREFIX_ADMINISTRATOR: '_state' }, 'GCS_PREFIX_ADMINISTRATOR: _state would hold the checkpoint _state/duo-telephony.json of the telephony log'],
    [{ DUO_LOGS: 'activity', GCS_PREFIX_ACTIVITY: 'a/../b' }, 'GCS_PREFIX_ACTIVITY: must not contain . or .. segments'],
  ])('refuses %j with one line', (env, line) => {
    const problems = problemsOf(() => loadConfig({ ...duo, ...env }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(line);
  });

  it('leaves a stream that is not selected out of the checks', () => {
    expect(loadConfig({ ...duo, GCS_PREFIX_AUTHENTICATION: 'duo-telephony' }).stores.map((s) => s.stream)).toEqual(['telephony']);
  });
});
