/**
 * Reads what the project holds, through read-only probes, into `Observed` for the planner. The probes
 * run in a fixed order and only where they can answer: a resource whose API is disabled cannot exist,
 * and a policy is read only from a resource that exists. Parsing gcloud's JSON is pure and exported
 * for tests.
 */
import { createHash } from 'node:crypto';
import { ConfigError } from '../errors.js';
import { GUIDE_FUNCTION, parseGuideFunction, parseGuideJobs, parseGuideService, type ObservedGuide } from './guide.js';
import {
  EMPTY_PROJECT,
  METRIC_PROBE,
  PROBE_API,
  probeCommands,
  type Bindings,
  type DeploySettings,
  type Observed,
  type ObservedFunction,
  type ObservedJob,
  type ObservedTrigger,
  type ProbeKey,
} from './plan.js';
import { METRIC_NAMES, parseMetric, parsePolicies, verifyJobName } from './monitoring.js';
import { parseRegions } from './regions.js';

export type ProbeResult = { found: true; json: unknown } | { found: false };

/** Runs one read-only gcloud command; "not found" is an answer, any other failure throws. */
export type ProbeRunner = (key: ProbeKey, argv: string[]) => Promise<ProbeResult>;

/** The digest compared between DUO_SKEY and the stored version; readSecret trims, so trim here too. */
export function secretDigest(value: string): string {
  return createHash('sha256').update(value.trim(), 'utf8').digest('hex');
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strMap = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));

export function parseEnabledApis(json: unknown): string[] {
  if (!Array.isArray(json)) return [];
  return json
    .map((s) => str(obj(obj(s).config).name) ?? str(obj(s).name)?.split('/').pop())
    .filter((n): n is string => n !== undefined);
}

/** Unconditional bindings only: a conditional one does not grant the role at all times. */
export function parsePolicy(json: unknown): Bindings {
  const out: Bindings = {};
  const bindings = obj(json).bindings;
  if (!Array.isArray(bindings)) return out;
  for (const b of bindings) {
    const role = str(obj(b).role);
    const members = obj(b).members;
    if (!role || !Array.isArray(members) || obj(b).condition !== undefined) continue;
    out[role] = [...(out[role] ?? []), ...members.filter((m): m is string => typeof m === 'string')];
  }
  return out;
}

/** `gcloud storage buckets describe` prints snake_case; the JSON API shape is accepted too. */
export function parseBucketUniformAccess(json: unknown): boolean | undefined {
  const j = obj(json);
  const flat = j.uniform_bucket_level_access;
  if (typeof flat === 'boolean') return flat;
  const nested = obj(obj(j.iamConfiguration).uniformBucketLevelAccess).enabled;
  return typeof nested === 'boolean' ? nested : undefined;
}

/** The digest of an accessed version's payload (base64, standard or URL-safe). The text is dropped here. */
export function parseSecretPayloadDigest(json: unknown): string | undefined {
  const data = str(obj(obj(json).payload).data);
  if (data === undefined) return undefined;
  return secretDigest(Buffer.from(data, 'base64').toString('utf8'));
}

const num = (v: unknown): number | undefined => {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

export function parseFunction(json: unknown, invokerPolicy: Bindings): ObservedFunction {
  const j = obj(json);
  const build = obj(j.buildConfig);
  const service = obj(j.serviceConfig);
  const trigger = obj(j.eventTrigger);
  return {
    environment: str(j.environment),
    state: str(j.state),
    runtime: str(build.runtime),
    entryPoint: str(build.entryPoint),
    availableMemory: str(service.availableMemory),
    timeoutSeconds: num(service.timeoutSeconds),
    maxInstanceCount: num(service.maxInstanceCount),
    ingressSettings: str(service.ingressSettings),
    serviceAccountEmail: str(service.serviceAccountEmail),
    environmentVariables: strMap(service.environmentVariables),
    pubsubTopic: str(trigger.pubsubTopic),
    triggerServiceAccountEmail: str(trigger.serviceAccountEmail),
    retryPolicy: str(trigger.retryPolicy),
    labels: strMap(j.labels),
    invokerPolicy,
  };
}

export function parseJob(json: unknown): ObservedJob {
  const j = obj(json);
  const target = obj(j.pubsubTarget);
  const data = str(target.data);
  return {
    schedule: str(j.schedule),
    timeZone: str(j.timeZone),
    topicName: str(target.topicName),
    body: data === undefined ? undefined : Buffer.from(data, 'base64').toString('utf8'),
    state: str(j.state),
  };
}

/** `gcloud eventarc triggers describe`: where it delivers, on which event, as whom, from which topic. */
export function parseTrigger(json: unknown): ObservedTrigger {
  const j = obj(json);
  const run = obj(obj(j.destination).cloudRun);
  const filters = Array.isArray(j.eventFilters) ? j.eventFilters.map(obj) : [];
  return {
    service: str(run.service),
    region: str(run.region),
    eventType: str(filters.find((f) => f.attribute === 'type')?.value),
    serviceAccount: str(j.serviceAccount),
    transportTopic: str(obj(obj(j.transport).pubsub).topic),
  };
}

/** Runs the probes in order and assembles what they found. */
export async function observe(s: DeploySettings, run: ProbeRunner): Promise<Observed> {
  const probes = probeCommands(s);
  const apis = await run('apis', probes.apis);
  if (!apis.found) throw new ConfigError([`--project: ${s.project} was not found, or this account cannot see it (gcloud projects list shows the ones it can)`]);
  const enabledApis = parseEnabledApis(apis.json);
  const enabled = new Set(enabledApis);
  const probe = async (key: Exclude<ProbeKey, 'apis'>): Promise<ProbeResult> =>
    enabled.has(PROBE_API[key]) ? run(key, probes[key]) : { found: false };
  const policy = async (key: 'bucketPolicy' | 'secretPolicy' | 'fnPolicy' | 'workTopicPolicy'): Promise<Bindings> => {
    const r = await probe(key);
    return r.found ? parsePolicy(r.json) : {};
  };

  const o: Observed = { ...EMPTY_PROJECT, enabledApis };

  // First, as it can refuse the whole run: which regions the project may run functions in.
  const regions = await probe('regions');
  if (regions.found) {
    const offered = parseRegions(regions.json);
    if (offered.length > 0) o.regions = offered;
  }

  const bucket = await probe('bucket');
  if (bucket.found) o.bucket = { exists: true, uniformAccess: parseBucketUniformAccess(bucket.json), policy: await policy('bucketPolicy') };

  if ((await probe('serviceAccount')).found) o.serviceAccount = { exists: true };

  if ((await probe('secret')).found) {
    const secretPolicy = await policy('secretPolicy');
    const latest = await probe('secretLatest');
    let latestVersion: { sha256: string | undefined } | undefined;
    if (latest.found && str(obj(latest.json).state) === 'ENABLED') {
      // The stored value is read only to compare it with a DUO_SKEY given for this run.
      const value = s.skeySha256 !== undefined ? await probe('secretValue') : { found: false as const };
      latestVersion = { sha256: value.found ? parseSecretPayloadDigest(value.json) : undefined };
    }
    o.secret = { exists: true, policy: secretPolicy, latest: latestVersion };
  }

  if ((await probe('topic')).found) o.topic = { exists: true };
  // Accounts mode only: without --accounts nothing of it is read, and nothing changes.
  if (s.accounts !== undefined && (await probe('workTopic')).found) o.workTopic = { exists: true, policy: await policy('workTopicPolicy') };

  const fn = await probe('fn');
  if (fn.found) o.fn = { exists: true, ...parseFunction(fn.json, await policy('fnPolicy')) };

  if (s.accounts !== undefined) {
    const trigger = await probe('workTrigger');
    if (trigger.found) o.workTrigger = { exists: true, ...parseTrigger(trigger.json) };
  }

  const job = await probe('job');
  if (job.found) o.job = { exists: true, ...parseJob(job.json) };

  // What --verify-daily and --alert-channel add, read only when asked for: without them nothing changes.
  if (s.verifyDaily !== undefined) {
    const verifyJob = await probe('verifyJob');
    if (verifyJob.found) o.verifyJob = { exists: true, ...parseJob(verifyJob.json) };
  }
  if (s.alerts !== undefined) {
    o.metrics = {};
    for (const name of METRIC_NAMES) {
      const metric = await probe(METRIC_PROBE[name]);
      if (metric.found) o.metrics[name] = parseMetric(metric.json);
    }
    const policies = await probe('policies');
    o.policies = policies.found ? parsePolicies(policies.json) : [];
  }

  o.guide = await observeGuide(s, probe);
  return o;
}

/**
 * Google's guide collector in the region: its function (unless --name makes it ours to manage) as
 * either API sees it, and the jobs that trigger it. Its description holds the guide's secret key in
 * clear: only the bucket, prefix and state key are kept.
 */
async function observeGuide(s: DeploySettings, probe: (key: Exclude<ProbeKey, 'apis'>) => Promise<ProbeResult>): Promise<ObservedGuide> {
  const guide: ObservedGuide = { fn: undefined, jobs: [] };
  if (s.functionName !== GUIDE_FUNCTION) {
    const fn = await probe('guideFunction');
    if (fn.found) guide.fn = parseGuideFunction(fn.json, GUIDE_FUNCTION);
    else {
      const svc = await probe('guideService');
      if (svc.found) guide.fn = parseGuideService(svc.json, GUIDE_FUNCTION);
    }
  }
  const jobs = await probe('guideJobs');
  if (jobs.found) guide.jobs = parseGuideJobs(jobs.json, s.project, [s.job, verifyJobName(s.job)]);
  return guide;
}
