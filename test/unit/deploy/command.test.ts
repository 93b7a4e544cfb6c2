/** Deploy's flags and environment: defaults, derived names, and every problem listed at once. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { resolveDeployInput, type DeployFlags } from '../../../src/entry/commands/deploy.js';
import { formatCommand, shellQuote } from '../../../src/deploy/format.js';
import { secretDigest } from '../../../src/deploy/observe.js';

const ENV = { DUO_IKEY: 'DIWJ8X6AEYOR5OMC6TQ1', DUO_API_HOST: 'api-1a2b3c4d.duosecurity.com' };
const FLAGS = { project: 'acme-prod', region: 'us-central1', bucket: 'acme-duo' };

function problems(flags: DeployFlags, env: NodeJS.ProcessEnv): string[] {
  try {
    resolveDeployInput(flags, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('resolveDeployInput', () => {
  it('fills the defaults, derives topic and job from --name, and keeps the guide\'s service account whatever --name is', () => {
    expect(resolveDeployInput(FLAGS, ENV)).toEqual({
      project: 'acme-prod',
      region: 'us-central1',
      bucket: 'acme-duo',
      logs: ['telephony'],
      prefix: 'duo-telephony',
      streamPrefixes: { authentication: 'duo-authentication', activity: 'duo-activity', trust_monitor: 'duo-trust-monitor', administrator: 'duo-administrator' },
      schedule: '*/15 * * * *',
      timeZone: 'Etc/UTC',
      functionName: 'duo-secops-collector',
      serviceAccountName: 'duo-telephony-collector-sa',
      secretName: 'duo-secops-skey',
      topic: 'duo-secops-collector-trigger',
      job: 'duo-secops-collector',
      secopsServiceAccount: undefined,
      ikey: 'DIWJ8X6AEYOR5OMC6TQ1',
      apiHost: 'api-1a2b3c4d.duosecurity.com',
      skeySha256: undefined,
      guideCollector: 'stop',
      verifyDaily: undefined,
      alerts: undefined,
    });
    const named = resolveDeployInput({ ...FLAGS, name: 'duo-eu', prefix: '/logs/duo/' }, { ...ENV, DUO_SKEY: ' k \n' });
    expect(named).toMatchObject({ functionName: 'duo-eu', serviceAccountName: 'duo-telephony-collector-sa', topic: 'duo-eu-trigger', job: 'duo-eu', prefix: 'logs/duo', skeySha256: secretDigest('k') });
    expect(resolveDeployInput({ ...FLAGS, name: 'duo-eu', serviceAccountName: 'duo-eu-sa' }, ENV).serviceAccountName).toBe('duo-eu-sa');
  });

  it("takes one choice about Google's guide collector: stop (default), pause or keep", () => {
    expect(resolveDeployInput({ ...FLAGS, pauseGuideJob: true }, ENV).guideCollector).toBe('pause');
    expect(resolveDeployInput({ ...FLAGS, keepGuideCollector: true }, ENV).guideCollector).toBe('keep');
    expect(problems({ ...FLAGS, pauseGuideJob: true, keepGuideCollector: true }, ENV)).toEqual([expect.stringContaining('--pause-guide-job and --keep-guide-collector exclude each other')]);
  });

  it('takes the bucket and prefix from GCS_BUCKET / GCS_PREFIX, flags first', () => {
    expect(resolveDeployInput({ project: 'acme-prod', region: 'us-central1' }, { ...ENV, GCS_BUCKET: 'from-env', GCS_PREFIX: 'p' })).toMatchObject({ bucket: 'from-env', prefix: 'p' });
    expect(resolveDeployInput({ ...FLAGS, prefix: 'flag' }, { ...ENV, GCS_PREFIX: 'env' }).prefix).toBe('flag');
  });

  it('takes the streams from --logs or DUO_LOGS, and each prefix from its flag or GCS_PREFIX_<STREAM>, flags first', () => {
    expect(resolveDeployInput({ ...FLAGS, logs: 'activity, telephony' }, ENV).logs).toEqual(['telephony', 'activity']);
    expect(resolveDeployInput(FLAGS, { ...ENV, DUO_LOGS: 'trust-monitor,authentication' }).logs).toEqual(['authentication', 'trust_monitor']);
    expect(resolveDeployInput({ ...FLAGS, logs: 'activity' }, { ...ENV, DUO_LOGS: 'authentication' }).logs).toEqual(['activity']);
    const placed = resolveDeployInput(
      { ...FLAGS, logs: 'telephony,authentication,activity,trust_monitor', prefixAuthentication: '/auth/', prefixTrustMonitor: 'tm' },
      { ...ENV, GCS_PREFIX_AUTHENTICATION: 'env-auth', GCS_PREFIX_ACTIVITY: 'logs/activity' },
    );
    expect(placed.streamPrefixes).toEqual({ authentication: 'auth', activity: 'logs/activity', trust_monitor: 'tm', administrator: 'duo-administrator' });
  });

  it('refuses streams and prefixes that cannot work, one line each', () => {
    const table: Array<[DeployFlags, NodeJS.ProcessEnv, string[]]> = [
      [{ logs: 'telephony,users' }, {}, ['--logs / DUO_LOGS: users is not a Duo log stream: choose from telephony, authentication, activity, trust_monitor, administrator']],
      [{ logs: ' , ' }, {}, [expect.stringContaining('--logs / DUO_LOGS: must name at least one of')]],
      [{ logs: 'telephony,authentication', prefixAuthentication: 'duo-telephony' }, {}, [expect.stringMatching(/^GCS_PREFIX_AUTHENTICATION: duo-telephony overlaps GCS_PREFIX .*duo-telephony of the telephony log/)]],
      [{ logs: 'telephony,activity' }, { GCS_PREFIX_ACTIVITY: 'duo-telephony/activity' }, [expect.stringContaining('overlaps')]],
      [{ logs: 'activity', prefixActivity: '_state' }, {}, ['--prefix-activity / GCS_PREFIX_ACTIVITY: _state would hold the checkpoint _state/_state.json, which the feed must not read: choose another prefix']],
      [{ logs: 'activity', prefixActivity: 'a,b' }, {}, [expect.stringContaining('--prefix-activity / GCS_PREFIX_ACTIVITY: must be folder names')]],
      [{ logs: 'telephony', prefixActivity: 'act' }, {}, ['--prefix-activity: the activity log is not selected: add it to --logs / DUO_LOGS, or drop the flag']],
      [{ logs: 'activity', prefix: 'tel' }, {}, ['--prefix: the telephony log is not selected: add it to --logs / DUO_LOGS, or drop the flag']],
      // A variable of a stream that is not selected is left alone: the shell may hold it for another use.
      [{ logs: 'telephony' }, { GCS_PREFIX_ACTIVITY: 'a,b' }, []],
    ];
    for (const [flags, env, expected] of table) expect(problems({ ...FLAGS, ...flags }, { ...ENV, ...env }), JSON.stringify(flags)).toEqual(expected);
  });

  it('lists every problem at once', () => {
    expect(problems({ project: '123456789', region: 'central', bucket: 'Bad_Bucket!', prefix: '_state', schedule: '61 * * * *', name: 'x'.repeat(60), serviceAccountName: 'sa' }, {})).toEqual([
      '--project: must be a project ID (6-30 lower-case letters, digits and -), not its name or number',
      '--region: must be a region such as us-central1 or europe-west1',
      '--bucket: must be a bucket name: 3-63 lower-case letters, digits, - _ .',
      '--prefix: _state would hold the checkpoint _state/_state.json, which the feed must not read: choose another prefix',
      expect.stringContaining('--schedule: "61 * * * *": '),
      '--name: must be 1-49 lower-case letters, digits and -, starting with a letter',
      '--service-account-name: must be 6-30 lower-case letters, digits and -, starting with a letter',
      "DUO_IKEY / --ikey: required (the Admin API application's integration key)",
      'DUO_API_HOST / --api-host: required (the API hostname, api-xxxxxxxx.duosecurity.com)',
    ]);
  });

  it('refuses values that would break the function environment or the feed', () => {
    expect(problems({ ...FLAGS, prefix: 'a,b' }, ENV)).toEqual([expect.stringContaining('--prefix: must be folder names')]);
    expect(problems({ ...FLAGS, prefix: 'a/../b' }, ENV)).toEqual([expect.stringContaining('--prefix: must be folder names')]);
    expect(problems({ ...FLAGS, prefix: 'logs\\duo' }, ENV)).toEqual([expect.stringContaining('backslashes')]);
    expect(problems({ ...FLAGS, schedule: '@hourly' }, ENV)).toEqual([expect.stringContaining('5-field unix cron')]);
    expect(problems({ ...FLAGS, secopsServiceAccount: 'me@example.com' }, ENV)).toEqual([expect.stringContaining('--secops-service-account')]);
    expect(problems(FLAGS, { ...ENV, DUO_SKEY: '   ' })).toEqual(['DUO_SKEY: is only white space']);
  });
});

describe('--verify-daily and --alert-channel', () => {
  const CHANNEL = 'projects/acme-prod/notificationChannels/1234567890';

  it('are off by default; --verify-repair makes the daily verify repair; the lag threshold defaults to 120 minutes', () => {
    expect(resolveDeployInput(FLAGS, ENV)).toMatchObject({ verifyDaily: undefined, alerts: undefined });
    expect(resolveDeployInput({ ...FLAGS, verifyDaily: true }, ENV).verifyDaily).toEqual({ repair: false });
    expect(resolveDeployInput({ ...FLAGS, verifyDaily: true, verifyRepair: true }, ENV).verifyDaily).toEqual({ repair: true });
    expect(resolveDeployInput({ ...FLAGS, alertChannel: CHANNEL }, ENV).alerts).toEqual({ channel: CHANNEL, lagMinutes: 120 });
    expect(resolveDeployInput({ ...FLAGS, alertChannel: CHANNEL, lagAlertMinutes: '45' }, ENV).alerts).toEqual({ channel: CHANNEL, lagMinutes: 45 });
  });

  it('refuses what cannot work, one line each', () => {
    expect(problems({ ...FLAGS, verifyRepair: true }, ENV)).toEqual([expect.stringContaining('--verify-repair: only with --verify-daily')]);
    expect(problems({ ...FLAGS, lagAlertMinutes: '60' }, ENV)).toEqual([expect.stringContaining('--lag-alert-minutes: only with --alert-channel')]);
    expect(problems({ ...FLAGS, alertChannel: 'my-email-channel' }, ENV)).toEqual([expect.stringContaining('--alert-channel: must be a notification channel as projects/PROJECT/notificationChannels/ID')]);
    expect(problems({ ...FLAGS, alertChannel: 'projects/other-project/notificationChannels/1' }, ENV)).toEqual([expect.stringContaining('must be a channel of --project acme-prod')]);
    for (const bad of ['0', '1.5', 'two', '-3']) {
      expect(problems({ ...FLAGS, alertChannel: CHANNEL, lagAlertMinutes: bad }, ENV), bad).toEqual([expect.stringContaining('--lag-alert-minutes:')]);
    }
  });
});

describe('format', () => {
  it('quotes only what a shell would split or expand', () => {
    expect(shellQuote('--project=acme-prod')).toBe('--project=acme-prod');
    expect(shellQuote('--schedule=*/15 * * * *')).toBe(`'--schedule=*/15 * * * *'`);
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(formatCommand(['pubsub', 'topics', 'create', 't', '--message-body={}'])).toBe(`gcloud pubsub topics create t '--message-body={}'`);
  });
});
