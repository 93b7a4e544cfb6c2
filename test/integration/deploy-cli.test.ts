/**
 * `duo-secops deploy` against a fake gcloud first on PATH (test/support/fake-gcloud.mjs) that records
 * every call and keeps the project's state, so a describe succeeds once a resource was created.
 * Proves: the dry run reads and changes nothing; a real run executes exactly the commands the dry run
 * printed, in that order; a second run executes no changing command; a change touches only what
 * changed; the secret key never appears in a recorded argv or in anything printed; Google's guide
 * collector, still scheduled, stops a real run unless it is paused first or kept on purpose; an unknown
 * region is refused when the project can say which it has, and only warned about when it cannot.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_NAME, DEFAULT_SCHEDULE, DEFAULT_SECRET, DEFAULT_SERVICE_ACCOUNT, register } from '../../src/entry/commands/deploy.js';
import { main } from '../../src/entry/main.js';
import { ERROR_CODES, EXIT_STATUS } from '../../src/exit-codes.js';
import type { CliIo } from '../../src/entry/io.js';
import { isCollectorError } from '../../src/errors.js';
import { COMMAND_PREFIX, formatCommand, PROBE_PREFIX } from '../../src/deploy/format.js';
import { createGcloud } from '../../src/deploy/gcloud.js';
import { guideDeleteCommands, parseGuideJobs, resumeCommand } from '../../src/deploy/guide.js';
import { EMPTY_PROJECT, planDeploy, probeCommands, REQUIRED_APIS } from '../../src/deploy/plan.js';
import { ALERT_KINDS, METRIC_NAMES, MONITORING_APIS, policyDisplayName, type AlertPolicy, type LogMetricConfig } from '../../src/deploy/monitoring.js';
import { INPUT_PREFIX } from '../../src/deploy/format.js';
import { emptyProject, GUIDE_SKEY, installFakeGcloud, withGuideCollector, type FakeGcloud, type FakeProjectState } from '../support/fake-gcloud.js';
import { deploySettings } from '../support/deploy-settings.js';

const PROJECT = 'acme-secops-prod';
const SKEY = 'Zq7Xr9SkEyV4lu3-never-print-me-0123456789';
const SKEY2 = 'rotated-Secret-Key-9876543210-never-print';
const BASE_ARGS = ['--project', PROJECT, '--region', 'us-central1', '--bucket', 'acme-duo-logs', '--secops-service-account', 'chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sink(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString('utf8'));
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

let dir: string;
let fake: FakeGcloud;

async function deploy(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  const stdout = sink();
  const stderr = sink();
  let code = 0;
  const io: CliIo = {
    stdout,
    stderr,
    stdin: new PassThrough().end(),
    env: { HOME: process.env.HOME, ...fake.env, DUO_IKEY: 'DIWJ8X6AEYOR5OMC6TQ1', DUO_API_HOST: 'api-1a2b3c4d.duosecurity.com', ...env },
    isTTY: false,
    setExitCode(c) {
      code = c;
    },
  };
  const program = new Command('duo-secops').exitOverride();
  register(program, io);
  try {
    await program.parseAsync(['deploy', ...args], { from: 'user' });
  } catch (err) {
    if (!isCollectorError(err)) throw err;
    stderr.write(`duo-secops: ${err.message}\n`);
    code = err.exitCode;
  }
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

const commandLines = (out: string): string[] => out.split('\n').filter((l) => l.startsWith(COMMAND_PREFIX)).map((l) => l.slice(COMMAND_PREFIX.length));
const probeLines = (out: string): string[] => out.split('\n').filter((l) => l.startsWith(PROBE_PREFIX)).map((l) => l.slice(PROBE_PREFIX.length));
const mutatingCalls = async (): Promise<string[]> => (await fake.calls()).filter((c) => c.mutating).map((c) => formatCommand(c.argv));

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploy-cli-'));
  fake = await installFakeGcloud(dir, emptyProject(PROJECT));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('deploy against a fake gcloud', () => {
  let dryRun: Run;

  it('--dry-run on an empty project reads only, and prints every command in order', async () => {
    dryRun = await deploy([...BASE_ARGS, '--dry-run'], { DUO_SKEY: SKEY });
    expect(dryRun.stderr).toBe('');
    expect(dryRun.code).toBe(0);
    const calls = await fake.calls();
    // With every API off, nothing else can exist: the one probe is the list of enabled APIs.
    expect(calls.map((c) => c.argv.slice(0, 2).join(' '))).toEqual(['services list']);
    expect(calls.every((c) => !c.mutating)).toBe(true);
    expect(probeLines(dryRun.stdout)).toEqual(calls.map((c) => formatCommand(c.argv)));
    expect(await fake.state()).toEqual(emptyProject(PROJECT));

    const lines = commandLines(dryRun.stdout);
    const verbs = lines.map((l) => l.split(' ').slice(1, 4).join(' '));
    expect(verbs).toEqual([
      'services enable artifactregistry.googleapis.com',
      'storage buckets create',
      'iam service-accounts create',
      'storage buckets add-iam-policy-binding',
      'secrets create duo-secops-skey',
      'secrets versions add',
      'secrets add-iam-policy-binding duo-secops-skey',
      'pubsub topics create',
      'functions deploy duo-secops-collector',
      'run services add-iam-policy-binding',
      'scheduler jobs create',
      'storage buckets add-iam-policy-binding',
    ]);
    expect(lines[0]).toBe(`gcloud services enable ${REQUIRED_APIS.join(' ')} --project=${PROJECT} --quiet`);
    expect(lines).toContain(
      `gcloud storage buckets add-iam-policy-binding gs://acme-duo-logs --project=${PROJECT} --member=serviceAccount:duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com --role=roles/storage.objectUser --quiet`,
    );
    expect(lines).toContain(
      `gcloud scheduler jobs create pubsub duo-secops-collector --project=${PROJECT} --location=us-central1 '--schedule=*/15 * * * *' --time-zone=Etc/UTC --topic=duo-secops-collector-trigger '--message-body={}' --quiet`,
    );
    const fn = lines.find((l) => l.includes('functions deploy')) ?? '';
    for (const part of ['--gen2', '--runtime=nodejs22', '--memory=512Mi', '--timeout=600s', '--entry-point=main', '--trigger-topic=duo-secops-collector-trigger', '--ingress-settings=internal-only']) {
      expect(fn).toContain(part);
    }
    expect(fn).toContain(`DUO_SKEY_SECRET=projects/${PROJECT}/secrets/duo-secops-skey/versions/latest`);
    expect(dryRun.stdout).toMatch(/Function source: \S+duo-secops-function-[0-9a-f]{16} \(\d+ files/);
    expect(dryRun.stdout).toContain('Storage bucket URL:     gs://acme-duo-logs/duo-telephony/');
    expect(dryRun.stdout).toContain('Dry run: nothing was changed. The staged source, as it would be uploaded: ');
    expect(dryRun.stdout + dryRun.stderr).not.toContain(SKEY);
  });

  it('a real run executes exactly the dry run\'s commands, in the same order, and says so', async () => {
    await fake.clearLog();
    const run = await deploy(BASE_ARGS, { DUO_SKEY: SKEY });
    expect(run.code, run.stderr).toBe(0);
    const executed = await mutatingCalls();
    expect(executed).toEqual(commandLines(dryRun.stdout));
    expect(commandLines(run.stdout)).toEqual(executed);
    expect(run.stdout).toContain('Done: 12 changes applied.');

    const s = await fake.state();
    const sa = `serviceAccount:duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com`;
    expect(s.apis).toEqual([...REQUIRED_APIS].sort());
    expect(s.buckets['acme-duo-logs']).toMatchObject({ location: 'US-CENTRAL1', uniform: true });
    expect(s.buckets['acme-duo-logs']!.policy).toEqual({
      'roles/storage.objectUser': [sa],
      'roles/storage.objectViewer': ['serviceAccount:chronicle-12345678@chronicle-gcp-prod.iam.gserviceaccount.com'],
    });
    expect(s.secrets['duo-secops-skey']!.policy).toEqual({ 'roles/secretmanager.secretAccessor': [sa] });
    expect(Buffer.from(s.secrets['duo-secops-skey']!.versions[0]!, 'base64').toString()).toBe(SKEY);
    expect(s.runPolicies['duo-secops-collector']).toEqual({ 'roles/run.invoker': [sa] });
    expect(s.jobs['duo-secops-collector']).toMatchObject({ schedule: '*/15 * * * *', timeZone: 'Etc/UTC' });
    expect(s.deploys).toBe(1);

    // The key went over stdin, and only there.
    const calls = await fake.calls();
    const add = calls.find((c) => c.argv.slice(0, 3).join(' ') === 'secrets versions add');
    expect(add?.stdinBytes).toBe(SKEY.length);
    expect(JSON.stringify(calls)).not.toContain(SKEY);
    expect(run.stdout + run.stderr).not.toContain(SKEY);
    // Same content, same folder: the dry run showed the very folder the real run uploaded.
    const folder = (out: string) => /Function source: (\S+)/.exec(out)?.[1];
    expect(folder(run.stdout)).toBe(folder(dryRun.stdout));
  });

  it('a second run with nothing changed executes no changing command', async () => {
    await fake.clearLog();
    const run = await deploy(BASE_ARGS, { DUO_SKEY: SKEY });
    expect(run.code, run.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([]);
    expect(commandLines(run.stdout)).toEqual([]);
    expect(run.stdout).toContain('Nothing to change: the project already matches these settings.');
    // With DUO_SKEY given, the stored value is read to compare it, then dropped.
    const probes = (await fake.calls()).map((c) => c.argv.slice(0, 3).join(' '));
    expect(probes).toContain('secrets versions access');
    expect(run.stdout + run.stderr).not.toContain(SKEY);
    expect((await fake.state()).deploys).toBe(1);
    // With every API on, the region is asked for and the guide's collector looked for, read-only.
    expect(probes).toEqual(expect.arrayContaining(['functions regions list', 'functions describe duo-telephony-logs-collector', 'run services describe', 'scheduler jobs list']));
    expect(run.stdout).not.toContain("Google's guide collector");
  });

  it('without DUO_SKEY the secret is neither read nor changed', async () => {
    await fake.clearLog();
    const run = await deploy(BASE_ARGS, {});
    expect(run.code, run.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([]);
    expect((await fake.calls()).some((c) => c.argv.includes('access'))).toBe(false);
    expect(run.stdout).toContain('DUO_SKEY not set: the secret duo-secops-skey keeps its current version');
  });

  it('a changed schedule updates only the job; a changed key adds a version and rolls the function onto it', async () => {
    await fake.clearLog();
    const sched = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], {});
    expect(sched.code, sched.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([
      `gcloud scheduler jobs update pubsub duo-secops-collector --project=${PROJECT} --location=us-central1 '--schedule=0 * * * *' --time-zone=Etc/UTC --topic=duo-secops-collector-trigger '--message-body={}' --quiet`,
    ]);
    expect(sched.stdout).toContain('schedule */15 * * * * -> 0 * * * *');

    await fake.clearLog();
    const rotate = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_SKEY: SKEY2 });
    expect(rotate.code, rotate.stderr).toBe(0);
    const rotated = await mutatingCalls();
    expect(rotated[0]).toBe(`gcloud secrets versions add duo-secops-skey --project=${PROJECT} --data-file=- --quiet`);
    expect(rotated.slice(1).map((c) => c.split(' ').slice(0, 4).join(' '))).toEqual(['gcloud functions deploy duo-secops-collector']);
    expect(rotate.stdout).toContain('the secret key changed (new instances read the new version)');
    const s = await fake.state();
    expect(s.secrets['duo-secops-skey']!.versions).toHaveLength(2);
    expect(s.deploys).toBe(2);
    expect(JSON.stringify(await fake.calls()) + rotate.stdout + rotate.stderr).not.toContain(SKEY2);
  });

  it('a changed Duo setting redeploys only the function, and says why', async () => {
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_API_HOST: 'api-99999999.duosecurity.com' });
    expect(run.code, run.stderr).toBe(0);
    const executed = await mutatingCalls();
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatch(/^gcloud functions deploy duo-secops-collector --gen2 /);
    expect(run.stdout).toContain('redeploy the function duo-secops-collector: environment DUO_API_HOST');
    expect((await fake.state()).deploys).toBe(3);
  });

  it('a resource deleted behind our back is recreated, nothing else', async () => {
    const s = await fake.state();
    delete s.topics['duo-secops-collector-trigger'];
    await fake.setState(s);
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_API_HOST: 'api-99999999.duosecurity.com' });
    expect(run.code, run.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([`gcloud pubsub topics create duo-secops-collector-trigger --project=${PROJECT} --quiet`]);
  });
});

describe('deploy of every log stream', () => {
  const ALL = ['--logs', 'telephony,authentication,activity,trust_monitor,administrator'];

  it('--dry-run plans one function, one job, one topic and one bucket, and prints five feeds with their log types', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'streams'), emptyProject(PROJECT));
    try {
      const dry = await deploy([...BASE_ARGS, ...ALL, '--prefix-trust-monitor', 'duo/trust-monitor', '--dry-run'], { DUO_SKEY: SKEY, GCS_PREFIX_ACTIVITY: 'duo-activity-logs' });
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      const lines = commandLines(dry.stdout);
      const count = (verb: string): number => lines.filter((l) => l.startsWith(`gcloud ${verb} `)).length;
      expect([count('functions deploy'), count('scheduler jobs create'), count('pubsub topics create'), count('storage buckets create')]).toEqual([1, 1, 1, 1]);
      expect(lines).toHaveLength(12);
      expect(dry.stdout).toContain(
        'collects Duo logs into SecOps: the telephony (DUO_TELEPHONY), authentication (DUO_AUTH), activity (DUO_ACTIVITY), trust monitor (DUO_TRUST_MONITOR) and administrator (DUO_ADMIN, being retired by Duo) logs',
      );
      const fn = lines.find((l) => l.startsWith('gcloud functions deploy'))!;
      expect(fn).toContain(';DUO_LOGS=telephony,authentication,activity,trust_monitor,administrator;');
      for (const v of ['GCS_PREFIX=duo-telephony', 'GCS_PREFIX_AUTHENTICATION=duo-authentication', 'GCS_PREFIX_ACTIVITY=duo-activity-logs', 'GCS_PREFIX_TRUST_MONITOR=duo/trust-monitor', 'GCS_PREFIX_ADMINISTRATOR=duo-administrator']) {
        expect(fn).toContain(`;${v};`);
      }

      const out = dry.stdout.split('\n');
      expect(out).toContain('SecOps feeds: 5, one per log stream, each made with SIEM Settings > Feeds > Add New Feed > Configure a single feed:');
      expect(out.filter((l) => l.startsWith('  Log type:')).map((l) => l.replace(/^\s*Log type:\s*/, ''))).toEqual([
        'Duo Telephony (DUO_TELEPHONY)',
        'Duo Auth (DUO_AUTH)',
        'Duo Activity (DUO_ACTIVITY)',
        'Duo Trust Monitor (DUO_TRUST_MONITOR)',
        'Duo Admin (DUO_ADMIN)',
      ]);
      expect(out.filter((l) => l.startsWith('  Storage bucket URL:')).map((l) => l.split(/\s+/).pop())).toEqual([
        'gs://acme-duo-logs/duo-telephony/',
        'gs://acme-duo-logs/duo-authentication/',
        'gs://acme-duo-logs/duo-activity-logs/',
        'gs://acme-duo-logs/duo/trust-monitor/',
        'gs://acme-duo-logs/duo-administrator/',
      ]);
      expect(out.filter((l) => l.startsWith('  Source deletion option: Never'))).toHaveLength(5);
      expect(out.filter((l) => l.includes('no default parser'))).toEqual([expect.stringContaining('DUO_TRUST_MONITOR')]);

      // The real run executes the very same commands, and the function holds every stream's variables.
      await fake.clearLog();
      const run = await deploy([...BASE_ARGS, ...ALL, '--prefix-trust-monitor', 'duo/trust-monitor'], { DUO_SKEY: SKEY, GCS_PREFIX_ACTIVITY: 'duo-activity-logs' });
      expect(run.code, run.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual(lines);
      const env = ((await fake.state()).functions[DEFAULT_NAME]!.serviceConfig as { environmentVariables: Record<string, string> }).environmentVariables;
      expect(env).toMatchObject({ DUO_LOGS: 'telephony,authentication,activity,trust_monitor,administrator', GCS_PREFIX_TRUST_MONITOR: 'duo/trust-monitor', GCS_PREFIX_ACTIVITY: 'duo-activity-logs' });

      // Nothing changed: nothing to do. Another selection: only the function is redeployed.
      await fake.clearLog();
      const again = await deploy([...BASE_ARGS, ...ALL, '--prefix-trust-monitor', 'duo/trust-monitor'], { GCS_PREFIX_ACTIVITY: 'duo-activity-logs' });
      expect(again.code, again.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);
      await fake.clearLog();
      const fewer = await deploy([...BASE_ARGS, '--logs', 'authentication,activity'], {});
      expect(fewer.code, fewer.stderr).toBe(0);
      const redeployed = await mutatingCalls();
      expect(redeployed.map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['gcloud functions deploy']);
      expect(fewer.stdout).toContain('environment GCS_PREFIX_ACTIVITY, DUO_LOGS');
      const after = ((await fake.state()).functions[DEFAULT_NAME]!.serviceConfig as { environmentVariables: Record<string, string> }).environmentVariables;
      expect(Object.keys(after).filter((k) => k.startsWith('GCS_PREFIX') || k === 'DUO_LOGS').sort()).toEqual(['DUO_LOGS', 'GCS_PREFIX_ACTIVITY', 'GCS_PREFIX_AUTHENTICATION']);
    } finally {
      fake = saved;
    }
  });

  it('refuses overlapping prefixes and unknown streams before calling gcloud', async () => {
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--logs', 'telephony,authentication,audit', '--prefix-authentication', 'duo-telephony/auth', '--dry-run'], { DUO_SKEY: SKEY });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--logs / DUO_LOGS: audit is not a Duo log stream');
    await fake.clearLog();
    const overlap = await deploy([...BASE_ARGS, '--logs', 'telephony,authentication', '--prefix-authentication', 'duo-telephony/auth', '--dry-run'], { DUO_SKEY: SKEY });
    expect(overlap.code).toBe(2);
    expect(overlap.stderr).toContain('GCS_PREFIX_AUTHENTICATION: duo-telephony/auth overlaps');
    expect(await fake.calls()).toEqual([]);
  });
});

describe('deploy --accounts (accounts mode)', () => {
  const A1 = 'DA1234567890ABCDEFGH';
  const A2 = 'DA0000000000ZYXWVUTS';
  const ACCOUNTS = ['--logs', 'telephony,authentication', '--accounts', 'all', '--accounts-exclude', A2, '--max-instances', '12'];
  const SA = `duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com`;

  it('--dry-run prints the work topic, grant and trigger with the rest, the fan-out and the sizing; a real run executes them; a second run nothing', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'accounts'), emptyProject(PROJECT));
    try {
      const plain = commandLines((await deploy([...BASE_ARGS, '--logs', 'telephony,authentication', '--dry-run'], { DUO_SKEY: SKEY })).stdout);
      const dry = await deploy([...BASE_ARGS, ...ACCOUNTS, '--dry-run'], { DUO_SKEY: SKEY });
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      expect(await fake.state()).toEqual(emptyProject(PROJECT));
      const lines = commandLines(dry.stdout);
      const added = lines.filter((l) => !plain.includes(l));
      expect(added.map((l) => l.split(' ').slice(0, 4).join(' '))).toEqual([
        'gcloud pubsub topics create',
        'gcloud pubsub topics add-iam-policy-binding',
        'gcloud functions deploy duo-secops-collector',
        'gcloud eventarc triggers create',
      ]);
      expect(added[0]).toBe(`gcloud pubsub topics create duo-secops-collector-work --project=${PROJECT} --quiet`);
      expect(added[1]).toBe(`gcloud pubsub topics add-iam-policy-binding duo-secops-collector-work --project=${PROJECT} --member=serviceAccount:${SA} --role=roles/pubsub.publisher --quiet`);
      expect(added[3]).toBe(
        `gcloud eventarc triggers create duo-secops-collector-work --project=${PROJECT} --location=us-central1 --destination-run-service=duo-secops-collector ` +
          `--destination-run-region=us-central1 --event-filters=type=google.cloud.pubsub.topic.v1.messagePublished ` +
          `--transport-topic=projects/${PROJECT}/topics/duo-secops-collector-work --service-account=${SA} --quiet`,
      );
      const fn = added[2]!;
      expect(fn).toContain('--max-instances=12');
      for (const v of ['DUO_ACCOUNTS=all', `DUO_ACCOUNTS_EXCLUDE=${A2}`, `WORK_TOPIC=projects/${PROJECT}/topics/duo-secops-collector-work`, 'FAN_OUT_INSTANCES=12']) expect(fn).toContain(v);
      expect(dry.stdout).toContain(`Accounts:       all children of the parent integration, except ${A2}`);
      expect(dry.stdout).toContain(`Work topic:     projects/${PROJECT}/topics/duo-secops-collector-work`);
      expect(dry.stdout).toContain('Max instances:  12: at most 12 collections run at once');
      expect(dry.stdout).toContain('Sizing: Duo may count every child');
      expect(dry.stdout).toContain('60 (REQUESTS_PER_MINUTE auto) / 12 a minute per endpoint');
      expect(dry.stdout).toContain('one feed per stream reads them all');

      await fake.clearLog();
      const run = await deploy([...BASE_ARGS, ...ACCOUNTS], { DUO_SKEY: SKEY });
      expect(run.code, run.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual(lines);
      const state = await fake.state();
      expect(state.topicPolicies?.['duo-secops-collector-work']).toEqual({ 'roles/pubsub.publisher': [`serviceAccount:${SA}`] });
      expect(state.triggers?.['duo-secops-collector-work']).toMatchObject({
        destination: { cloudRun: { service: 'duo-secops-collector', region: 'us-central1' } },
        serviceAccount: SA,
        transport: { pubsub: { topic: `projects/${PROJECT}/topics/duo-secops-collector-work` } },
      });
      const service = state.functions[DEFAULT_NAME]!.serviceConfig as { maxInstanceCount: number; environmentVariables: Record<string, string> };
      expect(service.maxInstanceCount).toBe(12);
      expect(service.environmentVariables).toMatchObject({ DUO_ACCOUNTS: 'all', DUO_ACCOUNTS_EXCLUDE: A2, DUO_LOGS: 'telephony,authentication' });

      await fake.clearLog();
      const again = await deploy([...BASE_ARGS, ...ACCOUNTS], {});
      expect(again.code, again.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);
      expect(again.stdout).toContain('Nothing to change');
      const probes = (await fake.calls()).map((c) => c.argv.slice(0, 3).join(' '));
      expect(probes).toEqual(expect.arrayContaining(['pubsub topics get-iam-policy', 'eventarc triggers describe']));

      // Per-account feeds: only the function's environment changes; the feeds are printed per (account, stream).
      await fake.clearLog();
      const feeds = await deploy([...BASE_ARGS, ...ACCOUNTS, '--account-feeds', A1], {});
      expect(feeds.code, feeds.stderr).toBe(0);
      expect((await mutatingCalls()).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['gcloud functions deploy']);
      expect(feeds.stdout).toContain('redeploy the function duo-secops-collector: environment ACCOUNT_FEEDS');
      expect(feeds.stdout).toContain(`Storage bucket URL:     gs://acme-duo-logs/duo-authentication/${A1}/`);
      expect(feeds.stdout).toContain(`Asset namespace:        ${A1}`);

      // Out of accounts mode: the function only; the work topic and trigger stay.
      await fake.clearLog();
      const off = await deploy([...BASE_ARGS, '--logs', 'telephony,authentication'], {});
      expect(off.code, off.stderr).toBe(0);
      expect((await mutatingCalls()).map((c) => c.split(' ').slice(0, 3).join(' '))).toEqual(['gcloud functions deploy']);
      expect(off.stdout).toContain('max instances 12 -> 1');
      const after = (await fake.state()).functions[DEFAULT_NAME]!.serviceConfig as { environmentVariables: Record<string, string> };
      expect(Object.keys(after.environmentVariables).filter((k) => /ACCOUNT|WORK_TOPIC|FAN_OUT/.test(k))).toEqual([]);
      expect((await fake.state()).triggers?.['duo-secops-collector-work']).toBeDefined();
    } finally {
      fake = saved;
    }
  });

  it('refuses bad account flags before calling gcloud', async () => {
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--accounts', 'DA1,da2', '--max-instances', '0', '--dry-run'], { DUO_SKEY: SKEY });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--accounts: must be all or account ids, comma-separated: DA1, da2: not an account id');
    expect(run.stderr).toContain('--max-instances: "0" must be a whole number from 1 to 1000');
    const without = await deploy([...BASE_ARGS, '--account-feeds', A1, '--dry-run'], { DUO_SKEY: SKEY });
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('--account-feeds: only with --accounts (accounts mode)');
    expect(await fake.calls()).toEqual([]);
  });
});

describe('deploy --verify-daily and --alert-channel', () => {
  const CHANNEL = `projects/${PROJECT}/notificationChannels/987654321`;
  const VERIFY_JOB = `gcloud scheduler jobs create pubsub duo-secops-collector-verify --project=${PROJECT} --location=us-central1 '--schedule=30 3 * * *' --time-zone=Etc/UTC --topic=duo-secops-collector-trigger`;

  it('--dry-run prints the verify job, three metrics with their configuration, and three policies notifying the channel', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'alerts-dry'), emptyProject(PROJECT));
    try {
      const plain = commandLines((await deploy([...BASE_ARGS, '--dry-run'], { DUO_SKEY: SKEY })).stdout);
      const dry = await deploy([...BASE_ARGS, '--verify-daily', '--alert-channel', CHANNEL, '--lag-alert-minutes', '90', '--dry-run'], { DUO_SKEY: SKEY });
      expect(dry.stderr).toBe('');
      expect(dry.code).toBe(0);
      expect(await fake.state()).toEqual(emptyProject(PROJECT));
      const lines = commandLines(dry.stdout);
      // Everything the plain deploy does, the APIs with Logging and Monitoring, and seven commands more.
      expect(lines[0]).toBe(`gcloud services enable ${[...REQUIRED_APIS, ...MONITORING_APIS].sort().join(' ')} --project=${PROJECT} --quiet`);
      expect(lines.slice(1).filter((l) => plain.includes(l))).toEqual(plain.slice(1));
      const added = lines.slice(1).filter((l) => !plain.includes(l));
      expect(added.map((l) => l.split(' ').slice(0, 5).join(' '))).toEqual([
        'gcloud scheduler jobs create pubsub',
        'gcloud logging metrics create duo_secops_run_failed',
        'gcloud logging metrics create duo_secops_verify_gaps',
        'gcloud logging metrics create duo_secops_lag_ms',
        'gcloud alpha monitoring policies create',
        'gcloud alpha monitoring policies create',
        'gcloud alpha monitoring policies create',
      ]);
      expect(added[0]).toBe(`${VERIFY_JOB} '--message-body={"verify":"yesterday","repair":false}' --quiet`);
      // The metrics' configuration, on stdin, is printed under each command.
      const inputs = dry.stdout.split('\n').filter((l) => l.startsWith(INPUT_PREFIX)).map((l) => JSON.parse(l.slice(INPUT_PREFIX.length)) as LogMetricConfig);
      expect(inputs.map((c) => c.filter.includes('resource.labels.service_name="duo-secops-collector"'))).toEqual([true, true, true]);
      expect(inputs[2]).toMatchObject({ valueExtractor: 'EXTRACT(jsonPayload.lagMs)', labelExtractors: { stream: 'EXTRACT(jsonPayload.stream)' } });
      const policies = added.slice(4).map((l) => JSON.parse(/'--policy=(.*)' --quiet$/.exec(l)![1]!.replace(/'\\''/g, "'")) as AlertPolicy);
      expect(policies.map((p) => p.notificationChannels)).toEqual([[CHANNEL], [CHANNEL], [CHANNEL]]);
      expect(policies[2]!.conditions[0]!.conditionThreshold.thresholdValue).toBe(90 * 60_000);

      const repair = commandLines((await deploy([...BASE_ARGS, '--verify-daily', '--verify-repair', '--dry-run'], { DUO_SKEY: SKEY })).stdout);
      expect(repair).toContain(`${VERIFY_JOB} '--message-body={"verify":"yesterday","repair":true}' --quiet`);
      expect(repair.filter((l) => /logging|monitoring/.test(l))).toEqual([]);
      expect(repair).toHaveLength(plain.length + 1);
    } finally {
      fake = saved;
    }
  });

  it('a real run creates the verify job once; a second run changes nothing; --verify-repair updates only that job', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'verify-real'), emptyProject(PROJECT));
    try {
      const first = await deploy([...BASE_ARGS, '--verify-daily'], { DUO_SKEY: SKEY });
      expect(first.code, first.stderr).toBe(0);
      expect(await mutatingCalls()).toContain(`${VERIFY_JOB} '--message-body={"verify":"yesterday","repair":false}' --quiet`);
      const job = (await fake.state()).jobs['duo-secops-collector-verify'] as { schedule: string; pubsubTarget: { topicName: string; data: string } };
      expect(job.schedule).toBe('30 3 * * *');
      expect(job.pubsubTarget.topicName).toBe(`projects/${PROJECT}/topics/duo-secops-collector-trigger`);
      expect(Buffer.from(job.pubsubTarget.data, 'base64').toString()).toBe('{"verify":"yesterday","repair":false}');

      await fake.clearLog();
      const again = await deploy([...BASE_ARGS, '--verify-daily'], {});
      expect(again.code, again.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);
      // Our own verify job, on our topic, is never taken for a job of Google's guide.
      expect(again.stdout).not.toContain("Google's guide collector");

      await fake.clearLog();
      const repair = await deploy([...BASE_ARGS, '--verify-daily', '--verify-repair'], {});
      expect(repair.code, repair.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([
        `gcloud scheduler jobs update pubsub duo-secops-collector-verify --project=${PROJECT} --location=us-central1 '--schedule=30 3 * * *' --time-zone=Etc/UTC --topic=duo-secops-collector-trigger '--message-body={"verify":"yesterday","repair":true}' --quiet`,
      ]);

      // Without the flag, deploy neither reads nor touches the job it made earlier.
      await fake.clearLog();
      const without = await deploy(BASE_ARGS, {});
      expect(without.code, without.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);
      expect((await fake.calls()).some((c) => c.argv.includes('duo-secops-collector-verify'))).toBe(false);
    } finally {
      fake = saved;
    }
  });

  it('a real run creates the three metrics and the three policies once; a new threshold updates only the lag policy', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'alerts-real'), emptyProject(PROJECT));
    try {
      const first = await deploy([...BASE_ARGS, '--alert-channel', CHANNEL], { DUO_SKEY: SKEY });
      expect(first.code, first.stderr).toBe(0);
      const state = await fake.state();
      const metrics = state.metrics ?? {};
      expect(Object.keys(metrics).sort()).toEqual(['duo_secops_lag_ms', 'duo_secops_run_failed', 'duo_secops_verify_gaps']);
      expect(metrics['duo_secops_verify_gaps']!.filter).toContain('jsonPayload.event="verify.finished" AND jsonPayload.clean=false');
      expect(metrics['duo_secops_lag_ms']!.valueExtractor).toBe('EXTRACT(jsonPayload.lagMs)');
      const policies = Object.values(state.alertPolicies ?? {});
      expect(policies).toHaveLength(3);
      for (const p of policies) expect(p.notificationChannels).toEqual([CHANNEL]);

      await fake.clearLog();
      const again = await deploy([...BASE_ARGS, '--alert-channel', CHANNEL], {});
      expect(again.code, again.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);

      await fake.clearLog();
      const threshold = await deploy([...BASE_ARGS, '--alert-channel', CHANNEL, '--lag-alert-minutes', '30'], {});
      expect(threshold.code, threshold.stderr).toBe(0);
      const changed = await mutatingCalls();
      expect(changed).toHaveLength(1);
      expect(changed[0]).toMatch(/^gcloud alpha monitoring policies update projects\/[^ ]+\/alertPolicies\/\d+ /);
      expect(Object.values((await fake.state()).alertPolicies ?? {})).toHaveLength(3);
    } finally {
      fake = saved;
    }
  });
});

describe('deploy refuses clearly', () => {
  it('lists every configuration problem at once, before calling gcloud', async () => {
    await fake.clearLog();
    const run = await deploy(['--project', 'Acme Prod', '--bucket', 'gs://x', '--prefix', '/', '--schedule', 'hourly', '--secops-service-account', 'someone@example.com'], {
      DUO_IKEY: '',
      DUO_API_HOST: 'https://api-1.duosecurity.com',
    });
    expect(run.code).toBe(2);
    for (const p of ['--project: must be a project ID', '--region: required', '--bucket: give the bucket name without gs://', '--prefix: must not be empty', '--schedule: "hourly"', '--secops-service-account:', 'DUO_IKEY / --ikey: required', 'DUO_API_HOST / --api-host: must be a host name']) {
      expect(run.stderr).toContain(p);
    }
    expect(await fake.calls()).toEqual([]);
  });

  it('asks for DUO_SKEY when the secret has no version yet', async () => {
    const other = await installFakeGcloud(join(dir, 'other'), emptyProject(PROJECT));
    const saved = fake;
    fake = other;
    try {
      const run = await deploy([...BASE_ARGS, '--dry-run'], {});
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('DUO_SKEY: required: the secret duo-secops-skey does not exist yet');
      expect((await other.calls()).every((c) => !c.mutating)).toBe(true);
    } finally {
      fake = saved;
    }
  });

  it('says how to log in when gcloud has no account, and changes nothing', async () => {
    await fake.clearLog();
    const run = await deploy(BASE_ARGS, { FAKE_GCLOUD_NOT_LOGGED_IN: '1', DUO_SKEY: SKEY });
    expect(run.code).toBe(6);
    expect(run.stderr).toContain('gcloud is not logged in');
    expect(run.stderr).toContain('gcloud auth login');
    expect(await mutatingCalls()).toEqual([]);
  });

  it('says how to get gcloud when there is none', async () => {
    const viaPath = await deploy(BASE_ARGS, { PATH: join(dir, 'empty-path'), DUO_SKEY: SKEY });
    expect(viaPath.code).toBe(6);
    expect(viaPath.stderr).toContain('gcloud not found (not on PATH): install the Google Cloud CLI');
    const viaFlag = await deploy([...BASE_ARGS, '--gcloud', join(dir, 'no', 'gcloud')], { DUO_SKEY: SKEY });
    expect(viaFlag.stderr).toContain(`gcloud not found (${join(dir, 'no', 'gcloud')})`);
  });

  it('--dry-run without a usable gcloud still prints the whole plan, as for a new project', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'fresh'), emptyProject(PROJECT));
    let fresh: string[];
    try {
      fresh = commandLines((await deploy([...BASE_ARGS, '--dry-run'], { DUO_SKEY: SKEY })).stdout);
    } finally {
      fake = saved;
    }
    expect(fresh.length).toBe(12);
    for (const env of [{ FAKE_GCLOUD_NOT_LOGGED_IN: '1' }, { PATH: join(dir, 'empty-path') }]) {
      // No DUO_SKEY either: a review should not need the secret.
      const run = await deploy([...BASE_ARGS, '--dry-run'], env);
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain('could not read the project: gcloud ');
      expect(run.stdout).toContain('The project was not read, so this is every command a new project needs');
      expect(run.stdout).toContain('DUO_SKEY is not set: a real run needs it');
      expect(commandLines(run.stdout)).toEqual(fresh);
    }
  });

  it('--gcloud runs the given executable', async () => {
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--schedule', '0 * * * *', '--dry-run', '--gcloud', join(fake.binDir, 'gcloud')], {
      PATH: join(dir, 'empty-path'),
      DUO_API_HOST: 'api-99999999.duosecurity.com',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Nothing to change');
  });
});

/** A project that followed Google's guide in us-central1, bucket duo-telephony-logs: what deploy finds. */
function guideProject(jobState: 'ENABLED' | 'PAUSED' | undefined): FakeProjectState {
  const base: FakeProjectState = {
    ...emptyProject(PROJECT),
    apis: ['cloudscheduler.googleapis.com', 'iam.googleapis.com', 'pubsub.googleapis.com', 'run.googleapis.com', 'storage.googleapis.com'],
    buckets: { 'duo-telephony-logs': { location: 'US-CENTRAL1', uniform: true, policy: {} } },
    serviceAccounts: { [`duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com`]: { displayName: 'duo-telephony-collector-sa' } },
  };
  return withGuideCollector(base, { region: 'us-central1', bucket: 'duo-telephony-logs', job: jobState !== undefined, ...(jobState ? { jobState } : {}) });
}
const GUIDE_ARGS = ['--project', PROJECT, '--region', 'us-central1', '--bucket', 'duo-telephony-logs'];

describe("Google's guide collector beside ours", () => {
  async function withProject<T>(name: string, state: FakeProjectState, body: () => Promise<T>): Promise<T> {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, name), state);
    try {
      return await body();
    } finally {
      fake = saved;
    }
  }

  it('still scheduled: a real run names it and the two ways on, stops with exit 8, and changes nothing', async () => {
    await withProject('guide-enabled', guideProject('ENABLED'), async () => {
      const before = await fake.state();
      const run = await deploy(GUIDE_ARGS, { DUO_SKEY: SKEY });
      expect(run.code).toBe(8);
      expect(await mutatingCalls()).toEqual([]);
      expect(await fake.state()).toEqual(before);
      expect(run.stdout).toContain("WARNING: Google's guide collector is still scheduled in acme-secops-prod (us-central1)");
      expect(run.stdout).toContain('Cloud Scheduler job duo-telephony-logs-1h: ENABLED, "0 * * * *", publishes to duo-telephony-trigger');
      expect(run.stdout).toContain('Cloud Run function duo-telephony-logs-collector (made in the console), writes gs://duo-telephony-logs/duo-telephony/');
      expect(run.stdout).toContain(`gcloud scheduler jobs delete duo-telephony-logs-1h --project=${PROJECT} --location=us-central1`);
      expect(run.stdout).toContain(`gcloud run services delete duo-telephony-logs-collector --project=${PROJECT} --region=us-central1`);
      expect(commandLines(run.stdout)).toEqual([]);
      expect(run.stderr).toContain('duo-secops: Google\'s guide collector is still scheduled: the Cloud Scheduler job duo-telephony-logs-1h in us-central1 is ENABLED');
      expect(run.stderr).toContain('--pause-guide-job');
      expect(run.stderr).toContain('--keep-guide-collector');
      // The guide keeps its secret key in its function's environment: read, never shown.
      expect(run.stdout + run.stderr).not.toContain(GUIDE_SKEY);
    });
  });

  it('--dry-run shows the finding and the plan, exits 0, and says a real run would stop', async () => {
    await withProject('guide-dry', guideProject('ENABLED'), async () => {
      const run = await deploy([...GUIDE_ARGS, '--dry-run'], { DUO_SKEY: SKEY });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain("WARNING: Google's guide collector is still scheduled");
      expect(run.stdout).toContain('A real run stops here, before changing anything (exit 8), unless run again with one of:');
      expect(run.stdout).toContain("A real run would stop before its first command (exit 8): Google's guide job is scheduled.");
      expect(commandLines(run.stdout).length).toBeGreaterThan(5);
      expect(commandLines(run.stdout).some((l) => l.includes('scheduler jobs pause'))).toBe(false);
      expect(await mutatingCalls()).toEqual([]);
      const withPause = await deploy([...GUIDE_ARGS, '--dry-run', '--pause-guide-job'], { DUO_SKEY: SKEY });
      expect(withPause.code, withPause.stderr).toBe(0);
      expect(commandLines(withPause.stdout)[0]).toBe(`gcloud scheduler jobs pause duo-telephony-logs-1h --project=${PROJECT} --location=us-central1 --quiet`);
      expect(withPause.stdout).not.toContain('A real run would stop');
      expect(await mutatingCalls()).toEqual([]);
    });
  });

  it('--pause-guide-job pauses the guide job first, then deploys, and carries on from its checkpoint', async () => {
    await withProject('guide-pause', guideProject('ENABLED'), async () => {
      const dry = await deploy([...GUIDE_ARGS, '--pause-guide-job', '--dry-run'], { DUO_SKEY: SKEY });
      await fake.clearLog();
      const run = await deploy([...GUIDE_ARGS, '--pause-guide-job'], { DUO_SKEY: SKEY });
      expect(run.code, run.stderr).toBe(0);
      const executed = await mutatingCalls();
      expect(executed[0]).toBe(`gcloud scheduler jobs pause duo-telephony-logs-1h --project=${PROJECT} --location=us-central1 --quiet`);
      expect(executed).toEqual(commandLines(dry.stdout));
      expect(executed.some((c) => c.includes(' delete '))).toBe(false);
      const s = await fake.state();
      expect(s.jobs['duo-telephony-logs-1h']!.state).toBe('PAUSED');
      expect(s.runServices?.['duo-telephony-logs-collector']).toBeDefined();
      expect(s.jobs['duo-secops-collector']).toMatchObject({ state: 'ENABLED' });
      expect(run.stdout).toContain(`gcloud scheduler jobs resume duo-telephony-logs-1h --project=${PROJECT} --location=us-central1`);
      expect(run.stdout).toContain("Same bucket and prefix: the first run carries on from the guide's checkpoint gs://duo-telephony-logs/duo-telephony/state.json");
      // Deployed next to the guide's: the guide's service account, reused, and its bucket.
      expect(executed.some((c) => c.includes('iam service-accounts create'))).toBe(false);
      expect(s.buckets['duo-telephony-logs']!.policy['roles/storage.objectUser']).toEqual([`serviceAccount:duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com`]);

      // Now paused: a later deploy only notes it.
      await fake.clearLog();
      const again = await deploy(GUIDE_ARGS, {});
      expect(again.code, again.stderr).toBe(0);
      expect(await mutatingCalls()).toEqual([]);
      expect(again.stdout).toContain('Its job is not enabled: nothing is collected twice while it stays so.');
    });
  });

  it('--keep-guide-collector deploys without pausing it, and says what that means', async () => {
    await withProject('guide-keep', guideProject('ENABLED'), async () => {
      const run = await deploy([...GUIDE_ARGS, '--keep-guide-collector'], { DUO_SKEY: SKEY });
      expect(run.code, run.stderr).toBe(0);
      const executed = await mutatingCalls();
      expect(executed.some((c) => c.includes('scheduler jobs pause'))).toBe(false);
      expect(executed.some((c) => c.startsWith('gcloud functions deploy duo-secops-collector'))).toBe(true);
      expect((await fake.state()).jobs['duo-telephony-logs-1h']!.state).toBe('ENABLED');
      expect(run.stdout).toContain('--keep-guide-collector: it keeps running.');
      expect(run.stdout).toContain('Both collectors write to gs://duo-telephony-logs/duo-telephony/');
    });
  });

  it('a paused guide job, or its function alone, is a note: the deploy goes ahead', async () => {
    for (const [name, state] of [['guide-paused', guideProject('PAUSED')], ['guide-fn-only', guideProject(undefined)]] as const) {
      await withProject(name, state, async () => {
        const run = await deploy(GUIDE_ARGS, { DUO_SKEY: SKEY });
        expect(run.code, run.stderr).toBe(0);
        expect(run.stdout).toContain("Google's guide collector is in acme-secops-prod (us-central1):");
        expect(run.stdout).not.toContain('WARNING');
        expect(run.stdout).toContain("Deploy never deletes anything of the guide's.");
        expect(run.stdout).toMatch(/Its job is not enabled|No Cloud Scheduler job in this region triggers it/);
        expect((await mutatingCalls()).some((c) => c.includes('scheduler jobs pause'))).toBe(false);
      });
    }
  });

  it('only the region looked in counts: the guide in another region is not this deploy\'s concern', async () => {
    const elsewhere = withGuideCollector({ ...guideProject(undefined), runServices: {} }, { region: 'europe-west1', bucket: 'duo-telephony-logs' });
    await withProject('guide-elsewhere', elsewhere, async () => {
      const run = await deploy([...GUIDE_ARGS, '--dry-run'], { DUO_SKEY: SKEY });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).not.toContain("Google's guide collector");
    });
  });
});

describe('--region', () => {
  it('refuses a region the project does not offer, with the closest names, before any change (exit 2)', async () => {
    const saved = fake;
    fake = await installFakeGcloud(join(dir, 'regions'), { ...emptyProject(PROJECT), apis: ['cloudfunctions.googleapis.com'], regions: ['us-central1', 'us-east1', 'europe-west1'] });
    try {
      for (const extra of [[], ['--dry-run']]) {
        const run = await deploy(['--project', PROJECT, '--region', 'us-central9', '--bucket', 'acme-duo-logs', ...extra], { DUO_SKEY: SKEY });
        expect(run.code).toBe(2);
        expect(run.stderr).toContain('--region: us-central9 is not a region where Cloud Run functions can run for this project (gcloud functions regions list); closest: us-central1');
      }
      expect(await mutatingCalls()).toEqual([]);
      expect((await fake.calls()).map((c) => c.argv.slice(0, 3).join(' '))).toContain('functions regions list');
    } finally {
      fake = saved;
    }
  });

  it('without gcloud, a dry run checks the built-in list and only warns', async () => {
    const run = await deploy(['--project', PROJECT, '--region', 'us-central9', '--bucket', 'acme-duo-logs', '--dry-run'], { PATH: join(dir, 'empty-path') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('Warning: --region: us-central9 is not among the regions this version knows (closest: us-central1');
    expect(run.stdout).toContain('(the project was not read)');
    // Every command for a new project (no --secops-service-account here: no reader grant).
    expect(commandLines(run.stdout).length).toBe(11);
    const known = await deploy(['--project', PROJECT, '--region', 'europe-west9', '--bucket', 'acme-duo-logs', '--dry-run'], { PATH: join(dir, 'empty-path') });
    expect(known.stdout).not.toContain('Warning: --region');
  });
});

describe('the executor', () => {
  it('retries a grant that does not see a just-created account yet, then succeeds', async () => {
    const f = await installFakeGcloud(join(dir, 'flaky'), { ...emptyProject(PROJECT), apis: ['storage.googleapis.com'], buckets: { b1: { location: 'US', uniform: true, policy: {} } }, serviceAccounts: { [`sa@${PROJECT}.iam.gserviceaccount.com`]: {} }, flakyBindings: 2 });
    const progress = sink();
    const g = createGcloud({ command: 'gcloud', env: { ...process.env, ...f.env }, progress, retryDelaysMs: [1, 1, 1] });
    const step = { id: 'bucket-collector-role' as const, description: 'grant', argv: ['storage', 'buckets', 'add-iam-policy-binding', 'gs://b1', `--project=${PROJECT}`, `--member=serviceAccount:sa@${PROJECT}.iam.gserviceaccount.com`, '--role=roles/storage.objectUser', '--quiet'] };
    await expect(g.run(step, {})).resolves.toBe('done');
    expect((await f.calls()).length).toBe(3);
    expect(progress.text()).toContain('not visible yet after a recent change: retrying');
    // Out of retries: the error names the step, gcloud's message and the command.
    await f.setState({ ...(await f.state()), flakyBindings: 5 });
    const failed = g.run(step, {});
    await expect(failed).rejects.toThrow(/^grant failed: ERROR: .*Service account sa@acme-secops-prod.iam.gserviceaccount.com does not exist/);
    await expect(failed).rejects.toThrow('command: gcloud storage buckets add-iam-policy-binding gs://b1');
  });

  it('says when a bucket name belongs to another project', async () => {
    const f = await installFakeGcloud(join(dir, 'foreign'), { ...emptyProject(PROJECT), apis: ['storage.googleapis.com'], foreignBuckets: ['taken'] });
    const g = createGcloud({ command: 'gcloud', env: { ...process.env, ...f.env }, progress: sink() });
    await expect(g.probe('bucket', ['storage', 'buckets', 'describe', 'gs://taken', `--project=${PROJECT}`, '--format=json', '--quiet'])).rejects.toThrow(
      'gs://taken exists but this account may not read it: the name is probably taken by another project',
    );
  });

  it('treats "already exists" on a create as done: someone made it meanwhile', async () => {
    const f = await installFakeGcloud(join(dir, 'exists'), { ...emptyProject(PROJECT), apis: ['pubsub.googleapis.com'], topics: { t1: {} } });
    const g = createGcloud({ command: 'gcloud', env: { ...process.env, ...f.env }, progress: sink() });
    await expect(g.run({ id: 'topic', description: 'topic', argv: ['pubsub', 'topics', 'create', 't1', `--project=${PROJECT}`, '--quiet'] }, {})).resolves.toBe('already-existed');
  });
});

describe('deploy --help', () => {
  it('lists every flag with its default, and the exit statuses deploy uses', async () => {
    const stdout = sink();
    const io: CliIo = { stdout, stderr: sink(), stdin: new PassThrough().end(), env: {}, isTTY: false, setExitCode() {} };
    expect(await main(['deploy', '--help'], io)).toBe(0);
    const help = stdout.text().replace(/\s+/g, ' ');
    for (const flag of ['--project', '--region', '--bucket', '--logs', '--prefix', '--prefix-authentication', '--prefix-activity', '--prefix-trust-monitor', '--prefix-administrator', '--schedule', '--secops-service-account', '--name', '--service-account-name', '--secret-name', '--topic', '--job', '--ikey', '--api-host', '--pause-guide-job', '--keep-guide-collector', '--verify-daily', '--verify-repair', '--alert-channel', '--lag-alert-minutes', '--stage-dir', '--stage-only', '--gcloud', '--dry-run']) {
      expect(help).toContain(`${flag} `);
    }
    for (const def of [`default ${DEFAULT_NAME}`, `default ${DEFAULT_SERVICE_ACCOUNT}, the guide's, whatever --name is`, `default ${DEFAULT_SECRET}`, 'default <name>-trigger', 'default duo-telephony)', `(default "${DEFAULT_SCHEDULE}")`]) {
      expect(help).toContain(def);
    }
    const exits = /Exit status: (.*?)More:/.exec(help)?.[1] ?? '';
    expect(exits).toContain(`${EXIT_STATUS.ok} ok`);
    expect(exits).toContain(`${EXIT_STATUS.config} configuration`);
    expect(exits).toContain(`${ERROR_CODES.DEPLOY_GCLOUD_UNAVAILABLE.exit} gcloud missing, not logged in or not allowed`);
    expect(ERROR_CODES.DEPLOY_DENIED.exit).toBe(ERROR_CODES.DEPLOY_GCLOUD_UNAVAILABLE.exit);
    expect(exits).toContain(`${ERROR_CODES.DEPLOY_STEP_FAILED.exit} a gcloud command failed`);
    expect(exits).toContain(`${ERROR_CODES.DEPLOY_GUIDE_COLLECTOR_ACTIVE.exit} Google's guide collector is still scheduled`);
    expect([...exits.matchAll(/(?:^|, )(\d+) /g)].map((m) => Number(m[1]))).toEqual([0, 2, 6, 7, 8]);
  });
});

describe('deploy --stage-only', () => {
  it('stages the function source for Terraform without gcloud or any other setting', async () => {
    await fake.clearLog();
    const into = join(dir, 'staged');
    const run = await deploy(['--stage-only', '--stage-dir', into], { PATH: join(dir, 'empty-path'), DUO_IKEY: '', DUO_API_HOST: '' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain(`Function source: ${into} (`);
    expect(run.stdout).toContain('zip -qr');
    expect(await fake.calls()).toEqual([]);
  });
});

// The installed Google Cloud CLI parses arguments before it looks for credentials: with an empty
// configuration folder (no account, so nothing can change anywhere) every command must get as far as
// "not logged in" (exit 1), never to "unrecognized arguments" or "invalid choice" (exit 2).
const realGcloud = spawnSync('gcloud', ['--version'], { encoding: 'utf8' }).status === 0;
if (!realGcloud) console.warn('deploy-cli.test.ts: gcloud is not installed: skipping the check of our arguments against its parser');

describe.skipIf(!realGcloud)('the installed gcloud accepts every command deploy can run', () => {
  it("probes, creates and updates; pauses Google's guide job, and what deploy prints for removing it", async () => {
    // A project that does not exist, on top of having no credentials.
    const s = deploySettings({
      project: 'duo-secops-argcheck-0',
      region: 'us-central1',
      bucket: 'duo-secops-argcheck-0',
      apiHost: 'api-1a2b3c4d.duosecurity.com',
      skeySha256: 'ab'.repeat(32),
      source: { dir: dir, hash: 'cd'.repeat(32) },
    });
    const update = planDeploy({ ...s, schedule: '0 * * * *' }, { ...EMPTY_PROJECT, job: { exists: true, schedule: 'x', timeZone: 'Etc/UTC', topicName: 'x', body: '{}', state: 'ENABLED' } });
    // Google's guide collector found, both ways it can have been made: the pause step and what is printed.
    const jobs = parseGuideJobs([{ name: `projects/${s.project}/locations/us-central1/jobs/duo-telephony-logs-1h`, state: 'ENABLED' }], s.project, s.job);
    const fn = { name: 'duo-telephony-logs-collector', bucket: undefined, prefix: undefined, stateKey: undefined };
    const withGuide = (api: 'run' | 'functions') => ({ ...EMPTY_PROJECT, guide: { fn: { ...fn, api }, jobs } });
    const pause = planDeploy({ ...s, guideCollector: 'pause' }, withGuide('run')).filter((x) => x.id === 'guide-job-pause');
    expect(pause).toHaveLength(1);
    const printed = [...guideDeleteCommands(s, withGuide('run')), ...guideDeleteCommands(s, withGuide('functions')), resumeCommand(s, 'duo-telephony-logs-1h')];
    // --verify-daily and --alert-channel: their creates, and their updates of what exists and differs.
    const extras = { ...s, verifyDaily: { repair: true }, alerts: { channel: `projects/${s.project}/notificationChannels/123`, lagMinutes: 90 } };
    const NEW_STEPS = ['verify-job', 'log-metric', 'alert-policy'];
    const created = planDeploy(extras, EMPTY_PROJECT).filter((x) => NEW_STEPS.includes(x.id));
    const differing = {
      ...EMPTY_PROJECT,
      verifyJob: { exists: true as const, schedule: 'x', timeZone: 'Etc/UTC', topicName: 'x', body: '{}', state: 'ENABLED' },
      metrics: Object.fromEntries(METRIC_NAMES.map((n) => [n, { filter: 'x', valueExtractor: undefined, labelExtractors: {}, valueType: undefined }])),
      policies: ALERT_KINDS.map((k, i) => ({ name: `projects/${s.project}/alertPolicies/${i + 1}`, displayName: policyDisplayName(s.functionName, k), userLabels: {} })),
    };
    const updated = planDeploy(extras, differing).filter((x) => NEW_STEPS.includes(x.id));
    // Accounts mode: the work topic, its grant, the trigger's create and update.
    const accounts = { ...s, accounts: { accounts: 'all' as const, exclude: [], maxInstances: 10, workTopic: 'duo-secops-collector-work', accountFeeds: [], shareRate: true } };
    const ACCOUNT_STEPS = ['work-topic', 'work-topic-publisher-role', 'work-trigger'];
    const accountSteps = [
      ...planDeploy(accounts, EMPTY_PROJECT).filter((x) => ACCOUNT_STEPS.includes(x.id)),
      ...planDeploy(accounts, {
        ...EMPTY_PROJECT,
        workTrigger: { exists: true, service: 'x', region: 'us-central1', eventType: 'x', serviceAccount: 'x', transportTopic: `projects/${s.project}/topics/duo-secops-collector-work` },
      }).filter((x) => x.id === 'work-trigger'),
    ];
    expect(accountSteps.map((x) => x.argv.slice(0, 3).join(' '))).toEqual([
      'pubsub topics create',
      'pubsub topics add-iam-policy-binding',
      'eventarc triggers create',
      'eventarc triggers update',
    ]);
    expect(created.map((x) => x.argv[2])).toEqual(['create', 'create', 'create', 'create', 'policies', 'policies', 'policies']);
    expect(updated.filter((x) => x.argv.includes('update'))).toHaveLength(7);
    const commands = [
      ...Object.values(probeCommands(s)),
      ...planDeploy(s, EMPTY_PROJECT).map((x) => x.argv),
      ...created.map((x) => x.argv),
      ...updated.map((x) => x.argv),
      ...accountSteps.map((x) => x.argv),
      ...update.filter((x) => x.id === 'job').map((x) => x.argv),
      ...pause.map((x) => x.argv),
      ...printed,
    ];
    const config = await mkdtemp(join(tmpdir(), 'gcloud-config-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, CLOUDSDK_CONFIG: config, CLOUDSDK_CORE_DISABLE_PROMPTS: '1', CLOUDSDK_CORE_CHECK_GCE_METADATA: 'false' };
    const runOne = (argv: string[]) =>
      new Promise<{ argv: string[]; code: number | null; stderr: string }>((resolve) => {
        const child = spawn('gcloud', argv, { env, stdio: ['pipe', 'ignore', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('close', (code) => resolve({ argv, code, stderr }));
        child.stdin.end('');
      });
    try {
      const results: Array<{ argv: string[]; code: number | null; stderr: string }> = [];
      const queue = [...commands];
      await Promise.all(
        Array.from({ length: 4 }, async () => {
          for (let argv = queue.shift(); argv; argv = queue.shift()) results.push(await runOne(argv));
        }),
      );
      const refused = results.filter((r) => r.code !== 1 || !/active account|auth login/.test(r.stderr));
      expect(refused.map((r) => `${formatCommand(r.argv)}\n  ${r.stderr.split('\n')[0]}`)).toEqual([]);
      expect(results).toHaveLength(commands.length);
    } finally {
      await rm(config, { recursive: true, force: true });
    }
    // Each start of gcloud (Python) costs about a second of CPU: some 40 commands, on a shared machine.
  }, 300_000);
});
