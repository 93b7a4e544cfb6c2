/** Deploy settings as `resolveDeployInput` fills them by default, for tests to vary one field at a time, and the project a deploy of them leaves. */
import { PUBLISHER_ROLE, PUBSUB_EVENT_TYPE } from '../../src/deploy/accounts.js';
import { NO_GUIDE } from '../../src/deploy/guide.js';
import { alertPolicies, logMetrics, parseMetric, VERIFY_SCHEDULE, verifyMessageBody } from '../../src/deploy/monitoring.js';
import { secretDigest } from '../../src/deploy/observe.js';
import {
  COLLECTOR_BUCKET_ROLE,
  functionEnv,
  INVOKER_ROLE,
  maxInstances,
  REQUIRED_APIS,
  SECOPS_BUCKET_ROLE,
  SECRET_ACCESSOR_ROLE,
  serviceAccountEmail,
  SOURCE_LABEL,
  sourceLabelValue,
  topicName,
  workTopicName,
  type DeploySettings,
  type Observed,
} from '../../src/deploy/plan.js';

/** The other streams' prefixes as the settings table defaults them (GCS_PREFIX_<STREAM>). */
export const DEFAULT_STREAM_PREFIXES = {
  authentication: 'duo-authentication',
  activity: 'duo-activity',
  trust_monitor: 'duo-trust-monitor',
  administrator: 'duo-administrator',
} as const;

export const TEST_SKEY = 'sKeY-1234567890-abcdefghijklmnopqrstuv';

export function deploySettings(over: Partial<DeploySettings> = {}): DeploySettings {
  return {
    project: 'acme-prod',
    region: 'europe-west1',
    bucket: 'acme-duo',
    logs: ['telephony'],
    prefix: 'duo-telephony',
    streamPrefixes: { ...DEFAULT_STREAM_PREFIXES },
    schedule: '*/15 * * * *',
    timeZone: 'Etc/UTC',
    functionName: 'duo-secops-collector',
    serviceAccountName: 'duo-telephony-collector-sa',
    secretName: 'duo-secops-skey',
    topic: 'duo-secops-collector-trigger',
    job: 'duo-secops-collector',
    secopsServiceAccount: 'chronicle-1@chronicle-gcp-prod.iam.gserviceaccount.com',
    ikey: 'DIXXXXXXXXXXXXXXXXXX',
    apiHost: 'api-12345678.duosecurity.com',
    skeySha256: secretDigest(TEST_SKEY),
    guideCollector: 'stop',
    source: { dir: '/tmp/duo-secops-function-0123', hash: 'ab'.repeat(32) },
    ...over,
  };
}

/** What the project holds right after a successful deploy of `s` (as gcloud would describe it). */
export function deployed(s: DeploySettings): Observed {
  const member = `serviceAccount:${serviceAccountEmail(s)}`;
  return {
    enabledApis: [...REQUIRED_APIS, 'logging.googleapis.com', ...(s.alerts ? ['monitoring.googleapis.com'] : [])],
    regions: ['europe-west1', 'us-central1'],
    bucket: {
      exists: true,
      uniformAccess: true,
      policy: {
        'roles/storage.legacyBucketOwner': ['projectOwner:acme-prod'],
        [COLLECTOR_BUCKET_ROLE]: [member],
        [SECOPS_BUCKET_ROLE]: [`serviceAccount:${s.secopsServiceAccount}`],
      },
    },
    serviceAccount: { exists: true },
    secret: { exists: true, policy: { [SECRET_ACCESSOR_ROLE]: [member] }, latest: { sha256: s.skeySha256 } },
    topic: { exists: true },
    fn: {
      exists: true,
      environment: 'GEN_2',
      state: 'ACTIVE',
      runtime: 'nodejs22',
      entryPoint: 'main',
      availableMemory: '512Mi',
      timeoutSeconds: 600,
      maxInstanceCount: maxInstances(s),
      ingressSettings: 'ALLOW_INTERNAL_ONLY',
      serviceAccountEmail: serviceAccountEmail(s),
      environmentVariables: { ...functionEnv(s), LOG_EXECUTION_ID: 'true' },
      pubsubTopic: topicName(s),
      triggerServiceAccountEmail: serviceAccountEmail(s),
      retryPolicy: 'RETRY_POLICY_DO_NOT_RETRY',
      labels: { [SOURCE_LABEL]: sourceLabelValue(s.source.hash), 'deployment-tool': 'cli-gcloud' },
      invokerPolicy: { [INVOKER_ROLE]: [member] },
    },
    job: { exists: true, schedule: s.schedule, timeZone: s.timeZone, topicName: topicName(s), body: '{}', state: 'ENABLED' },
    verifyJob: s.verifyDaily
      ? { exists: true, schedule: VERIFY_SCHEDULE, timeZone: s.timeZone, topicName: topicName(s), body: verifyMessageBody(s.verifyDaily.repair), state: 'ENABLED' }
      : { exists: false },
    metrics: s.alerts ? Object.fromEntries(Object.entries(logMetrics(s.functionName)).map(([k, m]) => [k, parseMetric(JSON.parse(JSON.stringify(m)))])) : {},
    policies: s.alerts
      ? Object.values(alertPolicies(s.functionName, s.alerts.channel, s.alerts.lagMinutes)).map((p, i) => ({ name: `projects/${s.project}/alertPolicies/${i + 100}`, displayName: p.displayName, userLabels: p.userLabels }))
      : [],
    guide: NO_GUIDE,
    workTopic: s.accounts ? { exists: true, policy: { [PUBLISHER_ROLE]: [member] } } : { exists: false },
    workTrigger: s.accounts
      ? { exists: true, service: s.functionName, region: s.region, eventType: PUBSUB_EVENT_TYPE, serviceAccount: serviceAccountEmail(s), transportTopic: workTopicName(s) }
      : { exists: false },
  };
}
