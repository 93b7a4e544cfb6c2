/**
 * `duo-telephony deploy` against a fake gcloud first on PATH (test/support/fake-gcloud.mjs) that records
 * every call and keeps the project's state, so a describe succeeds once a resource was created.
 * Proves: the dry run reads and changes nothing; a real run executes exactly the commands the dry run
 * printed, in that order; a second run executes no changing command; a change touches only what
 * changed; the secret key never appears in a recorded argv or in anything printed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../src/entry/commands/deploy.js';
import type { CliIo } from '../../src/entry/io.js';
import { isCollectorError } from '../../src/errors.js';
import { COMMAND_PREFIX, formatCommand, PROBE_PREFIX } from '../../src/deploy/format.js';
import { createGcloud } from '../../src/deploy/gcloud.js';
import { EMPTY_PROJECT, planDeploy, probeCommands, REQUIRED_APIS } from '../../src/deploy/plan.js';
import { emptyProject, installFakeGcloud, type FakeGcloud } from '../support/fake-gcloud.js';
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
  const program = new Command('duo-telephony').exitOverride();
  register(program, io);
  try {
    await program.parseAsync(['deploy', ...args], { from: 'user' });
  } catch (err) {
    if (!isCollectorError(err)) throw err;
    stderr.write(`duo-telephony: ${err.message}\n`);
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
      'secrets create duo-telephony-skey',
      'secrets versions add',
      'secrets add-iam-policy-binding duo-telephony-skey',
      'pubsub topics create',
      'functions deploy duo-telephony-collector',
      'run services add-iam-policy-binding',
      'scheduler jobs create',
      'storage buckets add-iam-policy-binding',
    ]);
    expect(lines[0]).toBe(`gcloud services enable ${REQUIRED_APIS.join(' ')} --project=${PROJECT} --quiet`);
    expect(lines).toContain(
      `gcloud storage buckets add-iam-policy-binding gs://acme-duo-logs --project=${PROJECT} --member=serviceAccount:duo-telephony-collector-sa@${PROJECT}.iam.gserviceaccount.com --role=roles/storage.objectUser --quiet`,
    );
    expect(lines).toContain(
      `gcloud scheduler jobs create pubsub duo-telephony-collector --project=${PROJECT} --location=us-central1 '--schedule=*/15 * * * *' --time-zone=Etc/UTC --topic=duo-telephony-collector-trigger '--message-body={}' --quiet`,
    );
    const fn = lines.find((l) => l.includes('functions deploy')) ?? '';
    for (const part of ['--gen2', '--runtime=nodejs22', '--memory=512Mi', '--timeout=600s', '--entry-point=main', '--trigger-topic=duo-telephony-collector-trigger', '--ingress-settings=internal-only']) {
      expect(fn).toContain(part);
    }
    expect(fn).toContain(`DUO_SKEY_SECRET=projects/${PROJECT}/secrets/duo-telephony-skey/versions/latest`);
    expect(dryRun.stdout).toMatch(/Function source: \S+duo-telephony-function-[0-9a-f]{16} \(\d+ files/);
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
    expect(s.secrets['duo-telephony-skey']!.policy).toEqual({ 'roles/secretmanager.secretAccessor': [sa] });
    expect(Buffer.from(s.secrets['duo-telephony-skey']!.versions[0]!, 'base64').toString()).toBe(SKEY);
    expect(s.runPolicies['duo-telephony-collector']).toEqual({ 'roles/run.invoker': [sa] });
    expect(s.jobs['duo-telephony-collector']).toMatchObject({ schedule: '*/15 * * * *', timeZone: 'Etc/UTC' });
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
  });

  it('without DUO_SKEY the secret is neither read nor changed', async () => {
    await fake.clearLog();
    const run = await deploy(BASE_ARGS, {});
    expect(run.code, run.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([]);
    expect((await fake.calls()).some((c) => c.argv.includes('access'))).toBe(false);
    expect(run.stdout).toContain('DUO_SKEY not set: the secret duo-telephony-skey keeps its current version');
  });

  it('a changed schedule updates only the job; a changed key adds a version and rolls the function onto it', async () => {
    await fake.clearLog();
    const sched = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], {});
    expect(sched.code, sched.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([
      `gcloud scheduler jobs update pubsub duo-telephony-collector --project=${PROJECT} --location=us-central1 '--schedule=0 * * * *' --time-zone=Etc/UTC --topic=duo-telephony-collector-trigger '--message-body={}' --quiet`,
    ]);
    expect(sched.stdout).toContain('schedule */15 * * * * -> 0 * * * *');

    await fake.clearLog();
    const rotate = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_SKEY: SKEY2 });
    expect(rotate.code, rotate.stderr).toBe(0);
    const rotated = await mutatingCalls();
    expect(rotated[0]).toBe(`gcloud secrets versions add duo-telephony-skey --project=${PROJECT} --data-file=- --quiet`);
    expect(rotated.slice(1).map((c) => c.split(' ').slice(0, 4).join(' '))).toEqual(['gcloud functions deploy duo-telephony-collector']);
    expect(rotate.stdout).toContain('the secret key changed (new instances read the new version)');
    const s = await fake.state();
    expect(s.secrets['duo-telephony-skey']!.versions).toHaveLength(2);
    expect(s.deploys).toBe(2);
    expect(JSON.stringify(await fake.calls()) + rotate.stdout + rotate.stderr).not.toContain(SKEY2);
  });

  it('a changed Duo setting redeploys only the function, and says why', async () => {
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_API_HOST: 'api-99999999.duosecurity.com' });
    expect(run.code, run.stderr).toBe(0);
    const executed = await mutatingCalls();
    expect(executed).toHaveLength(1);
    expect(executed[0]).toMatch(/^gcloud functions deploy duo-telephony-collector --gen2 /);
    expect(run.stdout).toContain('redeploy the function duo-telephony-collector: environment DUO_API_HOST');
    expect((await fake.state()).deploys).toBe(3);
  });

  it('a resource deleted behind our back is recreated, nothing else', async () => {
    const s = await fake.state();
    delete s.topics['duo-telephony-collector-trigger'];
    await fake.setState(s);
    await fake.clearLog();
    const run = await deploy([...BASE_ARGS, '--schedule', '0 * * * *'], { DUO_API_HOST: 'api-99999999.duosecurity.com' });
    expect(run.code, run.stderr).toBe(0);
    expect(await mutatingCalls()).toEqual([`gcloud pubsub topics create duo-telephony-collector-trigger --project=${PROJECT} --quiet`]);
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
      expect(run.stderr).toContain('DUO_SKEY: required: the secret duo-telephony-skey does not exist yet');
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
  it('probes, creates and updates', async () => {
    // A project that does not exist, on top of having no credentials.
    const s = deploySettings({
      project: 'duo-telephony-argcheck-0',
      region: 'us-central1',
      bucket: 'duo-telephony-argcheck-0',
      apiHost: 'api-1a2b3c4d.duosecurity.com',
      skeySha256: 'ab'.repeat(32),
      source: { dir: dir, hash: 'cd'.repeat(32) },
    });
    const update = planDeploy({ ...s, schedule: '0 * * * *' }, { ...EMPTY_PROJECT, job: { exists: true, schedule: 'x', timeZone: 'Etc/UTC', topicName: 'x', body: '{}', state: 'ENABLED' } });
    const commands = [...Object.values(probeCommands(s)), ...planDeploy(s, EMPTY_PROJECT).map((x) => x.argv), ...update.filter((x) => x.id === 'job').map((x) => x.argv)];
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
  }, 60_000);
});
