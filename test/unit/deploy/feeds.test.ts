/** The streams as deploy sees them: the function's stream variables, gcloud's list escaping, each stream's feed. */
import { describe, expect, it } from 'vitest';
import { envVarsFlag, parseEnvVarsFlag, prefixEnv, prefixFlag, streamEnv, streamFeeds } from '../../../src/deploy/feeds.js';
import { logsText } from '../../../src/entry/commands/deploy.js';
import { STREAM_NAMES, STREAMS, type StreamName } from '../../../src/duo/streams.js';
import { SETTINGS, prefixSettingOf } from '../../../src/config.js';
import { DEFAULT_STREAM_PREFIXES, deploySettings } from '../../support/deploy-settings.js';

describe('stream names', () => {
  it('flags and variables of each prefix follow the settings table', () => {
    const table: Array<[StreamName, string, string]> = [
      ['telephony', '--prefix', 'GCS_PREFIX'],
      ['authentication', '--prefix-authentication', 'GCS_PREFIX_AUTHENTICATION'],
      ['activity', '--prefix-activity', 'GCS_PREFIX_ACTIVITY'],
      ['trust_monitor', '--prefix-trust-monitor', 'GCS_PREFIX_TRUST_MONITOR'],
      ['administrator', '--prefix-administrator', 'GCS_PREFIX_ADMINISTRATOR'],
    ];
    for (const [stream, flag, env] of table) {
      expect(prefixFlag(stream)).toBe(flag);
      expect(prefixEnv(stream)).toBe(env);
      expect((SETTINGS[prefixSettingOf(stream)] as { env?: string }).env).toBe(env);
    }
    expect(table.map(([n]) => n)).toEqual([...STREAM_NAMES]);
  });

  it('the test settings default each prefix as the settings table does', () => {
    for (const [stream, prefix] of Object.entries(DEFAULT_STREAM_PREFIXES)) {
      expect((SETTINGS[prefixSettingOf(stream as StreamName)] as { default?: unknown }).default).toBe(prefix);
    }
  });

  it('says which logs a deploy collects', () => {
    const table: Array<[StreamName[], string]> = [
      [['telephony'], 'the telephony (DUO_TELEPHONY) log'],
      [['telephony', 'authentication'], 'the telephony (DUO_TELEPHONY) and authentication (DUO_AUTH) logs'],
      [['activity', 'trust_monitor', 'administrator'], 'the activity (DUO_ACTIVITY), trust monitor (DUO_TRUST_MONITOR) and administrator (DUO_ADMIN, being retired by Duo) logs'],
    ];
    for (const [logs, text] of table) expect(logsText(logs)).toBe(text);
  });
});

describe('streamEnv', () => {
  it('is DUO_LOGS and the prefix of every selected stream, defaults included', () => {
    const table: Array<[StreamName[], Record<string, string>]> = [
      [['telephony'], { GCS_PREFIX: 'duo-telephony', DUO_LOGS: 'telephony' }],
      [['authentication'], { GCS_PREFIX_AUTHENTICATION: 'duo-authentication', DUO_LOGS: 'authentication' }],
      [
        ['telephony', 'trust_monitor'],
        { GCS_PREFIX: 'duo-telephony', GCS_PREFIX_TRUST_MONITOR: 'duo-trust-monitor', DUO_LOGS: 'telephony,trust_monitor' },
      ],
    ];
    for (const [logs, env] of table) expect(streamEnv(deploySettings({ logs }))).toEqual(env);
  });
});

describe('envVarsFlag', () => {
  it('keeps commas when no value has one, else picks a delimiter no name or value holds', () => {
    const table: Array<[Record<string, string>, string]> = [
      [{ A: '1', B: 'x/y' }, '--set-env-vars=A=1,B=x/y'],
      [{ DUO_LOGS: 'telephony,activity', B: '2' }, '--set-env-vars=^;^DUO_LOGS=telephony,activity;B=2'],
      [{ DUO_LOGS: 'a,b', P: 'x;y' }, '--set-env-vars=^|^DUO_LOGS=a,b|P=x;y'],
      [{ DUO_LOGS: 'a,b', P: 'x;y|z' }, '--set-env-vars=^@^DUO_LOGS=a,b@P=x;y|z'],
    ];
    for (const [env, flag] of table) {
      expect(envVarsFlag(env)).toBe(flag);
      expect(parseEnvVarsFlag(flag.slice('--set-env-vars='.length))).toEqual(env);
    }
    expect(() => envVarsFlag({ A: 'a,b;|@#~!+' })).toThrow(/no delimiter/);
  });
});

describe('streamFeeds', () => {
  it('one feed per selected stream, in the table order, with its log type, URL and checkpoint', () => {
    const feeds = streamFeeds(deploySettings({ logs: [...STREAM_NAMES], prefix: 'duo/telephony', streamPrefixes: { ...DEFAULT_STREAM_PREFIXES, trust_monitor: 'tm' } }));
    expect(feeds.map((f) => [f.stream, f.logType, f.uri, f.stateKey, f.secopsParser])).toEqual([
      ['telephony', 'DUO_TELEPHONY', 'gs://acme-duo/duo/telephony/', '_state/duo_telephony.json', true],
      ['authentication', 'DUO_AUTH', 'gs://acme-duo/duo-authentication/', '_state/duo-authentication.json', true],
      ['activity', 'DUO_ACTIVITY', 'gs://acme-duo/duo-activity/', '_state/duo-activity.json', true],
      ['trust_monitor', 'DUO_TRUST_MONITOR', 'gs://acme-duo/tm/', '_state/tm.json', false],
      ['administrator', 'DUO_ADMIN', 'gs://acme-duo/duo-administrator/', '_state/duo-administrator.json', true],
    ]);
    for (const f of feeds) expect(f.logType).toBe(STREAMS[f.stream].logType);
    expect(feeds.find((f) => f.stream === 'authentication')?.logTypeText).toBe('Duo Auth (DUO_AUTH)');
  });
});
