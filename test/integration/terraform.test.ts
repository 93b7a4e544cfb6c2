/**
 * The Terraform module under deploy/terraform: formatted (`terraform fmt -check`, when terraform is
 * installed), and building the same resources with the same settings as `duo-secops deploy`
 * (parsed offline with @cdktf/hcl2json: the providers cannot be fetched here, so no validate/plan).
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAME, DEFAULT_SCHEDULE, DEFAULT_SECRET, DEFAULT_SERVICE_ACCOUNT, TIME_ZONE } from '../../src/entry/commands/deploy.js';
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
  }
});

const resource = (type: string, name: string): Block => {
  const r = root.resource?.[type]?.[name];
  expect(r, `${type}.${name}`).toBeDefined();
  return r![0]!;
};
const variableDefault = (name: string): unknown => root.variable?.[name]?.[0]?.default;

const hasTerraform = spawnSync('terraform', ['version'], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' } }).status === 0;
if (!hasTerraform) console.warn('terraform.test.ts: terraform is not on PATH: skipping `terraform fmt -check` (the HCL checks still run)');

describe('deploy/terraform', () => {
  it.skipIf(!hasTerraform)('is terraform fmt clean', () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', MODULE], { env: { ...process.env, TF_CLI_CONFIG_FILE: '/dev/null' }, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('has the files a module needs, and an example that uses it', () => {
    expect(Object.keys(parsed)).toEqual(['examples/basic/main.tf', 'main.tf', 'outputs.tf', 'variables.tf', 'versions.tf']);
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
    expect(service.max_instance_count).toBe(MAX_INSTANCES);
    expect(service.ingress_settings).toBe('ALLOW_INTERNAL_ONLY');
    expect(service.service_account_email).toBe('${local.collector_email}');
    expect(Object.keys(service.environment_variables as Block).sort()).toEqual(['DUO_API_HOST', 'DUO_IKEY', 'DUO_SKEY_SECRET', 'GCS_BUCKET', 'GCS_PREFIX', 'RUN_BUDGET_SECONDS']);
    // The run budget follows the timeout, as deploy sets it.
    expect((service.environment_variables as Block).RUN_BUDGET_SECONDS).toBe(String(Number(service.timeout_seconds) - 60));
    expect((service.environment_variables as Block).DUO_SKEY_SECRET).toBe('${google_secret_manager_secret.skey.id}/versions/latest');
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
    expect(locals.feed_uri).toBe('gs://${var.bucket_name}/${var.prefix}/');
    const job = resource('google_cloud_scheduler_job', 'collect');
    expect(job.schedule).toBe('${var.schedule}');
    expect(one(job, 'pubsub_target')).toEqual({ topic_name: '${google_pubsub_topic.trigger.id}', data: '${base64encode("{}")}' });
  });

  it('can create the SecOps feed (google-beta), off by default', () => {
    const feed = resource('google_chronicle_feed', 'duo_telephony');
    expect(feed.provider).toBe('${google-beta}');
    expect(feed.count).toBe('${var.create_secops_feed ? 1 : 0}');
    expect(variableDefault('create_secops_feed')).toBe(false);
    const details = one(feed, 'details');
    expect(details.feed_source_type).toBe('GOOGLE_CLOUD_STORAGE_V2');
    expect(String(details.log_type)).toMatch(/\/logTypes\/DUO_TELEPHONY$/);
    expect(one(details, 'gcs_v2_settings')).toMatchObject({ bucket_uri: '${local.feed_uri}', source_deletion_option: 'NEVER' });
  });
});
