/**
 * The Terraform module under deploy/terraform: formatted (`terraform fmt -check`, when terraform is
 * installed), and building the same resources with the same settings as `duo-secops deploy`
 * (parsed offline with @cdktf/hcl2json: the providers cannot be fetched here, so no validate/plan).
 * The stream logic (streams.tf and the variables' validations) needs no provider: the installed
 * terraform evaluates it offline with `terraform console`, in a folder holding only those two files,
 * and the feed resource's own for_each and log type expressions are evaluated there too.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAME, DEFAULT_SCHEDULE, DEFAULT_SECRET, DEFAULT_SERVICE_ACCOUNT, TIME_ZONE } from '../../src/entry/commands/deploy.js';
import { feedDisplayName, LOG_TYPE_LABELS, prefixEnv, secopsFeeds } from '../../src/deploy/feeds.js';
import { functionEnv } from '../../src/deploy/plan.js';
import { ACCOUNTS_ENV, DEFAULT_MAX_INSTANCES, PUBLISHER_ROLE, PUBSUB_EVENT_TYPE, RPM_ENV, type AccountsSettings } from '../../src/deploy/accounts.js';
import { alertPolicies, LAG_BUCKETS, logMetrics, METRIC_NAMES, MONITORING_APIS, VERIFY_SCHEDULE, verifyJobName, verifyMessageBody } from '../../src/deploy/monitoring.js';
import { STREAM_NAMES, STREAMS, type StreamName } from '../../src/duo/streams.js';
import { defaultFor, prefixSettingOf } from '../../src/config.js';
import { DEFAULT_STREAM_PREFIXES, deploySettings } from '../support/deploy-settings.js';
import { COLLECTOR_BUCKET_ROLE, ENTRY_POINT, INVOKER_ROLE, MAX_INSTANCES, MEMORY, REQUIRED_APIS, RETRY_POLICY, RUNTIME, SECOPS_BUCKET_ROLE, SECRET_ACCESSOR_ROLE, TIMEOUT_SECONDS } from '../../src/deploy/plan.js';

const MODULE = fileURLToPath(new URL('../../deploy/terraform', import.meta.url));

type Block = Record<string, unknown>;
interface Hcl {
  resource?: Record<string, Record<string, Block[]>>;
  variable?: Record<string, Block[]>;
  locals?: Block[];
  terraform?: Block[];
  module?: Record<string, Block[]>;
  data?: Record<string, Record<string, Block[]>>;
  moved?: Block[];
}

async function tfFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory() && !e.name.startsWith('.')) out.push(...(await tfFiles(p)));
    else if (e.isFile() && e.name.endsWith('.tf')) out.push(p);
  }
  return out.sort();
}

/** One block's single nested block (hcl2json turns every nested block into a list). */
const one = (b: unknown, key: string): Block => {
  const list = (b as Block)[key] as Block[] | undefined;
  expect(list, `block ${key}`).toHaveLength(1);
  return list![0]!;
};

let root: Hcl;
const parsed: Record<string, Hcl> = {};

beforeAll(async () => {
  for (const file of await tfFiles(MODULE)) parsed[relative(MODULE, file)] = (await parse(file, await readFile(file, 'utf8'))) as Hcl;
  // The module itself: the top-level files merged, as Terraform reads a folder.
  root = {};
  for (const [file, hcl] of Object.entries(parsed)) {
    if (file.includes('/')) continue;
    for (const [type, byName] of Object.entries(hcl.resource ?? {})) root.resource = { ...root.resource, [type]: { ...root.resource?.[type], ...byName } };
    root.variable = { ...root.variable, ...hcl.variable };
    root.locals = [...(root.locals ?? []), ...(hcl.locals ?? [])];
    root.terraform = [...(root.terraform ?? []), ...(hcl.terraform ?? [])];
    root.moved = [...(root.moved ?? []), ...(hcl.moved ?? [])];
  }
});

const resource = (type: string, name: string): Block => {
  const r = root.resource?.[type]?.[name];
  expect(r, `${type}.${name}`).toBeDefined();
  return r![0]!;
};
const variableDefault = (name: string): unknown => root.variable?.[name]?.[0]?.default;

const TF_ENV = { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null', CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1' };
const hasTerraform = spawnSync('terraform', ['version'], { env: TF_ENV }).status === 0;
if (!hasTerraform) console.warn('terraform.test.ts: terraform is not on PATH: skipping `terraform fmt -check` and the offline evaluation (the HCL checks still run)');

/** An expression as HCL wrote it: hcl2json wraps a whole expression in `${…}`. */
const expr = (v: unknown): string => String(v).replace(/^\$\{([\s\S]*)\}$/, '$1');

const REQUIRED_VARS = { project_id: 'acme-prod', region: 'us-central1', bucket_name: 'acme-duo', duo_ikey: 'DIX', duo_api_host: 'api-1.duosecurity.com', source_archive: 'x.zip' };

/**
 * Evaluates one expression with the module's variables and streams.tf only (no provider needed):
 * the JSON value, or the refusal terraform printed.
 */
async function evaluate(dir: string, vars: Record<string, unknown>, expression: string): Promise<{ value: unknown } | { refused: string }> {
  const varFile = join(dir, 'case.tfvars.json');
  await writeFile(varFile, JSON.stringify({ ...REQUIRED_VARS, ...vars }));
  const r = spawnSync('terraform', ['console', '-no-color', `-var-file=${varFile}`], { cwd: dir, env: TF_ENV, input: `jsonencode(${expression})\n`, encoding: 'utf8' });
  // A refused variable is an error on stderr; the console still evaluates what does not depend on it.
  if (r.status !== 0 || r.stderr.includes('Error:')) return { refused: (r.stdout + r.stderr).replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ') };
  const last = r.stdout.trim().split('\n').pop() ?? '';
  return { value: JSON.parse(JSON.parse(last) as string) };
}

describe('deploy/terraform', () => {
  it.skipIf(!hasTerraform)('is terraform fmt clean', () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', MODULE], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' }, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has the files a module needs, and an example that uses it', () => {
    expect(Object.keys(parsed)).toEqual(['accounts.tf', 'alerts.tf', 'examples/basic/main.tf', 'main.tf', 'monitoring.tf', 'outputs.tf', 'streams.tf', 'variables.tf', 'versions.tf']);
    const example = parsed['examples/basic/main.tf']!;
    expect(example.module?.duo_secops?.[0]?.source).toBe('../..');
    expect(Object.keys(example.data?.archive_file ?? {})).toEqual(['function_source']);
  });

  it('requires google and google-beta, and a Terraform with write-only arguments', () => {
    const tf = root.terraform![0]!;
    expect(tf.required_version).toBe('>= 1.11');
    const providers = one(tf, 'required_providers');
    expect(Object.keys(providers).sort()).toEqual(['google', 'google-beta']);
  });

  it('runs the function as the CLI deploys it: nodejs22, 512 MiB, 600 s, Pub/Sub trigger, same environment', () => {
    const fn = resource('google_cloudfunctions2_function', 'collector');
    const build = one(fn, 'build_config');
    expect(build.runtime).toBe(RUNTIME);
    expect(build.entry_point).toBe(ENTRY_POINT);
    const service = one(fn, 'service_config');
    expect(service.available_memory).toBe(MEMORY);
    expect(service.timeout_seconds).toBe(TIMEOUT_SECONDS);
    // One instance, MAX_INSTANCES, unless in accounts mode (local.max_instances, evaluated below).
    expect(MAX_INSTANCES).toBe(1);
    expect(service.max_instance_count).toBe('${local.max_instances}');
    expect(service.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    expect(service.service_account_email).toBe('${local.collector_email}');
    // The stream variables (local.stream_env, evaluated below) merged with the rest, as deploy sets them.
    const env = expr(service.environment_variables);
    expect(env).toMatch(/^merge\(local\.stream_env, \{/);
    expect(env).toMatch(/\}, local\.rpm_env, local\.accounts_env\)$/);
    const fixed = Object.fromEntries([...env.matchAll(/^\s*([A-Z_]+)\s*=\s*(.+)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    expect(Object.keys(fixed).sort()).toEqual(['DUO_API_HOST', 'DUO_IKEY', 'DUO_SKEY_SECRET', 'GCS_BUCKET', 'RUN_BUDGET_SECONDS']);
    // The run budget follows the timeout, as deploy sets it.
    expect(fixed.RUN_BUDGET_SECONDS).toBe(`"${Number(service.timeout_seconds) - 60}"`);
    expect(fixed.DUO_SKEY_SECRET).toBe('"${google_secret_manager_secret.skey.id}/versions/latest"');
    const trigger = one(fn, 'event_trigger');
    expect(trigger.pubsub_topic).toBe('${google_pubsub_topic.trigger.id}');
    expect(trigger.event_type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
    expect(trigger.retry_policy).toBe(RETRY_POLICY);
    expect(trigger.service_account_email).toBe('${local.collector_email}');
  });

  it('grants on the bucket, the secret and the function service, never on the project', () => {
    const types = Object.keys(root.resource ?? {});
    expect(types.filter((t) => /^google_(project|organization|folder)_iam_/.test(t))).toEqual([]);
    expect(resource('google_storage_bucket_iam_member', 'collector').role).toBe(COLLECTOR_BUCKET_ROLE);
    const reader = resource('google_storage_bucket_iam_member', 'secops_reader');
    expect(reader.role).toBe(SECOPS_BUCKET_ROLE);
    expect(reader.member).toBe('serviceAccount:${var.secops_service_account}');
    expect(resource('google_secret_manager_secret_iam_member', 'collector').role).toBe(SECRET_ACCESSOR_ROLE);
    const invoker = resource('google_cloud_run_service_iam_member', 'invoker');
    expect(invoker.role).toBe(INVOKER_ROLE);
    expect(invoker.service).toBe('${google_cloudfunctions2_function.collector.name}');
  });

  it('keeps the bucket private and uniform, and the key out of the state', () => {
    const bucket = resource('google_storage_bucket', 'logs');
    expect(bucket.uniform_bucket_level_access).toBe(true);
    expect(bucket.public_access_prevention).toBe('enforced');
    const version = resource('google_secret_manager_secret_version', 'skey');
    expect(version.secret_data_wo).toBe('${var.duo_skey}');
    expect(version).not.toHaveProperty('secret_data');
    expect(root.variable?.duo_skey?.[0]).toMatchObject({ sensitive: true, ephemeral: true });
  });

  it('has the same defaults, APIs and schedule as the CLI', () => {
    expect(variableDefault('schedule')).toBe(DEFAULT_SCHEDULE);
    expect(variableDefault('time_zone')).toBe(TIME_ZONE);
    expect(variableDefault('name')).toBe(DEFAULT_NAME);
    expect(variableDefault('secret_id')).toBe(DEFAULT_SECRET);
    expect(variableDefault('prefix')).toBe('duo-telephony');
    // The guide's account whatever the name, as the CLI: created, or used as it is.
    expect(variableDefault('service_account_id')).toBe(DEFAULT_SERVICE_ACCOUNT);
    expect(variableDefault('create_service_account')).toBe(true);
    const locals = Object.assign({}, ...(root.locals ?? [])) as Block;
    expect(locals.apis).toEqual([...REQUIRED_APIS]);
    expect(locals.collector_email).toBe(
      '${var.create_service_account ? google_service_account.collector[0].email : "${var.service_account_id}@${var.project_id}.iam.gserviceaccount.com"}',
    );
    expect(resource('google_service_account', 'collector').count).toBe('${var.create_service_account ? 1 : 0}');
    expect(locals.topic_name).toBe('${coalesce(var.topic_name, "${var.name}-trigger")}');
    expect(variableDefault('duo_logs')).toEqual(['telephony']);
    expect(variableDefault('stream_prefixes')).toEqual({});
    const job = resource('google_cloud_scheduler_job', 'collect');
    expect(job.schedule).toBe('${var.schedule}');
    expect(one(job, 'pubsub_target')).toEqual({ topic_name: '${google_pubsub_topic.trigger.id}', data: '${base64encode("{}")}' });
  });

  it('can create the SecOps feeds (google-beta), one per selected stream, off by default; the telephony feed keeps its state', () => {
    const feed = resource('google_chronicle_feed', 'duo');
    expect(feed.provider).toBe('${google-beta}');
    expect(feed.for_each).toBe('${var.create_secops_feed ? local.secops_feeds : {}}');
    expect(feed.display_name).toBe('${each.value.display_name}');
    expect(variableDefault('create_secops_feed')).toBe(false);
    const details = one(feed, 'details');
    expect(details.feed_source_type).toBe('GOOGLE_CLOUD_STORAGE_V2');
    expect(String(details.log_type)).toMatch(/\/logTypes\/\$\{each\.value\.log_type\}$/);
    expect(one(details, 'gcs_v2_settings')).toMatchObject({ bucket_uri: '${each.value.feed_uri}', source_deletion_option: 'NEVER' });
    // The feed of the single-stream module is the telephony entry now, not a new one.
    expect(root.moved).toEqual([{ from: '${google_chronicle_feed.duo_telephony[0]}', to: '${google_chronicle_feed.duo["telephony"]}' }]);
  });
});

describe.skipIf(!hasTerraform)('deploy/terraform streams, evaluated offline by terraform', () => {
  let dir: string;
  /** The feed resource's for_each, and its log type and URI with each.value bound to v. */
  let feedsExpression: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-streams-'));
    for (const f of ['variables.tf', 'streams.tf', 'accounts.tf']) await copyFile(join(MODULE, f), join(dir, f));
    const feed = resource('google_chronicle_feed', 'duo');
    const details = one(feed, 'details');
    const bind = (e: string): string => e.replace(/each\.value/g, 'v');
    const logType = /\/logTypes\/\$\{([^}]+)\}$/.exec(String(details.log_type))![1]!;
    feedsExpression = `{ for k, v in (${expr(feed.for_each)}) : k => { log_type = ${bind(logType)}, uri = ${bind(expr(one(details, 'gcs_v2_settings').bucket_uri))} } }`;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates one feed per selected stream, with its log type and URI, and none unless asked', async () => {
    const table: Array<[StreamName[], Record<string, string>]> = [
      [['telephony'], {}],
      [['authentication', 'telephony'], {}],
      [[...STREAM_NAMES], { trust_monitor: 'duo/trust-monitor' }],
      [['administrator'], { administrator: 'admin' }],
    ];
    for (const [logs, prefixes] of table) {
      const got = await evaluate(dir, { duo_logs: logs, stream_prefixes: prefixes, create_secops_feed: true }, feedsExpression);
      const settings = deploySettings({ bucket: REQUIRED_VARS.bucket_name, logs: STREAM_NAMES.filter((n) => logs.includes(n)), streamPrefixes: { ...DEFAULT_STREAM_PREFIXES, ...prefixes } });
      const expected = Object.fromEntries(
        settings.logs.map((n) => [n, { log_type: STREAMS[n].logType, uri: `gs://acme-duo/${n === 'telephony' ? settings.prefix : settings.streamPrefixes[n]}/` }]),
      );
      expect(got, logs.join(',')).toEqual({ value: expected });
    }
    expect(await evaluate(dir, { duo_logs: [...STREAM_NAMES] }, feedsExpression)).toEqual({ value: {} });
  });

  it("gives the function deploy's stream variables, and the checkpoints and feed settings of each stream", async () => {
    const logs: StreamName[] = ['telephony', 'activity', 'trust_monitor'];
    const got = await evaluate(dir, { duo_logs: ['trust_monitor', 'telephony', 'activity'], stream_prefixes: { activity: 'logs/activity' } }, '{ env = local.stream_env, streams = local.streams, feeds = local.feed_settings }');
    if (!('value' in got)) throw new Error(got.refused);
    const value = got.value as { env: Record<string, string>; streams: Record<string, { state_key: string }>; feeds: Record<string, Record<string, unknown>> };
    const env = functionEnv(deploySettings({ logs, streamPrefixes: { ...DEFAULT_STREAM_PREFIXES, activity: 'logs/activity' } }));
    expect(value.env).toEqual(Object.fromEntries(Object.entries(env).filter(([k]) => k === 'DUO_LOGS' || k.startsWith('GCS_PREFIX'))));
    expect(Object.fromEntries(Object.entries(value.streams).map(([k, v]) => [k, v.state_key]))).toEqual({
      telephony: '_state/duo-telephony.json',
      activity: '_state/logs_activity.json',
      trust_monitor: '_state/duo-trust-monitor.json',
    });
    expect(value.feeds.activity).toMatchObject({ log_type: 'Duo Activity (DUO_ACTIVITY)', storage_bucket_url: 'gs://acme-duo/logs/activity/', source_deletion_option: 'Never' });
    expect(String(value.feeds.trust_monitor?.parser)).toContain('no default parser for DUO_TRUST_MONITOR');
  });

  it("has the collector's stream table: log types, labels, parsers, variables and default prefixes", async () => {
    const got = await evaluate(dir, {}, '{ names = local.stream_names, table = local.stream_table }');
    if (!('value' in got)) throw new Error(got.refused);
    const { names, table } = got.value as { names: string[]; table: Record<string, Record<string, unknown>> };
    expect(names).toEqual([...STREAM_NAMES]);
    for (const n of STREAM_NAMES) {
      expect(table[n], n).toEqual({
        log_type: STREAMS[n].logType,
        label: LOG_TYPE_LABELS[n],
        secops_parser: STREAMS[n].secopsParser,
        prefix_env: prefixEnv(n),
        default_prefix: defaultFor(prefixSettingOf(n), 'function'),
      });
    }
  });

  it('refuses unknown streams and prefixes that overlap or would share a checkpoint', async () => {
    const table: Array<[Record<string, unknown>, string]> = [
      [{ duo_logs: ['telephony', 'users'] }, 'duo_logs must name at least one of'],
      [{ duo_logs: [] }, 'duo_logs must name at least one of'],
      [{ stream_prefixes: { telephony: 'x' } }, "telephony's prefix is var.prefix"],
      [{ duo_logs: ['activity'], stream_prefixes: { activity: '_state' } }, 'not under _state'],
      [{ duo_logs: ['telephony', 'activity'], stream_prefixes: { activity: 'duo-telephony' } }, 'Each selected stream needs a prefix of its own'],
      [{ duo_logs: ['telephony', 'activity'], stream_prefixes: { activity: 'duo-telephony/activity' } }, 'Each selected stream needs a prefix of its own'],
      [{ duo_logs: ['activity', 'authentication'], stream_prefixes: { activity: 'a/b', authentication: 'a_b' } }, 'Each selected stream needs a prefix of its own'],
    ];
    for (const [vars, message] of table) {
      const got = await evaluate(dir, vars, '1');
      expect('refused' in got ? got.refused : 'accepted', JSON.stringify(vars)).toContain(message);
    }
    // Prefixes of streams that are not selected do not count.
    expect(await evaluate(dir, { duo_logs: ['telephony'], stream_prefixes: { activity: 'duo-telephony' } }, '1')).toEqual({ value: 1 });
  });
});

describe('deploy/terraform: the daily verify job and the alerts, as deploy --verify-daily and --alert-channel make them', () => {
  it('has the variables, off by default, with the CLI\'s defaults', () => {
    expect(variableDefault('verify_daily')).toBe(false);
    expect(variableDefault('verify_repair')).toBe(false);
    expect(variableDefault('alert_channel')).toBe('');
    expect(variableDefault('lag_alert_minutes')).toBe(120);
  });

  it('the verify job: <job>-verify, 30 3 * * * UTC, on the collection topic, only with verify_daily', () => {
    const job = resource('google_cloud_scheduler_job', 'verify');
    expect(job.count).toBe('${var.verify_daily ? 1 : 0}');
    expect(job.name).toBe(`\${local.job_name}${verifyJobName('')}`);
    expect(job.schedule).toBe(VERIFY_SCHEDULE);
    expect(job.time_zone).toBe(TIME_ZONE);
    expect(one(job, 'pubsub_target')).toEqual({ topic_name: '${google_pubsub_topic.trigger.id}', data: '${base64encode(local.verify_message)}' });
  });

  it('the metrics and policies exist only with alert_channel, with the names, kinds and extractors deploy gives them', () => {
    const counter = resource('google_logging_metric', 'counter');
    expect(counter.for_each).toBe('${local.alerting ? local.counter_metrics : {}}');
    expect(one(counter, 'metric_descriptor')).toMatchObject({ metric_kind: 'DELTA', value_type: 'INT64', unit: '1' });
    const lag = resource('google_logging_metric', 'lag');
    expect(lag.count).toBe('${local.alerting ? 1 : 0}');
    expect(lag.name).toBe('duo_secops_lag_ms');
    const want = logMetrics(DEFAULT_NAME).duo_secops_lag_ms;
    expect(lag.value_extractor).toBe(want.valueExtractor);
    expect(lag.label_extractors).toEqual(want.labelExtractors);
    expect(one(lag, 'metric_descriptor')).toMatchObject({ metric_kind: 'DELTA', value_type: 'DISTRIBUTION', unit: 'ms' });
    expect(one(one(lag, 'bucket_options'), 'exponential_buckets')).toEqual({ num_finite_buckets: LAG_BUCKETS.numFiniteBuckets, growth_factor: LAG_BUCKETS.growthFactor, scale: LAG_BUCKETS.scale });
    const policy = resource('google_monitoring_alert_policy', 'duo');
    expect(policy.for_each).toBe('${local.alerting ? local.alert_policies : {}}');
    expect(policy.notification_channels).toEqual(['${var.alert_channel}']);
    expect(policy.combiner).toBe('OR');
    const threshold = one(one(policy, 'conditions'), 'condition_threshold');
    expect(threshold).toMatchObject({ comparison: 'COMPARISON_GT', duration: '0s' });
    expect(resource('google_project_service', 'monitoring').for_each).toBe('${var.enable_apis && local.alerting ? toset(local.monitoring_apis) : toset([])}');
  });
});

describe.skipIf(!hasTerraform)('deploy/terraform alerts, evaluated offline by terraform', () => {
  let dir: string;
  const CHANNEL = 'projects/acme-prod/notificationChannels/42';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-alerts-'));
    for (const f of ['variables.tf', 'streams.tf', 'accounts.tf', 'alerts.tf']) await copyFile(join(MODULE, f), join(dir, f));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the verify message deploy sends, repair false or true', async () => {
    expect(await evaluate(dir, {}, 'local.verify_message')).toEqual({ value: verifyMessageBody(false) });
    expect(await evaluate(dir, { verify_daily: true, verify_repair: true }, 'local.verify_message')).toEqual({ value: verifyMessageBody(true) });
  });

  it('nothing is alerting without alert_channel; the APIs are the ones deploy enables', async () => {
    expect(await evaluate(dir, {}, 'local.alerting')).toEqual({ value: false });
    expect(await evaluate(dir, { alert_channel: CHANNEL }, '{ on = local.alerting, apis = local.monitoring_apis }')).toEqual({ value: { on: true, apis: [...MONITORING_APIS] } });
    const refused = await evaluate(dir, { alert_channel: 'my-channel' }, '1');
    expect('refused' in refused ? refused.refused : 'accepted').toContain('alert_channel must be empty or projects/PROJECT/notificationChannels/ID');
  });

  it('filters the metrics as deploy does, on this function\'s service', async () => {
    const got = await evaluate(dir, { alert_channel: CHANNEL, name: 'duo-eu' }, '{ counters = local.counter_metrics, lag = local.lag_metric }');
    if (!('value' in got)) throw new Error(got.refused);
    const value = got.value as { counters: Record<string, { filter: string; description: string; by_stream: boolean }>; lag: { filter: string; description: string } };
    const want = logMetrics('duo-eu');
    expect(Object.keys(value.counters).concat('duo_secops_lag_ms')).toEqual([...METRIC_NAMES]);
    for (const n of ['duo_secops_run_failed', 'duo_secops_verify_gaps'] as const) {
      expect(value.counters[n], n).toEqual({ filter: want[n].filter, description: want[n].description, by_stream: want[n].labelExtractors !== undefined });
    }
    expect(value.lag).toEqual({ filter: want.duo_secops_lag_ms.filter, description: want.duo_secops_lag_ms.description });
  });

  it('builds the three policies deploy builds, with the lag threshold', async () => {
    for (const minutes of [120, 45]) {
      const got = await evaluate(dir, { alert_channel: CHANNEL, lag_alert_minutes: minutes }, 'local.alert_policies');
      if (!('value' in got)) throw new Error(got.refused);
      const value = got.value as Record<string, { display_name: string; doc: string; condition: string; filter: string; threshold: number; period: string; aligner: string; reducer: string; group_by: string[] }>;
      const want = alertPolicies(DEFAULT_NAME, CHANNEL, minutes);
      expect(Object.keys(value).sort()).toEqual(Object.keys(want).sort());
      for (const [kind, p] of Object.entries(want)) {
        const c = p.conditions[0]!;
        const a = c.conditionThreshold.aggregations[0]!;
        expect(value[kind], kind).toEqual({
          display_name: p.displayName,
          doc: p.documentation.content,
          condition: c.displayName,
          filter: c.conditionThreshold.filter,
          threshold: c.conditionThreshold.thresholdValue,
          period: a.alignmentPeriod,
          aligner: a.perSeriesAligner,
          reducer: a.crossSeriesReducer,
          group_by: a.groupByFields ?? [],
        });
      }
      expect(value.lag?.threshold).toBe(minutes * 60_000);
    }
  });
});

describe('deploy/terraform: accounts mode, as deploy --accounts makes it', () => {
  it('has the variables, off by default, with the CLI\'s defaults', () => {
    expect(variableDefault('duo_accounts')).toBe('');
    expect(variableDefault('duo_accounts_exclude')).toBe('');
    expect(variableDefault('max_instances')).toBe(DEFAULT_MAX_INSTANCES);
    expect(variableDefault('account_feeds')).toEqual([]);
    expect(variableDefault('work_topic_name')).toBeNull();
    expect(variableDefault('requests_per_minute')).toBe('');
  });

  it('the work topic, the publisher grant on it alone, and the Eventarc trigger to the function\'s service, only in accounts mode', () => {
    const topic = resource('google_pubsub_topic', 'work');
    expect(topic.count).toBe('${local.accounts_mode ? 1 : 0}');
    expect(topic.name).toBe('${local.work_topic_name}');
    const grant = resource('google_pubsub_topic_iam_member', 'work_publisher');
    expect(grant).toMatchObject({ count: '${local.accounts_mode ? 1 : 0}', topic: '${google_pubsub_topic.work[0].name}', role: PUBLISHER_ROLE, member: '${local.collector_member}' });
    const trigger = resource('google_eventarc_trigger', 'work');
    expect(trigger).toMatchObject({ count: '${local.accounts_mode ? 1 : 0}', location: '${var.region}', name: '${local.work_trigger_name}', service_account: '${local.collector_email}' });
    expect(one(trigger, 'matching_criteria')).toEqual({ attribute: 'type', value: PUBSUB_EVENT_TYPE });
    // The service deploy names in its invoker grant: the function's own.
    expect(one(one(trigger, 'destination'), 'cloud_run_service')).toEqual({ service: '${google_cloudfunctions2_function.collector.name}', region: '${var.region}' });
    expect(one(one(trigger, 'transport'), 'pubsub')).toEqual({ topic: '${google_pubsub_topic.work[0].id}' });
  });
});

describe.skipIf(!hasTerraform)('deploy/terraform accounts mode, evaluated offline by terraform', () => {
  let dir: string;
  const A1 = 'DA1234567890ABCDEFGH';
  const A2 = 'DA0000000000ZYXWVUTS';
  const accounts = (over: Partial<AccountsSettings>): AccountsSettings => ({ accounts: 'all', exclude: [], maxInstances: DEFAULT_MAX_INSTANCES, workTopic: 'duo-secops-collector-work', accountFeeds: [], shareRate: true, ...over });
  const OURS = new Set<string>([...Object.values(ACCOUNTS_ENV), RPM_ENV]);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tf-accounts-'));
    for (const f of ['variables.tf', 'streams.tf', 'accounts.tf']) await copyFile(join(MODULE, f), join(dir, f));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("gives the function deploy's accounts variables and instance count; none and one instance when off", async () => {
    const table: Array<[Record<string, unknown>, AccountsSettings | undefined, string | undefined]> = [
      [{}, undefined, undefined],
      [{ max_instances: 30 }, undefined, undefined],
      [{ duo_accounts: 'all' }, accounts({}), undefined],
      [{ duo_accounts: 'all', duo_accounts_exclude: `${A2}`, max_instances: 25, requests_per_minute: '6' }, accounts({ exclude: [A2], maxInstances: 25 }), '6'],
      [{ duo_accounts: `${A1}, ${A2}`, account_feeds: [A2], work_topic_name: 'msp-work' }, accounts({ accounts: [A1, A2], accountFeeds: [A2], workTopic: 'msp-work' }), undefined],
      [{ duo_accounts: 'all', rate_per_child: true }, accounts({ shareRate: false }), undefined],
    ];
    for (const [vars, want, rpm] of table) {
      const got = await evaluate(dir, vars, '{ env = merge(local.rpm_env, local.accounts_env), max = local.max_instances }');
      const env = functionEnv(deploySettings({ project: REQUIRED_VARS.project_id, accounts: want, requestsPerMinute: rpm }));
      expect(got, JSON.stringify(vars)).toEqual({ value: { env: Object.fromEntries(Object.entries(env).filter(([k]) => OURS.has(k))), max: want?.maxInstances ?? 1 } });
    }
  });

  it('one feed per stream for every account by default; with account_feeds one per (account, stream), named and with the URI deploy prints', async () => {
    const expression = '{ for k, f in local.secops_feeds : k => { uri = f.feed_uri, name = f.display_name, account = f.account_id } }';
    const shared = await evaluate(dir, { duo_logs: ['telephony', 'authentication'], duo_accounts: 'all' }, expression);
    expect(shared).toEqual({ value: { telephony: { uri: 'gs://acme-duo/duo-telephony/', name: 'Duo Telephony logs', account: null }, authentication: { uri: 'gs://acme-duo/duo-authentication/', name: 'Duo Auth logs', account: null } } });
    const got = await evaluate(dir, { duo_logs: ['telephony', 'authentication'], duo_accounts: 'all', account_feeds: [A1, A2] }, expression);
    const want = secopsFeeds(deploySettings({ bucket: REQUIRED_VARS.bucket_name, logs: ['telephony', 'authentication'], accounts: accounts({ accountFeeds: [A1, A2] }) }));
    expect(want).toHaveLength(4);
    expect(got).toEqual({ value: Object.fromEntries(want.map((f) => [`${f.stream}/${f.account!}`, { uri: f.uri, name: feedDisplayName(f), account: f.account }])) });
    const settings = await evaluate(dir, { duo_accounts: A1, account_feeds: [A1] }, `local.feed_settings["telephony/${A1}"]`);
    expect(settings).toMatchObject({ value: { storage_bucket_url: `gs://acme-duo/duo-telephony/${A1}/`, feed_name: `Duo Telephony logs ${A1}`, asset_namespace: A1 } });
  });

  it('refuses what deploy refuses', async () => {
    const table: Array<[Record<string, unknown>, string]> = [
      [{ duo_accounts: 'da1234567890abcdefgh' }, 'duo_accounts must be empty, "all", or Duo account ids'],
      [{ duo_accounts: 'all', duo_accounts_exclude: 'x' }, 'duo_accounts_exclude must be Duo account ids'],
      [{ duo_accounts: A1, duo_accounts_exclude: A2 }, 'duo_accounts_exclude needs duo_accounts = "all"'],
      [{ duo_accounts: 'all', max_instances: 0 }, 'max_instances must be a whole number from 1 to 1000'],
      [{ duo_accounts: 'all', max_instances: 1.5 }, 'max_instances must be a whole number from 1 to 1000'],
      [{ account_feeds: [A1] }, 'account_feeds needs duo_accounts'],
      [{ duo_accounts: A1, account_feeds: [A2] }, 'account_feeds needs duo_accounts'],
      [{ duo_accounts: 'all', duo_accounts_exclude: A2, account_feeds: [A2] }, 'account_feeds needs duo_accounts'],
      [{ duo_accounts: 'all', account_feeds: [A1, A1] }, 'account_feeds must be distinct Duo account ids'],
      [{ requests_per_minute: 'fast' }, 'requests_per_minute must be empty, "auto" or a number above 0'],
      [{ duo_accounts: 'all', verify_daily: true }, 'verify_daily is not for duo_accounts'],
    ];
    for (const [vars, message] of table) {
      const got = await evaluate(dir, vars, '1');
      expect('refused' in got ? got.refused : 'accepted', JSON.stringify(vars)).toContain(message);
    }
    expect(await evaluate(dir, { duo_accounts: 'all', duo_accounts_exclude: A2, account_feeds: [A1], requests_per_minute: 'auto' }, '1')).toEqual({ value: 1 });
  });
});
