/** The pure deploy planner: order, idempotency, least privilege, and no secret in any command. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { secretDigest } from '../../../src/deploy/observe.js';
import {
  EMPTY_PROJECT,
  feedSettings,
  functionDrift,
  functionEnv,
  memoryBytes,
  planDeploy,
  planNotes,
  REQUIRED_APIS,
  requiredApis,
  SOURCE_LABEL,
  type DeploySettings,
  type Observed,
} from '../../../src/deploy/plan.js';
import { parseEnvVarsFlag } from '../../../src/deploy/feeds.js';
import { type AlertPolicy, type LogMetricConfig } from '../../../src/deploy/monitoring.js';
import { DEFAULT_STREAM_PREFIXES, deployed, deploySettings, TEST_SKEY } from '../../support/deploy-settings.js';

const SKEY = TEST_SKEY;
const settings = deploySettings;

describe('planDeploy', () => {
  it('creates everything on an empty project, in dependency order', () => {
    const steps = planDeploy(settings(), EMPTY_PROJECT);
    expect(steps.map((s) => s.id)).toEqual([
      'apis',
      'bucket',
      'service-account',
      'bucket-collector-role',
      'secret',
      'secret-version',
      'secret-accessor-role',
      'topic',
      'function',
      'function-invoker-role',
      'job',
      'bucket-secops-role',
    ]);
    expect(steps.every((s) => s.argv.at(-1) === '--quiet')).toBe(true);
    expect(steps.every((s) => s.argv.includes('--project=acme-prod'))).toBe(true);
    expect(steps.every((s) => s.check !== undefined && s.check.includes('--format=json'))).toBe(true);
    expect(steps[0]!.argv).toEqual(['services', 'enable', ...REQUIRED_APIS, '--project=acme-prod', '--quiet']);
  });

  it('deploys the function as the guide asks, from the staged folder, labelled with its hash', () => {
    const fn = planDeploy(settings(), EMPTY_PROJECT).find((s) => s.id === 'function')!;
    expect(fn.argv).toEqual([
      'functions',
      'deploy',
      'duo-secops-collector',
      '--gen2',
      '--project=acme-prod',
      '--region=europe-west1',
      '--runtime=nodejs22',
      '--entry-point=main',
      '--source=/tmp/duo-secops-function-0123',
      '--trigger-topic=duo-secops-collector-trigger',
      '--trigger-service-account=duo-telephony-collector-sa@acme-prod.iam.gserviceaccount.com',
      '--service-account=duo-telephony-collector-sa@acme-prod.iam.gserviceaccount.com',
      '--memory=512Mi',
      '--timeout=600s',
      '--max-instances=1',
      '--ingress-settings=internal-only',
      '--set-env-vars=GCS_BUCKET=acme-duo,GCS_PREFIX=duo-telephony,DUO_LOGS=telephony,DUO_IKEY=DIXXXXXXXXXXXXXXXXXX,DUO_API_HOST=api-12345678.duosecurity.com,' +
        'DUO_SKEY_SECRET=projects/acme-prod/secrets/duo-secops-skey/versions/latest,RUN_BUDGET_SECONDS=540',
      `--update-labels=${SOURCE_LABEL}=${'ab'.repeat(16)}`,
      '--quiet',
    ]);
  });

  it('plans nothing when everything is present and unchanged', () => {
    const s = settings();
    expect(planDeploy(s, deployed(s))).toEqual([]);
    // Without DUO_SKEY (and so without a stored hash to compare) nothing changes either.
    const noKey = settings({ skeySha256: undefined });
    const o = deployed(noKey);
    expect(planDeploy(noKey, { ...o, secret: { exists: true, policy: o.secret.exists ? o.secret.policy : {}, latest: { sha256: undefined } } })).toEqual([]);
  });

  it('one function collects every selected stream: its environment names them and their prefixes, escaped for gcloud', () => {
    const all = settings({ logs: ['telephony', 'authentication', 'activity', 'trust_monitor', 'administrator'], streamPrefixes: { ...DEFAULT_STREAM_PREFIXES, activity: 'logs/activity' } });
    const steps = planDeploy(all, EMPTY_PROJECT);
    expect(steps.filter((x) => x.id === 'function')).toHaveLength(1);
    expect(steps.filter((x) => x.id === 'job')).toHaveLength(1);
    expect(steps.filter((x) => x.id === 'topic')).toHaveLength(1);
    const envFlag = steps.find((x) => x.id === 'function')!.argv.find((a) => a.startsWith('--set-env-vars='))!;
    expect(envFlag).toBe(
      '--set-env-vars=^;^GCS_BUCKET=acme-duo;GCS_PREFIX=duo-telephony;GCS_PREFIX_AUTHENTICATION=duo-authentication;GCS_PREFIX_ACTIVITY=logs/activity;' +
        'GCS_PREFIX_TRUST_MONITOR=duo-trust-monitor;GCS_PREFIX_ADMINISTRATOR=duo-administrator;DUO_LOGS=telephony,authentication,activity,trust_monitor,administrator;' +
        'DUO_IKEY=DIXXXXXXXXXXXXXXXXXX;DUO_API_HOST=api-12345678.duosecurity.com;DUO_SKEY_SECRET=projects/acme-prod/secrets/duo-secops-skey/versions/latest;RUN_BUDGET_SECONDS=540',
    );
    expect(parseEnvVarsFlag(envFlag.slice('--set-env-vars='.length))).toEqual(functionEnv(all));
    // Without telephony, GCS_PREFIX is not set: only the selected streams' prefixes reach the function.
    expect(Object.keys(functionEnv(settings({ logs: ['authentication'] })))).toEqual(['GCS_BUCKET', 'GCS_PREFIX_AUTHENTICATION', 'DUO_LOGS', 'DUO_IKEY', 'DUO_API_HOST', 'DUO_SKEY_SECRET', 'RUN_BUDGET_SECONDS']);
  });

  it('another stream selection, or a moved stream, redeploys only the function', () => {
    const before = settings();
    const o = deployed(before);
    const table: Array<[Partial<DeploySettings>, string]> = [
      [{ logs: ['telephony', 'authentication'] }, 'environment GCS_PREFIX_AUTHENTICATION, DUO_LOGS'],
      [{ logs: ['authentication'] }, 'environment GCS_PREFIX_AUTHENTICATION, DUO_LOGS'],
      [{ prefix: 'logs/telephony' }, 'environment GCS_PREFIX'],
    ];
    for (const [over, why] of table) {
      const steps = planDeploy(settings(over), o);
      expect(steps.map((x) => x.id), JSON.stringify(over)).toEqual(['function']);
      expect(steps[0]!.description).toBe(`redeploy the function duo-secops-collector: ${why}`);
    }
    // A prefix of a stream that is not selected changes nothing.
    expect(planDeploy(settings({ streamPrefixes: { ...DEFAULT_STREAM_PREFIXES, activity: 'elsewhere' } }), o)).toEqual([]);
  });

  it('a changed schedule updates only the job', () => {
    const before = settings();
    const after = settings({ schedule: '0 * * * *' });
    const steps = planDeploy(after, deployed(before));
    expect(steps.map((s) => s.id)).toEqual(['job']);
    expect(steps[0]!.argv.slice(0, 5)).toEqual(['scheduler', 'jobs', 'update', 'pubsub', 'duo-secops-collector']);
    expect(steps[0]!.argv).toContain('--schedule=0 * * * *');
    expect(steps[0]!.description).toContain('schedule */15 * * * * -> 0 * * * *');
  });

  it('a changed key adds a secret version, fed on stdin, and rolls the function onto it', () => {
    const before = settings();
    const after = settings({ skeySha256: secretDigest('another-key') });
    const steps = planDeploy(after, deployed(before));
    expect(steps).toEqual([
      expect.objectContaining({ id: 'secret-version', stdin: 'skey', argv: ['secrets', 'versions', 'add', 'duo-secops-skey', '--project=acme-prod', '--data-file=-', '--quiet'] }),
      expect.objectContaining({ id: 'function', description: 'redeploy the function duo-secops-collector: the secret key changed (new instances read the new version)' }),
    ]);
    // A secret that had no usable version gets its first one; the function is not redeployed for it.
    const o = deployed(before);
    const firstVersion = planDeploy(before, { ...o, secret: { exists: true, policy: o.secret.exists ? o.secret.policy : {}, latest: undefined } });
    expect(firstVersion.map((x) => x.id)).toEqual(['secret-version']);
  });

  it('redeploys the function only for what matters, and says why', () => {
    const s = settings();
    const o = deployed(s);
    if (!o.fn.exists) throw new Error('unreachable');
    expect(functionDrift(s, o.fn)).toEqual([]);
    expect(functionDrift(s, { ...o.fn, availableMemory: '536870912' })).toEqual([]);
    expect(functionDrift(s, { ...o.fn, environmentVariables: { ...o.fn.environmentVariables, OTHER: 'x' } })).toEqual([]);
    expect(functionDrift(settings({ source: { dir: '/x', hash: 'cd'.repeat(32) } }), o.fn)).toEqual(['the source changed']);
    expect(functionDrift(settings({ ikey: 'DINEW' }), o.fn)).toEqual(['environment DUO_IKEY']);
    expect(functionDrift(s, { ...o.fn, state: 'FAILED', availableMemory: '256M', timeoutSeconds: 60 })).toEqual([
      'its state is FAILED',
      'memory 256M -> 512Mi',
      'timeout 60 s -> 600 s',
    ]);
    const steps = planDeploy(settings({ apiHost: 'api-00000000.duosecurity.com' }), o);
    expect(steps.map((x) => x.id)).toEqual(['function']);
    expect(steps[0]!.description).toBe('redeploy the function duo-secops-collector: environment DUO_API_HOST');
  });

  it('adds only the missing bindings; re-creates only the missing resources', () => {
    const s = settings();
    const o = deployed(s);
    const noRoles: Observed = {
      ...o,
      bucket: { exists: true, uniformAccess: true, policy: {} },
      fn: o.fn.exists ? { ...o.fn, invokerPolicy: {} } : o.fn,
      topic: { exists: false },
    };
    expect(planDeploy(s, noRoles).map((x) => x.id)).toEqual(['bucket-collector-role', 'topic', 'function-invoker-role', 'bucket-secops-role']);
    const apis: Observed = { ...o, enabledApis: ['storage.googleapis.com', 'run.googleapis.com'] };
    const step = planDeploy(s, apis)[0]!;
    expect(step.description).toBe('enable 8 missing APIs the collector needs');
    expect(step.argv).not.toContain('storage.googleapis.com');
  });

  it('grants on the bucket, the secret and the function service only, never on the project', () => {
    const steps = planDeploy(settings(), EMPTY_PROJECT);
    const grants = steps.filter((s) => s.argv.includes('add-iam-policy-binding'));
    expect(grants.map((g) => g.argv.filter((a) => !a.startsWith('--')).join(' '))).toEqual([
      'storage buckets add-iam-policy-binding gs://acme-duo',
      'secrets add-iam-policy-binding duo-secops-skey',
      'run services add-iam-policy-binding duo-secops-collector',
      'storage buckets add-iam-policy-binding gs://acme-duo',
    ]);
    expect(grants.map((g) => g.argv.find((a) => a.startsWith('--role=')))).toEqual([
      '--role=roles/storage.objectUser',
      '--role=roles/secretmanager.secretAccessor',
      '--role=roles/run.invoker',
      '--role=roles/storage.objectViewer',
    ]);
    expect(steps.some((s) => ['projects', 'organizations', 'resource-manager'].includes(s.argv[0] ?? ''))).toBe(false);
    expect(steps.some((s) => s.argv.some((a) => /roles\/(owner|editor|storage\.admin|storage\.objectAdmin)$/.test(a)))).toBe(false);
  });

  it('never puts the secret key in a command: only its digest is known to the planner', () => {
    const steps = planDeploy(settings(), EMPTY_PROJECT);
    const text = JSON.stringify(steps);
    expect(text).not.toContain(SKEY);
    expect(text).not.toContain(secretDigest(SKEY));
    expect(steps.filter((s) => s.stdin === 'skey').map((s) => s.argv.includes('--data-file=-'))).toEqual([true]);
  });

  it('without --secops-service-account there is no reader grant, and the feed text says how to get one', () => {
    const s = settings({ secopsServiceAccount: undefined });
    expect(planDeploy(s, EMPTY_PROJECT).some((x) => x.id === 'bucket-secops-role')).toBe(false);
    expect(feedSettings(s).join('\n')).toContain('Get Service Account');
  });

  it('refuses, listing every reason, what no step can fix', () => {
    const s = settings({ skeySha256: undefined });
    const gen1: Observed = { ...deployed(s), secret: { exists: true, policy: {}, latest: undefined } };
    if (gen1.fn.exists) gen1.fn = { ...gen1.fn, environment: 'GEN_1' };
    let err: unknown;
    try {
      planDeploy(s, gen1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([
      expect.stringContaining('DUO_SKEY: required: the secret duo-secops-skey has no enabled latest version'),
      expect.stringContaining('--name: a 1st gen function duo-secops-collector exists'),
    ]);
    expect(() => planDeploy(s, EMPTY_PROJECT)).toThrow(/DUO_SKEY: required: the secret duo-secops-skey does not exist yet/);
  });

  it('refuses a region the project does not offer, before any step', () => {
    const s = settings({ region: 'europe-west9' });
    expect(() => planDeploy(s, { ...deployed(s), regions: ['europe-west1', 'us-central1'] })).toThrow(
      /--region: europe-west9 is not a region where Cloud Run functions can run for this project .*closest: europe-west1/,
    );
    // Unknown to the project's list only counts when the list was read.
    expect(planDeploy(s, { ...EMPTY_PROJECT }).length).toBeGreaterThan(0);
  });
});

describe('plan details', () => {
  it('feed settings name the source type, log type, URI with prefix, and the checkpoint outside it', () => {
    const text = feedSettings(settings({ prefix: 'logs/duo' })).join('\n');
    expect(text).toContain('Google Cloud Storage V2');
    expect(text).toContain('DUO_TELEPHONY');
    expect(text).toContain('gs://acme-duo/logs/duo/');
    expect(text).toContain('gs://acme-duo/_state/logs_duo.json lies outside');
    expect(text).toContain('Source deletion option: Never');
  });

  it('feed settings: one feed per selected stream, each with its log type, URL and checkpoint; trust monitor needs a parser', () => {
    const all = settings({ logs: ['telephony', 'authentication', 'activity', 'trust_monitor', 'administrator'] });
    const lines = feedSettings(all);
    expect(lines.filter((l) => l.includes('Source type:'))).toHaveLength(5);
    expect(lines.filter((l) => l.includes('Source deletion option: Never'))).toHaveLength(5);
    expect(lines.filter((l) => l.includes('Log type:')).map((l) => l.trim())).toEqual([
      'Log type:               Duo Telephony (DUO_TELEPHONY)',
      'Log type:               Duo Auth (DUO_AUTH)',
      'Log type:               Duo Activity (DUO_ACTIVITY)',
      'Log type:               Duo Trust Monitor (DUO_TRUST_MONITOR)',
      'Log type:               Duo Admin (DUO_ADMIN)',
    ]);
    expect(lines.filter((l) => l.includes('Storage bucket URL:')).map((l) => l.split(/\s+/).pop())).toEqual([
      'gs://acme-duo/duo-telephony/',
      'gs://acme-duo/duo-authentication/',
      'gs://acme-duo/duo-activity/',
      'gs://acme-duo/duo-trust-monitor/',
      'gs://acme-duo/duo-administrator/',
    ]);
    const parser = lines.filter((l) => l.includes('Parser:'));
    expect(parser).toEqual([expect.stringContaining('SecOps has no default parser for DUO_TRUST_MONITOR')]);
    expect(lines).toContainEqual(expect.stringContaining('Duo is retiring the administrator log (DUO_ADMIN) in favour of the activity log (DUO_ACTIVITY); that one is collected too'));
    expect(feedSettings(settings({ logs: ['administrator'] }))).toContainEqual(expect.stringContaining('in favour of the activity log (DUO_ACTIVITY); add activity to --logs'));
    expect(lines).toContainEqual(expect.stringContaining('gs://acme-duo/_state/duo-trust-monitor.json lies outside'));
    expect(lines).toContainEqual(expect.stringContaining('"Grant read log"'));
  });

  it('notes what deploy leaves alone on purpose', () => {
    const s = settings({ skeySha256: undefined });
    const o = deployed(s);
    const notes = planNotes(s, {
      ...o,
      bucket: { exists: true, uniformAccess: false, policy: {} },
      job: o.job.exists ? { ...o.job, state: 'PAUSED' } : o.job,
    });
    expect(notes).toEqual([
      expect.stringContaining('fine-grained access'),
      expect.stringContaining('is PAUSED: resume it with gcloud scheduler jobs resume duo-secops-collector --location=europe-west1'),
      expect.stringContaining('DUO_SKEY not set'),
    ]);
  });

  it('compares memory in bytes whatever the unit', () => {
    expect(memoryBytes('512Mi')).toBe(536870912);
    expect(memoryBytes('536870912')).toBe(536870912);
    expect(memoryBytes('0.5Gi')).toBe(536870912);
    expect(memoryBytes('512M')).toBe(512e6);
    expect(memoryBytes('lots')).toBeUndefined();
  });
});

describe('--verify-daily and --alert-channel', () => {
  const CHANNEL = 'projects/acme-prod/notificationChannels/123';
  const withAll = (over: Partial<DeploySettings> = {}): DeploySettings => settings({ verifyDaily: { repair: false }, alerts: { channel: CHANNEL, lagMinutes: 120 }, ...over });
  const policyOf = (step: { argv: string[] }): AlertPolicy => JSON.parse(step.argv.find((a) => a.startsWith('--policy='))!.slice('--policy='.length)) as AlertPolicy;

  it('adds nothing without the flags: no verify job, no metric, no policy, no Logging or Monitoring API', () => {
    const steps = planDeploy(settings(), EMPTY_PROJECT);
    expect(steps.some((x) => ['verify-job', 'log-metric', 'alert-policy'].includes(x.id))).toBe(false);
    expect(JSON.stringify(steps)).not.toMatch(/logging|monitoring|-verify|"verify"/);
    expect(requiredApis(settings())).toEqual([...REQUIRED_APIS]);
  });

  it('--verify-daily: a second job on the same topic, 30 3 * * * UTC, asking to verify yesterday without repair', () => {
    const steps = planDeploy(settings({ verifyDaily: { repair: false } }), EMPTY_PROJECT);
    const ids = steps.map((x) => x.id);
    expect(ids.indexOf('verify-job')).toBe(ids.indexOf('job') + 1);
    expect(steps.find((x) => x.id === 'verify-job')!.argv).toEqual([
      'scheduler',
      'jobs',
      'create',
      'pubsub',
      'duo-secops-collector-verify',
      '--project=acme-prod',
      '--location=europe-west1',
      '--schedule=30 3 * * *',
      '--time-zone=Etc/UTC',
      '--topic=duo-secops-collector-trigger',
      '--message-body={"verify":"yesterday","repair":false}',
      '--quiet',
    ]);
    const repair = planDeploy(settings({ verifyDaily: { repair: true }, job: 'other-job' }), EMPTY_PROJECT).find((x) => x.id === 'verify-job')!;
    expect(repair.argv).toContain('--message-body={"verify":"yesterday","repair":true}');
    expect(repair.argv).toContain('other-job-verify');
    expect(repair.description).toContain('and repair it');
  });

  it('--verify-daily: created once; a changed --verify-repair or topic updates only that job', () => {
    const s = settings({ verifyDaily: { repair: false } });
    expect(planDeploy(s, deployed(s))).toEqual([]);
    const steps = planDeploy(settings({ verifyDaily: { repair: true } }), deployed(s));
    expect(steps.map((x) => x.id)).toEqual(['verify-job']);
    expect(steps[0]!.argv.slice(0, 5)).toEqual(['scheduler', 'jobs', 'update', 'pubsub', 'duo-secops-collector-verify']);
    expect(steps[0]!.description).toBe('update the Cloud Scheduler job duo-secops-collector-verify: message body -> {"verify":"yesterday","repair":true}');
  });

  it('--alert-channel: enables Logging and Monitoring, then three metrics and three policies, after everything else', () => {
    const steps = planDeploy(withAll(), EMPTY_PROJECT);
    expect(steps[0]!.argv).toEqual(expect.arrayContaining(['logging.googleapis.com', 'monitoring.googleapis.com']));
    expect(steps.map((x) => x.id).slice(-8)).toEqual(['verify-job', 'bucket-secops-role', 'log-metric', 'log-metric', 'log-metric', 'alert-policy', 'alert-policy', 'alert-policy']);
    const metrics = steps.filter((x) => x.id === 'log-metric');
    expect(metrics.map((m) => m.argv)).toEqual(
      ['duo_secops_run_failed', 'duo_secops_verify_gaps', 'duo_secops_lag_ms'].map((n) => ['logging', 'metrics', 'create', n, '--project=acme-prod', '--config-from-file=-', '--quiet']),
    );
    const configs = metrics.map((m) => JSON.parse(m.input!) as LogMetricConfig);
    const base = 'resource.type="cloud_run_revision" AND resource.labels.service_name="duo-secops-collector"';
    expect(configs.map((c) => c.filter)).toEqual([
      `${base} AND (jsonPayload.event="function.failed" OR jsonPayload.event="stream.failed" OR jsonPayload.event="work.refused")`,
      `${base} AND jsonPayload.event="verify.finished" AND jsonPayload.clean=false`,
      `${base} AND jsonPayload.event="run.finished"`,
    ]);
    expect(configs.map((c) => c.metricDescriptor.valueType)).toEqual(['INT64', 'INT64', 'DISTRIBUTION']);
    expect(configs[1]!.labelExtractors).toEqual({ stream: 'EXTRACT(jsonPayload.stream)' });
    expect(configs[2]).toMatchObject({ valueExtractor: 'EXTRACT(jsonPayload.lagMs)', labelExtractors: { stream: 'EXTRACT(jsonPayload.stream)' } });
    expect(configs[0]!.labelExtractors).toBeUndefined();

    const policies = steps.filter((x) => x.id === 'alert-policy');
    for (const p of policies) expect(p.argv.slice(0, 5)).toEqual(['alpha', 'monitoring', 'policies', 'create', '--project=acme-prod']);
    const bodies = policies.map(policyOf);
    expect(bodies.map((b) => b.notificationChannels)).toEqual([[CHANNEL], [CHANNEL], [CHANNEL]]);
    expect(bodies.map((b) => b.conditions[0]!.conditionThreshold.filter)).toEqual(
      ['duo_secops_run_failed', 'duo_secops_verify_gaps', 'duo_secops_lag_ms'].map((n) => `resource.type="cloud_run_revision" AND metric.type="logging.googleapis.com/user/${n}"`),
    );
    expect(bodies.map((b) => b.conditions[0]!.conditionThreshold.thresholdValue)).toEqual([0, 0, 120 * 60_000]);
    expect(bodies[0]!.conditions[0]!.conditionThreshold.aggregations[0]).toMatchObject({ alignmentPeriod: '600s', perSeriesAligner: 'ALIGN_SUM' });
    expect(bodies.map((b) => b.displayName)).toEqual([
      'duo-secops duo-secops-collector: a run failed',
      'duo-secops duo-secops-collector: verify found gaps',
      'duo-secops duo-secops-collector: collection lags behind',
    ]);
  });

  it('--lag-alert-minutes sets the lag threshold, in ms', () => {
    const lag = planDeploy(withAll({ alerts: { channel: CHANNEL, lagMinutes: 45 } }), EMPTY_PROJECT).filter((x) => x.id === 'alert-policy').map(policyOf)[2]!;
    expect(lag.conditions[0]!.conditionThreshold).toMatchObject({ comparison: 'COMPARISON_GT', thresholdValue: 2_700_000 });
    expect(lag.conditions[0]!.displayName).toBe('lag above 45 minutes');
  });

  it('--alert-channel: nothing to do a second time; a new threshold or channel updates the policies in place; a changed metric is updated', () => {
    const s = withAll();
    const o = deployed(s);
    expect(planDeploy(s, o)).toEqual([]);
    const lag = planDeploy(withAll({ alerts: { channel: CHANNEL, lagMinutes: 60 } }), o);
    expect(lag.map((x) => x.id)).toEqual(['alert-policy']);
    expect(lag[0]!.argv.slice(0, 6)).toEqual(['alpha', 'monitoring', 'policies', 'update', 'projects/acme-prod/alertPolicies/102', '--project=acme-prod']);
    expect(policyOf(lag[0]!).conditions[0]!.conditionThreshold.thresholdValue).toBe(3_600_000);
    const channel = planDeploy(withAll({ alerts: { channel: 'projects/acme-prod/notificationChannels/9', lagMinutes: 120 } }), o);
    expect(channel.map((x) => x.argv[3])).toEqual(['update', 'update', 'update']);
    const drifted: Observed = { ...o, metrics: { ...o.metrics, duo_secops_lag_ms: { ...o.metrics.duo_secops_lag_ms!, valueExtractor: 'EXTRACT(jsonPayload.lag)' } } };
    const metric = planDeploy(s, drifted);
    expect(metric.map((x) => [x.id, x.argv[2], x.argv[3]])).toEqual([['log-metric', 'update', 'duo_secops_lag_ms']]);
    expect(metric[0]!.description).toBe('update the log-based metric duo_secops_lag_ms: value extractor');
  });

  it("finds its policies by display name, and ignores other deployments' and other people's", () => {
    const s = withAll();
    const o = deployed(s);
    const other = deployed(withAll({ functionName: 'duo-eu' }));
    const steps = planDeploy(s, { ...o, policies: other.policies });
    expect(steps.map((x) => `${x.id} ${x.argv[3]}`)).toEqual(['alert-policy create', 'alert-policy create', 'alert-policy create']);
  });
});
