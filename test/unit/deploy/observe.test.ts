/** Reading gcloud's JSON into what the planner needs, and which probes run when. */
import { describe, expect, it } from 'vitest';
import {
  observe,
  parseBucketUniformAccess,
  parseEnabledApis,
  parseFunction,
  parseJob,
  parsePolicy,
  parseSecretPayloadDigest,
  secretDigest,
  type ProbeResult,
} from '../../../src/deploy/observe.js';
import { REQUIRED_APIS, type ProbeKey } from '../../../src/deploy/plan.js';
import { MONITORING_APIS } from '../../../src/deploy/monitoring.js';
import { deploySettings } from '../../support/deploy-settings.js';

const s = deploySettings({
  region: 'us-east1',
  secopsServiceAccount: undefined,
  ikey: 'DIX',
  apiHost: 'api-1.duosecurity.com',
  skeySha256: undefined,
  source: { dir: '/tmp/x', hash: '00' },
});

describe('parsers', () => {
  it('enabled APIs from either name form', () => {
    expect(parseEnabledApis([{ config: { name: 'run.googleapis.com' } }, { name: 'projects/1/services/pubsub.googleapis.com' }, 'junk'])).toEqual([
      'run.googleapis.com',
      'pubsub.googleapis.com',
    ]);
    expect(parseEnabledApis(null)).toEqual([]);
  });

  it('IAM policies merge roles and ignore conditional bindings', () => {
    expect(
      parsePolicy({
        bindings: [
          { role: 'roles/a', members: ['user:x'] },
          { role: 'roles/a', members: ['user:y'] },
          { role: 'roles/b', members: ['user:z'], condition: { expression: 'request.time < timestamp("2020-01-01T00:00:00Z")' } },
        ],
        etag: 'x',
      }),
    ).toEqual({ 'roles/a': ['user:x', 'user:y'] });
    expect(parsePolicy({ etag: 'ACAB' })).toEqual({});
  });

  it('uniform bucket access in gcloud storage and JSON API shapes', () => {
    expect(parseBucketUniformAccess({ uniform_bucket_level_access: true })).toBe(true);
    expect(parseBucketUniformAccess({ iamConfiguration: { uniformBucketLevelAccess: { enabled: false } } })).toBe(false);
    expect(parseBucketUniformAccess({})).toBeUndefined();
  });

  it('a secret payload becomes a digest of its trimmed text (base64 standard or URL-safe)', () => {
    const value = 'a+b/c?d>\n';
    const std = Buffer.from(value).toString('base64');
    const url = Buffer.from(value).toString('base64url');
    expect(parseSecretPayloadDigest({ payload: { data: std } })).toBe(secretDigest('a+b/c?d>'));
    expect(parseSecretPayloadDigest({ payload: { data: url } })).toBe(secretDigest('a+b/c?d>'));
    expect(parseSecretPayloadDigest({})).toBeUndefined();
  });

  it('a v2 function description', () => {
    const f = parseFunction(
      {
        environment: 'GEN_2',
        state: 'ACTIVE',
        buildConfig: { runtime: 'nodejs22', entryPoint: 'main' },
        serviceConfig: { availableMemory: '512Mi', timeoutSeconds: 600, maxInstanceCount: '1', ingressSettings: 'ALLOW_INTERNAL_ONLY', serviceAccountEmail: 'a@b', environmentVariables: { A: '1', N: 2 } },
        eventTrigger: { pubsubTopic: 'projects/p/topics/t', serviceAccountEmail: 'a@b', retryPolicy: 'RETRY_POLICY_DO_NOT_RETRY' },
        labels: { l: 'v' },
      },
      { 'roles/run.invoker': ['serviceAccount:a@b'] },
    );
    expect(f).toEqual({
      environment: 'GEN_2',
      state: 'ACTIVE',
      runtime: 'nodejs22',
      entryPoint: 'main',
      availableMemory: '512Mi',
      timeoutSeconds: 600,
      maxInstanceCount: 1,
      ingressSettings: 'ALLOW_INTERNAL_ONLY',
      serviceAccountEmail: 'a@b',
      environmentVariables: { A: '1' },
      pubsubTopic: 'projects/p/topics/t',
      triggerServiceAccountEmail: 'a@b',
      retryPolicy: 'RETRY_POLICY_DO_NOT_RETRY',
      labels: { l: 'v' },
      invokerPolicy: { 'roles/run.invoker': ['serviceAccount:a@b'] },
    });
  });

  it('a scheduler job with its message body decoded', () => {
    expect(parseJob({ schedule: '0 * * * *', timeZone: 'Etc/UTC', pubsubTarget: { topicName: 'projects/p/topics/t', data: 'e30=' }, state: 'ENABLED' })).toEqual({
      schedule: '0 * * * *',
      timeZone: 'Etc/UTC',
      topicName: 'projects/p/topics/t',
      body: '{}',
      state: 'ENABLED',
    });
  });
});

/** A runner over a fixed table of answers that records which probes ran. */
function runner(answers: Partial<Record<ProbeKey, unknown>>) {
  const ran: ProbeKey[] = [];
  const run = async (key: ProbeKey): Promise<ProbeResult> => {
    ran.push(key);
    return key in answers ? { found: true, json: answers[key] } : { found: false };
  };
  return { run, ran };
}

describe('observe', () => {

  it('skips the probes of disabled APIs and of policies of missing resources', async () => {
    const r = runner({ apis: [{ config: { name: 'storage.googleapis.com' } }] });
    const o = await observe(s, r.run);
    expect(r.ran).toEqual(['apis', 'bucket']);
    expect(o.bucket.exists).toBe(false);
    expect(o.enabledApis).toEqual(['storage.googleapis.com']);
  });

  it('reads the stored key only when DUO_SKEY was given to compare it with', async () => {
    const apis = REQUIRED_APIS.map((name) => ({ config: { name } }));
    const answers = { apis, secret: {}, secretPolicy: {}, secretLatest: { state: 'ENABLED' }, secretValue: { payload: { data: Buffer.from('k').toString('base64') } } };
    const without = runner(answers);
    const o1 = await observe(s, without.run);
    expect(without.ran).not.toContain('secretValue');
    expect(o1.secret).toEqual({ exists: true, policy: {}, latest: { sha256: undefined } });

    const withKey = runner(answers);
    const o2 = await observe({ ...s, skeySha256: secretDigest('k') }, withKey.run);
    expect(withKey.ran).toContain('secretValue');
    expect(o2.secret).toEqual({ exists: true, policy: {}, latest: { sha256: secretDigest('k') } });
  });

  it('a disabled latest version is no usable version', async () => {
    const r = runner({ apis: REQUIRED_APIS.map((name) => ({ config: { name } })), secret: {}, secretLatest: { state: 'DISABLED' } });
    const o = await observe({ ...s, skeySha256: secretDigest('k') }, r.run);
    expect(o.secret).toEqual({ exists: true, policy: {}, latest: undefined });
    expect(r.ran).not.toContain('secretValue');
  });

  it('asks for the regions first, where the Cloud Functions API can answer', async () => {
    const r = runner({ apis: [{ config: { name: 'cloudfunctions.googleapis.com' } }], regions: [{ locationId: 'us-east1' }, { locationId: 'europe-west1' }] });
    const o = await observe(s, r.run);
    expect(r.ran.slice(0, 2)).toEqual(['apis', 'regions']);
    expect(o.regions).toEqual(['europe-west1', 'us-east1']);
    // API off: not asked, and so not known.
    const off = runner({ apis: [] });
    expect((await observe(s, off.run)).regions).toBeUndefined();
    expect(off.ran).toEqual(['apis']);
  });

  it("looks for Google's guide collector: a gcloud functions function, else a console-made Cloud Run service, and the jobs", async () => {
    const apis = REQUIRED_APIS.map((name) => ({ config: { name } }));
    const svc = { spec: { template: { spec: { containers: [{ env: [{ name: 'GCS_BUCKET', value: 'g' }] }] } } } };
    const jobs = [{ name: 'projects/acme-prod/locations/us-east1/jobs/duo-telephony-logs-1h', state: 'PAUSED', pubsubTarget: { topicName: 'projects/acme-prod/topics/duo-telephony-trigger' } }];
    const viaRun = runner({ apis, guideService: svc, guideJobs: jobs });
    const o = await observe(s, viaRun.run);
    expect(viaRun.ran.slice(-3)).toEqual(['guideFunction', 'guideService', 'guideJobs']);
    expect(o.guide).toEqual({
      fn: { name: 'duo-telephony-logs-collector', api: 'run', bucket: 'g', prefix: undefined, stateKey: undefined },
      jobs: [{ name: 'duo-telephony-logs-1h', state: 'PAUSED', schedule: undefined, topicName: 'projects/acme-prod/topics/duo-telephony-trigger' }],
    });
    // Found by the Cloud Functions API: that is the one to delete it with; no need to ask Cloud Run.
    const viaFunctions = runner({ apis, guideFunction: { serviceConfig: { environmentVariables: {} } }, guideService: svc });
    expect((await observe(s, viaFunctions.run)).guide.fn?.api).toBe('functions');
    expect(viaFunctions.ran).not.toContain('guideService');
    // --name duo-telephony-logs-collector: the function is ours to manage, not a second collector.
    const own = runner({ apis, guideFunction: {}, guideService: svc });
    expect((await observe({ ...s, functionName: 'duo-telephony-logs-collector' }, own.run)).guide.fn).toBeUndefined();
    expect(own.ran).not.toContain('guideFunction');
  });

  it('a project that cannot be read is a configuration problem', async () => {
    await expect(observe(s, runner({}).run)).rejects.toThrow(/--project: acme-prod was not found/);
  });
});

describe('observe: what --verify-daily and --alert-channel add', () => {
  const apis = [...REQUIRED_APIS, ...MONITORING_APIS].map((name) => ({ config: { name } }));
  const answers = {
    apis,
    verifyJob: { schedule: '30 3 * * *', timeZone: 'Etc/UTC', pubsubTarget: { topicName: 'projects/acme-prod/topics/t', data: Buffer.from('{"verify":"yesterday","repair":false}').toString('base64') }, state: 'ENABLED' },
    metricLag: { name: 'duo_secops_lag_ms', filter: 'f', valueExtractor: 'EXTRACT(jsonPayload.lagMs)', labelExtractors: { stream: 'EXTRACT(jsonPayload.stream)' }, metricDescriptor: { valueType: 'DISTRIBUTION' } },
    policies: [{ name: 'projects/acme-prod/alertPolicies/1', displayName: 'x', userLabels: { 'duo-secops-alert': 'lag' } }, { displayName: 'no name' }],
  };

  it('reads none of it without the flags', async () => {
    const r = runner(answers);
    const o = await observe(s, r.run);
    expect(r.ran).not.toContain('verifyJob');
    expect(r.ran.filter((k) => k.startsWith('metric') || k === 'policies')).toEqual([]);
    expect(o).toMatchObject({ verifyJob: { exists: false }, metrics: {}, policies: [] });
  });

  it('reads the verify job with --verify-daily, the metrics and the policies with --alert-channel', async () => {
    const r = runner(answers);
    const o = await observe({ ...s, verifyDaily: { repair: false }, alerts: { channel: 'projects/acme-prod/notificationChannels/1', lagMinutes: 120 } }, r.run);
    expect(r.ran).toEqual(expect.arrayContaining(['verifyJob', 'metricRunFailed', 'metricVerifyGaps', 'metricLag', 'policies']));
    expect(o.verifyJob).toMatchObject({ exists: true, schedule: '30 3 * * *', body: '{"verify":"yesterday","repair":false}' });
    expect(o.metrics).toEqual({ duo_secops_lag_ms: { filter: 'f', valueExtractor: 'EXTRACT(jsonPayload.lagMs)', labelExtractors: { stream: 'EXTRACT(jsonPayload.stream)' }, valueType: 'DISTRIBUTION' } });
    expect(o.policies).toEqual([{ name: 'projects/acme-prod/alertPolicies/1', displayName: 'x', userLabels: { 'duo-secops-alert': 'lag' } }]);
  });

  it("never takes its own verify job, publishing to the guide's topic, for the guide's job", async () => {
    const own = { ...s, topic: 'duo-telephony-trigger', verifyDaily: { repair: false } };
    const jobs = [{ name: `projects/acme-prod/locations/europe-west1/jobs/${s.job}-verify`, state: 'ENABLED', pubsubTarget: { topicName: 'projects/acme-prod/topics/duo-telephony-trigger' } }];
    expect((await observe(own, runner({ apis, guideJobs: jobs }).run)).guide.jobs).toEqual([]);
  });
});
