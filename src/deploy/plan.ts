/**
 * The deploy planner: from the settings and what the project already holds (`Observed`), the ordered
 * list of `gcloud` commands that brings the project to the settings. Pure: no I/O, no clock, no secret
 * values (the Duo secret key is known here only by its SHA-256), so the plan is unit-tested exactly and
 * `--dry-run` prints exactly what a real run executes.
 *
 * Every resource is read first (`probeCommands`), created only when missing and updated only when it
 * differs; IAM bindings are added only when the policy lacks them. A second run with nothing changed
 * therefore plans no step at all. The same reading checks the region against the project's own list
 * (regions.ts) and looks for Google's guide collector (guide.ts), whose job `--pause-guide-job` pauses
 * as the very first step.
 */
import type { StreamName } from '../duo/streams.js';
import { ConfigError } from '../errors.js';
import { accountsEnv, ACCOUNTS_ENV, PUBLISHER_ROLE, PUBSUB_EVENT_TYPE, RPM_ENV, workTriggerName, type AccountsSettings } from './accounts.js';
import { envVarsFlag, streamEnv, type OtherStream } from './feeds.js';
import { activeGuideJobs, GUIDE_FUNCTION, GUIDE_TOPIC, NO_GUIDE, pauseCommand, type GuideChoice, type ObservedGuide } from './guide.js';
import {
  alertPolicies,
  POLICY_SPEC_LABEL as POLICY_SPEC,
  ALERT_KINDS,
  findPolicy,
  logMetrics,
  METRIC_NAMES,
  metricDrift,
  MONITORING_APIS,
  VERIFY_SCHEDULE,
  verifyJobName,
  verifyMessageBody,
  type ObservedMetric,
  type ObservedPolicy,
} from './monitoring.js';
import { regionProblems } from './regions.js';

/** Everything a deploy needs, validated and resolved (names derived, source staged). */
export interface DeploySettings {
  project: string;
  region: string;
  bucket: string;
  /** The log streams to collect (DUO_LOGS), in the stream table's order; never empty. */
  logs: StreamName[];
  /** The telephony log's object prefix (GCS_PREFIX), without slashes at either end; never empty. */
  prefix: string;
  /** Every other stream's prefix (GCS_PREFIX_<STREAM>), defaults filled in; only the selected ones are used. */
  streamPrefixes: Record<OtherStream, string>;
  schedule: string;
  timeZone: string;
  functionName: string;
  serviceAccountName: string;
  secretName: string;
  topic: string;
  job: string;
  secopsServiceAccount: string | undefined;
  ikey: string;
  apiHost: string;
  /** SHA-256 (hex) of the trimmed DUO_SKEY when it was given; the value itself never enters a plan. */
  skeySha256: string | undefined;
  /** What to do when Google's guide collector is still scheduled in the region (guide.ts). */
  guideCollector: GuideChoice;
  source: { dir: string; hash: string };
  /** --verify-daily: a second job (`<job>-verify`) asks the function to verify yesterday; absent: no such job. */
  verifyDaily?: { repair: boolean } | undefined;
  /** --alert-channel: log-based metrics and alert policies notifying this channel; absent: none. */
  alerts?: { channel: string; lagMinutes: number } | undefined;
  /** --accounts: accounts mode (accounts.ts): a parent integration's children, fanned out; absent: one account. */
  accounts?: AccountsSettings | undefined;
  /** --requests-per-minute: REQUESTS_PER_MINUTE on the function (`auto` or a number); absent: its default. */
  requestsPerMinute?: string | undefined;
}

/** The APIs the collector and its deployment use; `services enable` on these is the first step. */
export const REQUIRED_APIS = [
  'artifactregistry.googleapis.com',
  'cloudbuild.googleapis.com',
  'cloudfunctions.googleapis.com',
  'cloudscheduler.googleapis.com',
  'eventarc.googleapis.com',
  'iam.googleapis.com',
  'pubsub.googleapis.com',
  'run.googleapis.com',
  'secretmanager.googleapis.com',
  'storage.googleapis.com',
] as const;

/**
 * The collector creates objects, reads them back (a retried page is compared with what is stored) and
 * replaces the checkpoint under a generation precondition. Replacing an object needs
 * `storage.objects.delete`, which objectCreator + objectViewer lack; objectUser is the smallest
 * predefined role with create, get, list and delete, and unlike objectAdmin it cannot change object ACLs.
 */
export const COLLECTOR_BUCKET_ROLE = 'roles/storage.objectUser';
export const SECOPS_BUCKET_ROLE = 'roles/storage.objectViewer';
export const SECRET_ACCESSOR_ROLE = 'roles/secretmanager.secretAccessor';
/** On the function's Cloud Run service only: lets the Eventarc trigger (our service account) call it. */
export const INVOKER_ROLE = 'roles/run.invoker';

export const RUNTIME = 'nodejs22';
export const ENTRY_POINT = 'main';
export const MEMORY = '512Mi';
export const TIMEOUT_SECONDS = 600;
/** One run at a time: a second concurrent run would only find the window taken (docs/protocol.md). */
export const MAX_INSTANCES = 1;

/**
 * In accounts mode, more: each work item is one (account, stream), whose own checkpoint's
 * compare-and-swap keeps parallel runs apart, and the scheduled dispatch itself only lists the children
 * and publishes, so it is quick and never holds an instance for long.
 */
export const maxInstances = (s: Pick<DeploySettings, 'accounts'>): number => s.accounts?.maxInstances ?? MAX_INSTANCES;
/** Pub/Sub, Eventarc and Cloud Scheduler of the same project count as internal traffic. */
export const INGRESS = 'internal-only';
/** A failed run is not redelivered: the next scheduled run resumes from the checkpoint anyway. */
export const RETRY_POLICY = 'RETRY_POLICY_DO_NOT_RETRY';
export const SOURCE_LABEL = 'duo-secops-source';
export const MESSAGE_BODY = '{}';

/** IAM policy reduced to what the plan needs: role -> members. */
export type Bindings = Record<string, string[]>;

export interface ObservedFunction {
  /** `GEN_2` for a Cloud Run function; `GEN_1` cannot be converted in place. */
  environment: string | undefined;
  state: string | undefined;
  runtime: string | undefined;
  entryPoint: string | undefined;
  availableMemory: string | undefined;
  timeoutSeconds: number | undefined;
  maxInstanceCount: number | undefined;
  ingressSettings: string | undefined;
  serviceAccountEmail: string | undefined;
  environmentVariables: Record<string, string>;
  pubsubTopic: string | undefined;
  triggerServiceAccountEmail: string | undefined;
  retryPolicy: string | undefined;
  labels: Record<string, string>;
  /** The IAM policy of the function's Cloud Run service (run.invoker lives there). */
  invokerPolicy: Bindings;
}

export type { ObservedMetric, ObservedPolicy } from './monitoring.js';

export interface ObservedJob {
  schedule: string | undefined;
  timeZone: string | undefined;
  topicName: string | undefined;
  /** The decoded Pub/Sub message body. */
  body: string | undefined;
  state: string | undefined;
}

export type Probed<T> = { exists: false } | ({ exists: true } & T);

/** The Eventarc trigger from the work topic (accounts mode), as `gcloud eventarc triggers describe` shows it. */
export interface ObservedTrigger {
  /** The Cloud Run service it delivers to, and that service's region. */
  service: string | undefined;
  region: string | undefined;
  /** The `type` event filter. */
  eventType: string | undefined;
  serviceAccount: string | undefined;
  /** projects/P/topics/T: fixed when the trigger is made. */
  transportTopic: string | undefined;
}

/** What the project holds, as read by the probes. Absent = the probe said "not found". */
export interface Observed {
  enabledApis: string[];
  /** The regions Cloud Run functions offers the project; undefined when gcloud could not be asked. */
  regions: string[] | undefined;
  bucket: Probed<{ policy: Bindings; uniformAccess: boolean | undefined }>;
  serviceAccount: Probed<Record<never, never>>;
  secret: Probed<{
    policy: Bindings;
    /** The `latest` version when it is ENABLED (usable); `sha256` only when DUO_SKEY was given to compare. */
    latest: { sha256: string | undefined } | undefined;
  }>;
  topic: Probed<Record<never, never>>;
  fn: Probed<ObservedFunction>;
  job: Probed<ObservedJob>;
  /** The `--verify-daily` job; read only when that flag is given. */
  verifyJob: Probed<ObservedJob>;
  /** The log-based metrics; read only with `--alert-channel`. */
  metrics: Partial<Record<(typeof METRIC_NAMES)[number], ObservedMetric>>;
  /** Every alert policy of the project; read only with `--alert-channel`. */
  policies: ObservedPolicy[];
  /** Google's guide collector in the region, if any (guide.ts). */
  guide: ObservedGuide;
  /** Accounts mode only: the work topic with its policy, and the Eventarc trigger from it. */
  workTopic: Probed<{ policy: Bindings }>;
  workTrigger: Probed<ObservedTrigger>;
}

export const EMPTY_PROJECT: Observed = {
  enabledApis: [],
  regions: undefined,
  bucket: { exists: false },
  serviceAccount: { exists: false },
  secret: { exists: false },
  topic: { exists: false },
  fn: { exists: false },
  job: { exists: false },
  verifyJob: { exists: false },
  metrics: {},
  policies: [],
  guide: NO_GUIDE,
  workTopic: { exists: false },
  workTrigger: { exists: false },
};

export type StepId =
  | 'guide-job-pause'
  | 'apis'
  | 'bucket'
  | 'service-account'
  | 'bucket-collector-role'
  | 'secret'
  | 'secret-version'
  | 'secret-accessor-role'
  | 'topic'
  | 'work-topic'
  | 'work-topic-publisher-role'
  | 'function'
  | 'function-invoker-role'
  | 'work-trigger'
  | 'job'
  | 'verify-job'
  | 'bucket-secops-role'
  | 'log-metric'
  | 'alert-policy';

export interface DeployStep {
  id: StepId;
  /** What the step does and, for an update, why. */
  description: string;
  /** The gcloud arguments, exactly as run (without the `gcloud` word). Never holds a secret value. */
  argv: string[];
  /** The read-only probe whose answer made this step necessary. */
  check?: string[];
  /** Feed DUO_SKEY on stdin (`--data-file=-`): the value never appears on a command line. */
  stdin?: 'skey';
  /** Text fed on stdin that is no secret (a metric's configuration for `--config-from-file=-`); printed with the command. */
  input?: string;
}

export const serviceAccountEmail = (s: DeploySettings): string => `${s.serviceAccountName}@${s.project}.iam.gserviceaccount.com`;
export const secretVersionName = (s: DeploySettings): string => `projects/${s.project}/secrets/${s.secretName}/versions/latest`;
export const topicName = (s: DeploySettings): string => `projects/${s.project}/topics/${s.topic}`;
/** The work topic's short name; outside accounts mode the default, for the probes' table only. */
export const workTopicOf = (s: DeploySettings): string => s.accounts?.workTopic ?? `${s.functionName}-work`;
export const workTopicName = (s: DeploySettings): string => `projects/${s.project}/topics/${workTopicOf(s)}`;
export const bucketUrl = (s: DeploySettings): string => `gs://${s.bucket}`;
export { feedSettings } from './feeds.js';

/**
 * The function's environment. The secret key travels as a Secret Manager version name
 * (DUO_SKEY_SECRET), read by the collector at its first event: the same mechanism for the CLI, the
 * daemon and the function, its failures name the secret and the missing role, and the secret is not
 * copied into the function's configuration. DUO_LOGS and each selected stream's prefix say what it
 * collects, where (feeds.ts). STATE_KEY is left unset on purpose: then each stream's checkpoint is
 * `_state/<prefix>.json`, and telephony migrates the guide's `<prefix>/state.json` once. The run budget
 * follows the function's timeout: a run ends a minute before Cloud Run would kill it.
 */
export function functionEnv(s: DeploySettings): Record<string, string> {
  return {
    GCS_BUCKET: s.bucket,
    ...streamEnv(s),
    DUO_IKEY: s.ikey,
    DUO_API_HOST: s.apiHost,
    DUO_SKEY_SECRET: secretVersionName(s),
    RUN_BUDGET_SECONDS: String(TIMEOUT_SECONDS - RUN_BUDGET_MARGIN_SECONDS),
    ...(s.requestsPerMinute === undefined ? {} : { [RPM_ENV]: s.requestsPerMinute }),
    ...accountsEnv(s.accounts, s.project),
  };
}

/**
 * Variables deploy sets only with a flag: present on the function but no longer wanted, they are drift,
 * so that dropping --accounts takes the function out of accounts mode (a redeploy's --set-env-vars
 * replaces every variable).
 */
export const OPTIONAL_ENV: readonly string[] = [RPM_ENV, ...Object.values(ACCOUNTS_ENV)];

/** How long before the function's timeout a run stops opening pages (one request timeout, twice over). */
export const RUN_BUDGET_MARGIN_SECONDS = 60;

/** Label values allow 63 lower-case letters, digits, `-` and `_`: 32 hex digits of the hash are plenty. */
export const sourceLabelValue = (hash: string): string => hash.slice(0, 32).toLowerCase();

const sa = (s: DeploySettings): string => `serviceAccount:${serviceAccountEmail(s)}`;
const P = (s: DeploySettings): string => `--project=${s.project}`;
const Q = '--quiet';
const JSON_OUT = '--format=json';

/** The read-only commands the observation runs, keyed by what they read. */
export function probeCommands(s: DeploySettings) {
  return {
    apis: ['services', 'list', '--enabled', P(s), JSON_OUT, Q],
    /** The regions Cloud Run functions (the Cloud Functions v2 API that deploys ours) offers this project. */
    regions: ['functions', 'regions', 'list', '--gen2', P(s), JSON_OUT, Q],
    bucket: ['storage', 'buckets', 'describe', bucketUrl(s), P(s), JSON_OUT, Q],
    bucketPolicy: ['storage', 'buckets', 'get-iam-policy', bucketUrl(s), P(s), JSON_OUT, Q],
    serviceAccount: ['iam', 'service-accounts', 'describe', serviceAccountEmail(s), P(s), JSON_OUT, Q],
    secret: ['secrets', 'describe', s.secretName, P(s), JSON_OUT, Q],
    secretPolicy: ['secrets', 'get-iam-policy', s.secretName, P(s), JSON_OUT, Q],
    secretLatest: ['secrets', 'versions', 'describe', 'latest', `--secret=${s.secretName}`, P(s), JSON_OUT, Q],
    /** Only when DUO_SKEY is given: the value is hashed in memory and dropped, never printed. */
    secretValue: ['secrets', 'versions', 'access', 'latest', `--secret=${s.secretName}`, P(s), JSON_OUT, Q],
    topic: ['pubsub', 'topics', 'describe', s.topic, P(s), JSON_OUT, Q],
    /** The work topic, its policy and the Eventarc trigger from it: only in accounts mode. */
    workTopic: ['pubsub', 'topics', 'describe', workTopicOf(s), P(s), JSON_OUT, Q],
    workTopicPolicy: ['pubsub', 'topics', 'get-iam-policy', workTopicOf(s), P(s), JSON_OUT, Q],
    workTrigger: ['eventarc', 'triggers', 'describe', workTriggerName(s.functionName), P(s), `--location=${s.region}`, JSON_OUT, Q],
    fn: ['functions', 'describe', s.functionName, '--v2', P(s), `--region=${s.region}`, JSON_OUT, Q],
    fnPolicy: ['run', 'services', 'get-iam-policy', s.functionName, P(s), `--region=${s.region}`, JSON_OUT, Q],
    job: ['scheduler', 'jobs', 'describe', s.job, P(s), `--location=${s.region}`, JSON_OUT, Q],
    /** Google's guide function made with the Cloud Functions API (gcloud functions, 1st or 2nd gen). */
    guideFunction: ['functions', 'describe', GUIDE_FUNCTION, '--v2', P(s), `--region=${s.region}`, JSON_OUT, Q],
    /** The same made in the console, as the guide says: a Cloud Run service the Cloud Functions API does not see. */
    guideService: ['run', 'services', 'describe', GUIDE_FUNCTION, P(s), `--region=${s.region}`, JSON_OUT, Q],
    /** Every job of the region: the guide's is found by its name or by the topic it publishes to. */
    guideJobs: ['scheduler', 'jobs', 'list', P(s), `--location=${s.region}`, JSON_OUT, Q],
    /** The rest only with --verify-daily or --alert-channel. */
    verifyJob: ['scheduler', 'jobs', 'describe', verifyJobName(s.job), P(s), `--location=${s.region}`, JSON_OUT, Q],
    metricRunFailed: ['logging', 'metrics', 'describe', 'duo_secops_run_failed', P(s), JSON_OUT, Q],
    metricVerifyGaps: ['logging', 'metrics', 'describe', 'duo_secops_verify_gaps', P(s), JSON_OUT, Q],
    metricLag: ['logging', 'metrics', 'describe', 'duo_secops_lag_ms', P(s), JSON_OUT, Q],
    /** Alert policies are in gcloud's alpha track only. */
    policies: ['alpha', 'monitoring', 'policies', 'list', P(s), JSON_OUT, Q],
  } satisfies Record<string, string[]>;
}

export type ProbeKey = keyof ReturnType<typeof probeCommands>;

/** The API each probe needs: with the API off, the resource cannot exist and the probe is skipped. */
export const PROBE_API: Record<Exclude<ProbeKey, 'apis'>, (typeof REQUIRED_APIS)[number] | (typeof MONITORING_APIS)[number]> = {
  bucket: 'storage.googleapis.com',
  bucketPolicy: 'storage.googleapis.com',
  serviceAccount: 'iam.googleapis.com',
  secret: 'secretmanager.googleapis.com',
  secretPolicy: 'secretmanager.googleapis.com',
  secretLatest: 'secretmanager.googleapis.com',
  secretValue: 'secretmanager.googleapis.com',
  topic: 'pubsub.googleapis.com',
  workTopic: 'pubsub.googleapis.com',
  workTopicPolicy: 'pubsub.googleapis.com',
  workTrigger: 'eventarc.googleapis.com',
  fn: 'cloudfunctions.googleapis.com',
  fnPolicy: 'run.googleapis.com',
  job: 'cloudscheduler.googleapis.com',
  regions: 'cloudfunctions.googleapis.com',
  guideFunction: 'cloudfunctions.googleapis.com',
  guideService: 'run.googleapis.com',
  guideJobs: 'cloudscheduler.googleapis.com',
  verifyJob: 'cloudscheduler.googleapis.com',
  metricRunFailed: 'logging.googleapis.com',
  metricVerifyGaps: 'logging.googleapis.com',
  metricLag: 'logging.googleapis.com',
  policies: 'monitoring.googleapis.com',
};

/** The probe of each metric. */
export const METRIC_PROBE = {
  duo_secops_run_failed: 'metricRunFailed',
  duo_secops_verify_gaps: 'metricVerifyGaps',
  duo_secops_lag_ms: 'metricLag',
} as const satisfies Record<(typeof METRIC_NAMES)[number], ProbeKey>;

/** The APIs this deployment needs: the collector's, and Logging and Monitoring for alerts. */
export const requiredApis = (s: DeploySettings): string[] => [...REQUIRED_APIS, ...(s.alerts ? MONITORING_APIS : [])].sort();

function hasMember(policy: Bindings, role: string, member: string): boolean {
  const m = member.toLowerCase();
  return (policy[role] ?? []).some((x) => x.toLowerCase() === m);
}

/** Memory strings as Cloud Functions accepts them (`512Mi`, `512M`, `0.5Gi`, `536870912`) in bytes. */
export function memoryBytes(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(k|Ki|M|Mi|G|Gi|T|Ti)?[bB]?$/.exec(v.trim());
  if (!m) return undefined;
  const unit: Record<string, number> = { k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4 };
  return Math.round(Number(m[1]) * (m[2] ? (unit[m[2]] ?? 1) : 1));
}

/** Why the deployed function differs from the settings; empty when it is up to date. */
export function functionDrift(s: DeploySettings, f: ObservedFunction): string[] {
  const why: string[] = [];
  const email = serviceAccountEmail(s).toLowerCase();
  if (f.state !== 'ACTIVE') why.push(`its state is ${f.state ?? 'unknown'}`);
  if (f.labels[SOURCE_LABEL] !== sourceLabelValue(s.source.hash)) why.push('the source changed');
  if (f.runtime !== RUNTIME) why.push(`runtime ${f.runtime ?? 'unset'} -> ${RUNTIME}`);
  if (f.entryPoint !== ENTRY_POINT) why.push(`entry point ${f.entryPoint ?? 'unset'} -> ${ENTRY_POINT}`);
  if (memoryBytes(f.availableMemory) !== memoryBytes(MEMORY)) why.push(`memory ${f.availableMemory ?? 'unset'} -> ${MEMORY}`);
  if (f.timeoutSeconds !== TIMEOUT_SECONDS) why.push(`timeout ${f.timeoutSeconds ?? 'unset'} s -> ${TIMEOUT_SECONDS} s`);
  if (f.maxInstanceCount !== maxInstances(s)) why.push(`max instances ${f.maxInstanceCount ?? 'unset'} -> ${maxInstances(s)}`);
  if (f.ingressSettings !== 'ALLOW_INTERNAL_ONLY') why.push(`ingress ${f.ingressSettings ?? 'unset'} -> internal only`);
  if (f.serviceAccountEmail?.toLowerCase() !== email) why.push('runtime service account');
  if (f.triggerServiceAccountEmail?.toLowerCase() !== email) why.push('trigger service account');
  if (f.pubsubTopic !== topicName(s)) why.push(`trigger topic ${f.pubsubTopic ?? 'unset'} -> ${topicName(s)}`);
  if (f.retryPolicy !== undefined && f.retryPolicy !== RETRY_POLICY) why.push('retry policy');
  // Only our variables: the platform adds its own (LOG_EXECUTION_ID) and they are not ours to judge.
  const want = functionEnv(s);
  const changed = Object.entries(want)
    .filter(([k, v]) => f.environmentVariables[k] !== v)
    .map(([k]) => k);
  changed.push(...OPTIONAL_ENV.filter((k) => !(k in want) && k in f.environmentVariables).map((k) => `${k} (removed)`));
  if (changed.length) why.push(`environment ${changed.join(', ')}`);
  return why;
}

/** Why the scheduler job differs from the settings; empty when it is up to date. */
export function jobDrift(s: DeploySettings, j: ObservedJob, want: { schedule: string; body: string } = { schedule: s.schedule, body: MESSAGE_BODY }): string[] {
  const why: string[] = [];
  if (j.schedule !== want.schedule) why.push(`schedule ${j.schedule ?? 'unset'} -> ${want.schedule}`);
  if (j.timeZone !== s.timeZone) why.push(`time zone ${j.timeZone ?? 'unset'} -> ${s.timeZone}`);
  if (j.topicName !== topicName(s)) why.push(`topic ${j.topicName ?? 'unset'} -> ${topicName(s)}`);
  if (j.body !== want.body) why.push(`message body -> ${want.body}`);
  return why;
}

/**
 * Problems that no step can fix: reported before anything changes. Throws a ConfigError listing all.
 */
export function planProblems(s: DeploySettings, o: Observed): string[] {
  const problems: string[] = regionProblems(s.region, o.regions);
  const hasUsableVersion = o.secret.exists && o.secret.latest !== undefined;
  if (!hasUsableVersion && s.skeySha256 === undefined) {
    problems.push(
      `DUO_SKEY: required: the secret ${s.secretName} ${o.secret.exists ? 'has no enabled latest version' : 'does not exist yet'}; ` +
        'set DUO_SKEY (the Admin API secret key) in the environment for this run',
    );
  }
  if (o.fn.exists && o.fn.environment !== undefined && o.fn.environment !== 'GEN_2') {
    problems.push(
      `--name: a 1st gen function ${s.functionName} exists in ${s.region}; it cannot become a Cloud Run function in place: ` +
        'delete it (gcloud functions delete) or choose another --name',
    );
  }
  if (o.fn.exists && o.fn.state === 'DEPLOYING') {
    problems.push(`the function ${s.functionName} is being deployed by another operation: wait for it to finish and run deploy again`);
  }
  if (s.topic === GUIDE_TOPIC && o.guide.fn !== undefined) {
    problems.push(
      `--topic: ${GUIDE_TOPIC} also triggers Google's guide function ${o.guide.fn.name}: every scheduled run would collect twice; ` +
        'choose another topic (or delete the guide function first)',
    );
  }
  if (s.accounts !== undefined) {
    if (s.accounts.workTopic === GUIDE_TOPIC && o.guide.fn !== undefined) {
      problems.push(
        `--work-topic: ${GUIDE_TOPIC} also triggers Google's guide function ${o.guide.fn.name}: it would run on every work message; ` +
          'choose another work topic (or delete the guide function first)',
      );
    }
    // Eventarc cannot move a trigger to another topic; deploy never deletes, so this is the operator's call.
    const t = o.workTrigger;
    if (t.exists && t.transportTopic !== undefined && t.transportTopic !== workTopicName(s)) {
      const name = workTriggerName(s.functionName);
      problems.push(
        `--work-topic: the Eventarc trigger ${name} exists on ${t.transportTopic}, not ${workTopicName(s)}, and a trigger's topic cannot be changed: ` +
          `delete it (gcloud eventarc triggers delete ${name} --location=${s.region} --project=${s.project}) and run deploy again, or deploy with --work-topic ${t.transportTopic.split('/').pop() ?? ''}`,
      );
    }
  }
  return problems;
}

/** Why the work trigger differs from what deploy makes (its topic aside, a problem of its own); empty when it matches. */
export function triggerDrift(s: DeploySettings, t: ObservedTrigger): string[] {
  const why: string[] = [];
  if (t.service !== s.functionName) why.push(`destination ${t.service ?? 'unset'} -> ${s.functionName}`);
  if (t.region !== s.region) why.push(`destination region ${t.region ?? 'unset'} -> ${s.region}`);
  if (t.eventType !== PUBSUB_EVENT_TYPE) why.push(`event type ${t.eventType ?? 'unset'} -> ${PUBSUB_EVENT_TYPE}`);
  if (t.serviceAccount?.toLowerCase() !== serviceAccountEmail(s).toLowerCase()) why.push('service account');
  return why;
}

/** The ordered steps that bring the project from `o` to `s`. Empty when nothing differs. */
export function planDeploy(s: DeploySettings, o: Observed): DeployStep[] {
  const problems = planProblems(s, o);
  if (problems.length) throw new ConfigError(problems);
  const probes = probeCommands(s);
  const steps: DeployStep[] = [];
  const email = serviceAccountEmail(s);
  const member = sa(s);

  // --pause-guide-job: before anything else, so a failure later leaves no second collector scheduled.
  if (s.guideCollector === 'pause') {
    for (const job of activeGuideJobs(o)) {
      steps.push({
        id: 'guide-job-pause',
        description: `pause Google's guide job ${job.name}, so that one collector runs (resume undoes it; nothing is deleted)`,
        argv: [...pauseCommand(s, job.name), Q],
        check: probes.guideJobs,
      });
    }
  }

  const enabled = new Set(o.enabledApis);
  const apis = requiredApis(s);
  const missingApis = apis.filter((api) => !enabled.has(api));
  if (missingApis.length) {
    steps.push({
      id: 'apis',
      description: `enable ${missingApis.length === apis.length ? 'the' : `${missingApis.length} missing`} APIs the collector needs`,
      argv: ['services', 'enable', ...missingApis, P(s), Q],
      check: probes.apis,
    });
  }

  if (!o.bucket.exists) {
    steps.push({
      id: 'bucket',
      description: `create the bucket ${bucketUrl(s)} in ${s.region} (uniform access, no public access)`,
      argv: [
        'storage',
        'buckets',
        'create',
        bucketUrl(s),
        P(s),
        `--location=${s.region}`,
        '--default-storage-class=STANDARD',
        '--uniform-bucket-level-access',
        '--public-access-prevention',
        Q,
      ],
      check: probes.bucket,
    });
  }

  if (!o.serviceAccount.exists) {
    steps.push({
      id: 'service-account',
      description: `create the collector's service account ${email}`,
      argv: [
        'iam',
        'service-accounts',
        'create',
        s.serviceAccountName,
        P(s),
        '--display-name=duo-secops collector',
        `--description=Runs the ${s.functionName} function: writes gs://${s.bucket}, reads the secret ${s.secretName}`,
        Q,
      ],
      check: probes.serviceAccount,
    });
  }

  const bucketPolicy = o.bucket.exists ? o.bucket.policy : {};
  if (!hasMember(bucketPolicy, COLLECTOR_BUCKET_ROLE, member)) {
    steps.push({
      id: 'bucket-collector-role',
      description: `let the collector write objects and replace its checkpoint in ${bucketUrl(s)} only (${COLLECTOR_BUCKET_ROLE} on the bucket)`,
      argv: ['storage', 'buckets', 'add-iam-policy-binding', bucketUrl(s), P(s), `--member=${member}`, `--role=${COLLECTOR_BUCKET_ROLE}`, Q],
      check: probes.bucketPolicy,
    });
  }

  if (!o.secret.exists) {
    steps.push({
      id: 'secret',
      description: `create the Secret Manager secret ${s.secretName} for the Duo secret key`,
      argv: ['secrets', 'create', s.secretName, P(s), '--replication-policy=automatic', Q],
      check: probes.secret,
    });
  }

  const latest = o.secret.exists ? o.secret.latest : undefined;
  const newKey = s.skeySha256 !== undefined && (latest === undefined || latest.sha256 !== s.skeySha256);
  if (newKey) {
    steps.push({
      id: 'secret-version',
      description:
        latest === undefined
          ? `store DUO_SKEY as the first version of ${s.secretName} (read from stdin)`
          : `store the changed DUO_SKEY as a new version of ${s.secretName} (read from stdin)`,
      argv: ['secrets', 'versions', 'add', s.secretName, P(s), '--data-file=-', Q],
      check: latest === undefined ? probes.secretLatest : probes.secretValue,
      stdin: 'skey',
    });
  }

  const secretPolicy = o.secret.exists ? o.secret.policy : {};
  if (!hasMember(secretPolicy, SECRET_ACCESSOR_ROLE, member)) {
    steps.push({
      id: 'secret-accessor-role',
      description: `let the collector read the secret ${s.secretName} only (${SECRET_ACCESSOR_ROLE} on the secret)`,
      argv: ['secrets', 'add-iam-policy-binding', s.secretName, P(s), `--member=${member}`, `--role=${SECRET_ACCESSOR_ROLE}`, Q],
      check: probes.secretPolicy,
    });
  }

  if (!o.topic.exists) {
    steps.push({
      id: 'topic',
      description: `create the Pub/Sub topic ${s.topic} that Cloud Scheduler publishes to`,
      argv: ['pubsub', 'topics', 'create', s.topic, P(s), Q],
      check: probes.topic,
    });
  }

  if (s.accounts !== undefined) {
    if (!o.workTopic.exists) {
      steps.push({
        id: 'work-topic',
        description: `create the Pub/Sub topic ${s.accounts.workTopic} that the scheduled run publishes the work on, one message per (account, stream)`,
        argv: ['pubsub', 'topics', 'create', s.accounts.workTopic, P(s), Q],
        check: probes.workTopic,
      });
    }
    if (!hasMember(o.workTopic.exists ? o.workTopic.policy : {}, PUBLISHER_ROLE, member)) {
      steps.push({
        id: 'work-topic-publisher-role',
        description: `let the collector publish the work on ${s.accounts.workTopic} only (${PUBLISHER_ROLE} on the topic)`,
        argv: ['pubsub', 'topics', 'add-iam-policy-binding', s.accounts.workTopic, P(s), `--member=${member}`, `--role=${PUBLISHER_ROLE}`, Q],
        check: probes.workTopicPolicy,
      });
    }
  }

  const drift = o.fn.exists ? functionDrift(s, o.fn) : [];
  // A running instance keeps the key it read at its first event: a new revision starts new instances,
  // which read the new version. Only for a replaced key; the first version precedes the first deploy.
  if (o.fn.exists && drift.length === 0 && newKey && latest !== undefined) drift.push('the secret key changed (new instances read the new version)');
  if (!o.fn.exists || drift.length) {
    steps.push({
      id: 'function',
      description: o.fn.exists
        ? `redeploy the function ${s.functionName}: ${drift.join('; ')}`
        : `deploy the function ${s.functionName} (${RUNTIME}, ${MEMORY}, ${TIMEOUT_SECONDS} s, triggered by ${s.topic}` +
          `${s.accounts ? `, and by ${s.accounts.workTopic} through the trigger below; at most ${s.accounts.maxInstances} instances` : ''})`,
      argv: [
        'functions',
        'deploy',
        s.functionName,
        '--gen2',
        P(s),
        `--region=${s.region}`,
        `--runtime=${RUNTIME}`,
        `--entry-point=${ENTRY_POINT}`,
        `--source=${s.source.dir}`,
        `--trigger-topic=${s.topic}`,
        `--trigger-service-account=${email}`,
        `--service-account=${email}`,
        `--memory=${MEMORY}`,
        `--timeout=${TIMEOUT_SECONDS}s`,
        `--max-instances=${maxInstances(s)}`,
        `--ingress-settings=${INGRESS}`,
        envVarsFlag(functionEnv(s)),
        `--update-labels=${SOURCE_LABEL}=${sourceLabelValue(s.source.hash)}`,
        Q,
      ],
      check: probes.fn,
    });
  }

  const invokerPolicy = o.fn.exists ? o.fn.invokerPolicy : {};
  if (!hasMember(invokerPolicy, INVOKER_ROLE, member)) {
    steps.push({
      id: 'function-invoker-role',
      description: `let the Pub/Sub trigger (the collector's account) invoke ${s.functionName} only (${INVOKER_ROLE} on its service)`,
      argv: ['run', 'services', 'add-iam-policy-binding', s.functionName, P(s), `--region=${s.region}`, `--member=${member}`, `--role=${INVOKER_ROLE}`, Q],
      check: probes.fnPolicy,
    });
  }

  if (s.accounts !== undefined) steps.push(...workTriggerSteps(s, o));

  const jobArgs = [
    s.job,
    P(s),
    `--location=${s.region}`,
    `--schedule=${s.schedule}`,
    `--time-zone=${s.timeZone}`,
    `--topic=${s.topic}`,
    `--message-body=${MESSAGE_BODY}`,
    Q,
  ];
  if (!o.job.exists) {
    steps.push({
      id: 'job',
      description: `create the Cloud Scheduler job ${s.job} (${s.schedule}, ${s.timeZone}) publishing to ${s.topic}`,
      argv: ['scheduler', 'jobs', 'create', 'pubsub', ...jobArgs],
      check: probes.job,
    });
  } else {
    const why = jobDrift(s, o.job);
    if (why.length) {
      steps.push({
        id: 'job',
        description: `update the Cloud Scheduler job ${s.job}: ${why.join('; ')}`,
        argv: ['scheduler', 'jobs', 'update', 'pubsub', ...jobArgs],
        check: probes.job,
        });
    }
  }

  if (s.verifyDaily !== undefined) steps.push(...verifyJobSteps(s, o, s.verifyDaily.repair));

  if (s.secopsServiceAccount !== undefined) {
    const reader = `serviceAccount:${s.secopsServiceAccount}`;
    if (!hasMember(bucketPolicy, SECOPS_BUCKET_ROLE, reader)) {
      steps.push({
        id: 'bucket-secops-role',
        description: `let the SecOps feed read ${bucketUrl(s)} (${SECOPS_BUCKET_ROLE} on the bucket for ${s.secopsServiceAccount})`,
        argv: ['storage', 'buckets', 'add-iam-policy-binding', bucketUrl(s), P(s), `--member=${reader}`, `--role=${SECOPS_BUCKET_ROLE}`, Q],
        check: probes.bucketPolicy,
        });
    }
  }

  if (s.alerts !== undefined) steps.push(...alertSteps(s, o, s.alerts));
  return steps;
}

/**
 * Accounts mode: the second trigger of the function's Cloud Run service, from the work topic, as the
 * collector's account (which holds run.invoker on that service already). After the function, whose
 * service it names; before the job, so the first scheduled dispatch finds it.
 */
function workTriggerSteps(s: DeploySettings, o: Observed): DeployStep[] {
  const name = workTriggerName(s.functionName);
  const common = [
    `--location=${s.region}`,
    `--destination-run-service=${s.functionName}`,
    `--destination-run-region=${s.region}`,
    `--event-filters=type=${PUBSUB_EVENT_TYPE}`,
  ];
  const check = probeCommands(s).workTrigger;
  if (!o.workTrigger.exists) {
    return [{
      id: 'work-trigger',
      description: `create the Eventarc trigger ${name}: each message on ${workTopicOf(s)} calls ${s.functionName} (as the collector's account)`,
      argv: ['eventarc', 'triggers', 'create', name, P(s), ...common, `--transport-topic=${workTopicName(s)}`, `--service-account=${serviceAccountEmail(s)}`, Q],
      check,
    }];
  }
  const why = triggerDrift(s, o.workTrigger);
  if (!why.length) return [];
  return [{
    id: 'work-trigger',
    description: `update the Eventarc trigger ${name}: ${why.join('; ')}`,
    argv: ['eventarc', 'triggers', 'update', name, P(s), ...common, `--service-account=${serviceAccountEmail(s)}`, Q],
    check,
  }];
}

/** The second job: the same topic, once a day, asking the function to verify yesterday (UTC). */
function verifyJobSteps(s: DeploySettings, o: Observed, repair: boolean): DeployStep[] {
  const name = verifyJobName(s.job);
  const body = verifyMessageBody(repair);
  const args = [name, P(s), `--location=${s.region}`, `--schedule=${VERIFY_SCHEDULE}`, `--time-zone=${s.timeZone}`, `--topic=${s.topic}`, `--message-body=${body}`, Q];
  const check = probeCommands(s).verifyJob;
  if (!o.verifyJob.exists) {
    return [{
      id: 'verify-job',
      description: `create the Cloud Scheduler job ${name} (${VERIFY_SCHEDULE}, ${s.timeZone}) asking ${s.functionName} to verify yesterday${repair ? ' and repair it' : ''}`,
      argv: ['scheduler', 'jobs', 'create', 'pubsub', ...args],
      check,
    }];
  }
  const why = jobDrift(s, o.verifyJob, { schedule: VERIFY_SCHEDULE, body });
  if (!why.length) return [];
  return [{ id: 'verify-job', description: `update the Cloud Scheduler job ${name}: ${why.join('; ')}`, argv: ['scheduler', 'jobs', 'update', 'pubsub', ...args], check }];
}

/** Log-based metrics on the function's log lines, then the alert policies on them (monitoring.ts). */
function alertSteps(s: DeploySettings, o: Observed, alerts: { channel: string; lagMinutes: number }): DeployStep[] {
  const probes = probeCommands(s);
  const steps: DeployStep[] = [];
  const metrics = logMetrics(s.functionName);
  for (const name of METRIC_NAMES) {
    const want = metrics[name];
    const got = o.metrics[name];
    const why = got === undefined ? [] : metricDrift(want, got);
    if (got !== undefined && !why.length) continue;
    steps.push({
      id: 'log-metric',
      description: got === undefined ? `create the log-based metric ${name}: ${want.description}` : `update the log-based metric ${name}: ${why.join(', ')}`,
      argv: ['logging', 'metrics', got === undefined ? 'create' : 'update', name, P(s), '--config-from-file=-', Q],
      input: JSON.stringify(want),
      check: probes[METRIC_PROBE[name]],
    });
  }
  const policies = alertPolicies(s.functionName, alerts.channel, alerts.lagMinutes);
  for (const kind of ALERT_KINDS) {
    const want = policies[kind];
    const got = findPolicy(o.policies, s.functionName, kind);
    if (got !== undefined && got.userLabels[POLICY_SPEC] === want.userLabels[POLICY_SPEC]) continue;
    steps.push({
      id: 'alert-policy',
      description:
        got === undefined
          ? `create the alert policy "${want.displayName}", notifying ${alerts.channel}`
          : `update the alert policy "${want.displayName}" (${got.name}): its conditions or channel differ`,
      argv: got === undefined ? ['alpha', 'monitoring', 'policies', 'create', P(s), `--policy=${JSON.stringify(want)}`, Q] : ['alpha', 'monitoring', 'policies', 'update', got.name, P(s), `--policy=${JSON.stringify(want)}`, Q],
      check: probes.policies,
    });
  }
  return steps;
}

/** Things worth saying that need no change (or that deploy deliberately does not change). */
export function planNotes(s: DeploySettings, o: Observed): string[] {
  const notes: string[] = [];
  if (o.bucket.exists && o.bucket.uniformAccess === false) {
    notes.push(`${bucketUrl(s)} uses fine-grained access (ACLs); the bucket-level roles still apply, uniform access is recommended`);
  }
  if (o.job.exists && o.job.state !== undefined && o.job.state !== 'ENABLED') {
    notes.push(`the Cloud Scheduler job ${s.job} is ${o.job.state}: resume it with gcloud scheduler jobs resume ${s.job} --location=${s.region}`);
  }
  if (o.secret.exists && o.secret.latest !== undefined && s.skeySha256 === undefined) {
    notes.push(`DUO_SKEY not set: the secret ${s.secretName} keeps its current version`);
  }
  return notes;
}
