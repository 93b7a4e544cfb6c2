import { describe, expect, it } from 'vitest';
import { loadConfig, configWarnings, defaultStateKey } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';

const duo = { DUO_IKEY: 'DIXXXXXXXXXXXXXXXXXX', DUO_SKEY: 'not-a-real-secret-key-0123456789abcdef', DUO_API_HOST: 'api-12345678.duosecurity.com' };

describe('loadConfig', () => {
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
      requestsPerMinute: 30,
      runBudgetSeconds: 540,
      enrich: true,
      logLevel: 'info',
      apiUrl: 'https://api-12345678.duosecurity.com',
      bucket: undefined,
    });
  });

  it('lets flags win over the environment', () => {
    const c = loadConfig({ ...duo, GCS_PREFIX: 'env', PAGE_LIMIT: '10' }, { prefix: 'flag/', pageLimit: '20' });
    expect(c.prefix).toBe('flag');
    expect(c.pageLimit).toBe(20);
    expect(c.stateKey).toBe(defaultStateKey('flag'));
  });

  it('keeps the guide variable names and their meaning', () => {
    const c = loadConfig({ ...duo, GCS_BUCKET: 'duo-telephony-logs', GCS_PREFIX: 'duo-telephony', STATE_KEY: 'duo-telephony/state.json', MAX_ITERATIONS: '10' });
    expect(c.bucket).toBe('duo-telephony-logs');
    expect(c.maxPages).toBe(10);
    expect(c.stateKey).toBe('duo-telephony/state.json');
    expect(configWarnings(c).join('\n')).toMatch(/under the data prefix/);
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

  it('refuses the secret key as a flag', () => {
    expect(() => loadConfig(duo, { skey: 'x' })).toThrow(/cannot be given as a flag/);
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
});
