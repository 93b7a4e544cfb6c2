/**
 * What `deploy --verify-daily` and `deploy --alert-channel` add, as pure data: the second Cloud Scheduler
 * job that asks the function to verify yesterday, the log-based metrics read from the function's JSON
 * log lines, and the alert policies on them. The planner (plan.ts) turns these into gcloud steps; the
 * Terraform module (deploy/terraform/monitoring.tf) builds the same, and its test compares the two.
 *
 * The log lines (jsonPayload of the function's Cloud Run service):
 * - `function.failed`, `stream.failed` or `work.refused` (severity ERROR): a run, a stream (in accounts
 *   mode a child's, which does not fail the invocation) or a work message failed -> counter duo_secops_run_failed
 * - `verify.finished` with `clean=false`, and `stream`: verify found gaps -> counter duo_secops_verify_gaps{stream}
 * - `run.finished` with `lagMs` and `stream`: how far the checkpoint is behind -> distribution duo_secops_lag_ms{stream}
 */
import { createHash } from 'node:crypto';

/** The verify job publishes to the collection job's topic on this schedule (UTC): yesterday is complete by then. */
export const VERIFY_SCHEDULE = '30 3 * * *';
export const VERIFY_JOB_SUFFIX = '-verify';
export const verifyJobName = (job: string): string => `${job}${VERIFY_JOB_SUFFIX}`;
/** The message the function reads as "verify yesterday's UTC day for every stream" (src/verify/daily.ts). */
export const verifyMessageBody = (repair: boolean): string => JSON.stringify({ verify: 'yesterday', repair });

export const DEFAULT_LAG_ALERT_MINUTES = 120;
/** The APIs the metrics and policies need, enabled only when alerts are asked for. */
export const MONITORING_APIS = ['logging.googleapis.com', 'monitoring.googleapis.com'] as const;

export const METRIC_NAMES = ['duo_secops_run_failed', 'duo_secops_verify_gaps', 'duo_secops_lag_ms'] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type AlertKind = 'run-failed' | 'verify-gaps' | 'lag';

/** A log-based metric as `gcloud logging metrics create --config-from-file` and the Logging API take it. */
export interface LogMetricConfig {
  description: string;
  filter: string;
  metricDescriptor: {
    metricKind: 'DELTA';
    valueType: 'INT64' | 'DISTRIBUTION';
    unit: string;
    labels?: Array<{ key: string; valueType: 'STRING'; description: string }>;
  };
  valueExtractor?: string;
  labelExtractors?: Record<string, string>;
  bucketOptions?: { exponentialBuckets: { numFiniteBuckets: number; growthFactor: number; scale: number } };
}

/** Lag buckets: from one minute up, each 15 % wider, so a percentile is within 15 % of the real lag. */
export const LAG_BUCKETS = { numFiniteBuckets: 100, growthFactor: 1.15, scale: 60_000 } as const;

const STREAM_LABEL = [{ key: 'stream', valueType: 'STRING' as const, description: 'the Duo log stream' }];
const STREAM_EXTRACTOR = { stream: 'EXTRACT(jsonPayload.stream)' };

/** The function's own log entries: a Cloud Run function logs as its Cloud Run service. */
export const functionLogFilter = (functionName: string): string =>
  `resource.type="cloud_run_revision" AND resource.labels.service_name="${functionName}"`;

export function logMetrics(functionName: string): Record<MetricName, LogMetricConfig> {
  const base = functionLogFilter(functionName);
  return {
    duo_secops_run_failed: {
      description: `duo-secops ${functionName}: failed runs, streams and work messages (function.failed, stream.failed, work.refused)`,
      filter: `${base} AND (jsonPayload.event="function.failed" OR jsonPayload.event="stream.failed" OR jsonPayload.event="work.refused")`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1' },
    },
    duo_secops_verify_gaps: {
      description: `duo-secops ${functionName}: days verify found missing, doubled or unknown events in, by stream (verify.finished, clean=false)`,
      filter: `${base} AND jsonPayload.event="verify.finished" AND jsonPayload.clean=false`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'INT64', unit: '1', labels: STREAM_LABEL },
      labelExtractors: STREAM_EXTRACTOR,
    },
    duo_secops_lag_ms: {
      description: `duo-secops ${functionName}: how far each stream's checkpoint is behind at the end of a run, in ms (run.finished lagMs)`,
      filter: `${base} AND jsonPayload.event="run.finished"`,
      metricDescriptor: { metricKind: 'DELTA', valueType: 'DISTRIBUTION', unit: 'ms', labels: STREAM_LABEL },
      valueExtractor: 'EXTRACT(jsonPayload.lagMs)',
      labelExtractors: STREAM_EXTRACTOR,
      bucketOptions: { exponentialBuckets: { ...LAG_BUCKETS } },
    },
  };
}

/** The Monitoring API's AlertPolicy, the fields deploy sets. */
export interface AlertPolicy {
  displayName: string;
  documentation: { content: string; mimeType: 'text/markdown' };
  userLabels: Record<string, string>;
  combiner: 'OR';
  enabled: boolean;
  notificationChannels: string[];
  conditions: Array<{
    displayName: string;
    conditionThreshold: {
      filter: string;
      comparison: 'COMPARISON_GT';
      thresholdValue: number;
      duration: string;
      aggregations: Array<{ alignmentPeriod: string; perSeriesAligner: string; crossSeriesReducer: string; groupByFields?: string[] }>;
      trigger: { count: number };
    };
  }>;
  alertStrategy: { autoClose: string };
}

/** The user label that says which deployment and alert a policy is; found again by it and its display name. */
export const POLICY_LABEL = 'duo-secops-alert';
/** The user label holding a digest of everything else deploy sets: a different digest means update. */
export const POLICY_SPEC_LABEL = 'duo-secops-spec';

export const policyDisplayName = (functionName: string, kind: AlertKind): string =>
  `duo-secops ${functionName}: ${kind === 'run-failed' ? 'a run failed' : kind === 'verify-gaps' ? 'verify found gaps' : 'collection lags behind'}`;

const metricFilter = (name: MetricName): string => `resource.type="cloud_run_revision" AND metric.type="logging.googleapis.com/user/${name}"`;

/** A policy's content without the spec label, digested: 32 hex digits fit a label value. */
export function policyDigest(p: AlertPolicy): string {
  const labels = Object.fromEntries(Object.entries(p.userLabels).filter(([k]) => k !== POLICY_SPEC_LABEL));
  return createHash('sha256').update(JSON.stringify({ ...p, userLabels: labels })).digest('hex').slice(0, 32);
}

export function alertPolicies(functionName: string, channel: string, lagMinutes: number): Record<AlertKind, AlertPolicy> {
  const policy = (kind: AlertKind, doc: string, condition: AlertPolicy['conditions'][number]): AlertPolicy => {
    const p: AlertPolicy = {
      displayName: policyDisplayName(functionName, kind),
      documentation: { content: doc, mimeType: 'text/markdown' },
      userLabels: { [POLICY_LABEL]: kind },
      combiner: 'OR',
      enabled: true,
      notificationChannels: [channel],
      conditions: [condition],
      alertStrategy: { autoClose: '604800s' },
    };
    p.userLabels[POLICY_SPEC_LABEL] = policyDigest(p);
    return p;
  };
  const any = (name: MetricName, display: string, groupBy: string[]): AlertPolicy['conditions'][number] => ({
    displayName: display,
    conditionThreshold: {
      filter: metricFilter(name),
      comparison: 'COMPARISON_GT',
      thresholdValue: 0,
      duration: '0s',
      aggregations: [{ alignmentPeriod: '600s', perSeriesAligner: 'ALIGN_SUM', crossSeriesReducer: 'REDUCE_SUM', ...(groupBy.length ? { groupByFields: groupBy } : {}) }],
      trigger: { count: 1 },
    },
  });
  const logs = `gcloud functions logs read ${functionName} --gen2`;
  return {
    'run-failed': policy(
      'run-failed',
      `A run, a stream or a work message of the duo-secops function ${functionName} failed (a \`function.failed\`, \`stream.failed\` or \`work.refused\` log line; in accounts mode it names the child account): its \`error_code\` and message say why. ` +
        `The next scheduled run resumes from the checkpoint. Logs: \`${logs}\`.`,
      any('duo_secops_run_failed', 'failed runs in 10 minutes > 0', []),
    ),
    'verify-gaps': policy(
      'verify-gaps',
      `The daily verify of ${functionName} found yesterday's stored logs differ from Duo's for a stream (a \`verify.finished\` line with ` +
        '`clean=false`: its `missing`, `doubled` and `unknown` counts). Run `duo-secops verify` for that day, with `--repair` to fill the gaps.',
      any('duo_secops_verify_gaps', 'verify found gaps', ['metric.label.stream']),
    ),
    lag: policy(
      'lag',
      `A stream's checkpoint of ${functionName} is more than ${lagMinutes} minutes behind (\`run.finished\` \`lagMs\`): ` +
        `runs fall behind or Duo answers slowly. Logs: \`${logs}\`.`,
      {
        displayName: `lag above ${lagMinutes} minutes`,
        conditionThreshold: {
          filter: metricFilter('duo_secops_lag_ms'),
          comparison: 'COMPARISON_GT',
          thresholdValue: lagMinutes * 60_000,
          duration: '0s',
          aggregations: [{ alignmentPeriod: '1800s', perSeriesAligner: 'ALIGN_PERCENTILE_99', crossSeriesReducer: 'REDUCE_MAX', groupByFields: ['metric.label.stream'] }],
          trigger: { count: 1 },
        },
      },
    ),
  };
}

export const ALERT_KINDS: readonly AlertKind[] = ['run-failed', 'verify-gaps', 'lag'];

/** A log-based metric as `gcloud logging metrics describe` prints it, reduced to what deploy compares. */
export interface ObservedMetric {
  filter: string | undefined;
  valueExtractor: string | undefined;
  labelExtractors: Record<string, string>;
  valueType: string | undefined;
}

export interface ObservedPolicy {
  /** projects/P/alertPolicies/ID */
  name: string;
  displayName: string;
  userLabels: Record<string, string>;
}

/** Why an existing metric differs from what deploy sets; empty when it matches. */
export function metricDrift(want: LogMetricConfig, got: ObservedMetric): string[] {
  const why: string[] = [];
  if (got.filter !== want.filter) why.push('filter');
  if (got.valueExtractor !== want.valueExtractor) why.push('value extractor');
  if (JSON.stringify(sortKeys(got.labelExtractors)) !== JSON.stringify(sortKeys(want.labelExtractors ?? {}))) why.push('label extractors');
  if (got.valueType !== undefined && got.valueType !== want.metricDescriptor.valueType) why.push(`value type ${got.valueType} -> ${want.metricDescriptor.valueType}`);
  return why;
}

const sortKeys = (r: Record<string, string>): Array<[string, string]> => Object.entries(r).sort(([a], [b]) => a.localeCompare(b));

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strMap = (v: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v)).filter((e): e is [string, string] => typeof e[1] === 'string'));

export function parseMetric(json: unknown): ObservedMetric {
  const j = obj(json);
  return {
    filter: str(j.filter),
    valueExtractor: str(j.valueExtractor),
    labelExtractors: strMap(j.labelExtractors),
    valueType: str(obj(j.metricDescriptor).valueType),
  };
}

/** Every policy of the project, as `gcloud alpha monitoring policies list` prints them. */
export function parsePolicies(json: unknown): ObservedPolicy[] {
  if (!Array.isArray(json)) return [];
  return json
    .map((p) => ({ name: str(obj(p).name) ?? '', displayName: str(obj(p).displayName) ?? '', userLabels: strMap(obj(p).userLabels) }))
    .filter((p) => p.name !== '');
}

/** Ours: the display name deploy gives it (it holds the function's name) and our label of that kind. */
export function findPolicy(policies: readonly ObservedPolicy[], functionName: string, kind: AlertKind): ObservedPolicy | undefined {
  const display = policyDisplayName(functionName, kind);
  return policies.find((p) => p.displayName === display && p.userLabels[POLICY_LABEL] === kind) ?? policies.find((p) => p.displayName === display);
}

/** `projects/P/notificationChannels/ID`, the form --alert-channel takes. */
export const ALERT_CHANNEL_PATTERN = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/notificationChannels\/[A-Za-z0-9_-]+$/;
