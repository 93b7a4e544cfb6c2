/**
 * The executor: runs `gcloud` with `child_process.spawn` (no shell, so no quoting and no injection),
 * from PATH or an explicit path. Probes are read-only and answer "found" or "not found"; steps change
 * the project and stream gcloud's own progress. Secrets only ever travel on stdin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { CollectorError, type ErrorCode } from '../errors.js';
import { formatCommand } from './format.js';
import type { ProbeResult, ProbeRunner } from './observe.js';
import type { DeployStep } from './plan.js';

/**
 * Why gcloud could not help: `unavailable` (not installed, not executable, not logged in) means no
 * project could be read at all, which a dry run can work around; the others concern this project.
 */
export type GcloudProblem = 'unavailable' | 'refused' | 'failed';

/** A gcloud that is missing, not logged in, refused, or failed. */
export class GcloudError extends CollectorError {
  readonly problem: GcloudProblem;
  constructor(code: ErrorCode, message: string, problem: GcloudProblem = 'failed') {
    super(code, message);
    this.problem = problem;
  }
}

export interface GcloudResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface GcloudOptions {
  /** `gcloud` (looked up on `env.PATH`) or a path to it. */
  command: string;
  env: NodeJS.ProcessEnv;
  /** Where the output of changing commands goes as it comes (a function deploy takes minutes). */
  progress: NodeJS.WritableStream;
  /** Waits before retrying a step that failed because what it refers to was created moments ago. */
  retryDelaysMs?: readonly number[];
}

export interface Gcloud {
  exec(argv: readonly string[], opts?: { stdin?: string; stream?: boolean }): Promise<GcloudResult>;
  probe: ProbeRunner;
  /** Runs one step; `skey` is fed on stdin to the step that asks for it. */
  run(step: DeployStep, secrets: { skey?: string | undefined }): Promise<'done' | 'already-existed'>;
}

const DEFAULT_RETRY_DELAYS_MS = [5_000, 10_000, 20_000, 30_000, 45_000];

const NOT_LOGGED_IN =
  /You do not currently have an active account selected|Please run:\s+\$ gcloud auth login|Reauthentication (is )?required|invalid_grant|problem refreshing your current auth tokens/i;
/** `gcloud run services describe` says "Cannot find service [NAME]" for a missing service, with no code. */
const NOT_FOUND = /NOT_FOUND|\bnot found\b|does not exist|\b404\b|Cannot find service \[/i;
const DENIED = /PERMISSION_DENIED|\b403\b|does not have .*permission|permission .* denied/i;
const ALREADY_EXISTS = /ALREADY_EXISTS|already exists|already own it|\b409\b/i;
/**
 * IAM and API enablement are eventually consistent: a service account created a second ago can be
 * unknown to a policy, an API enabled a second ago can still answer "disabled". Nothing broader, so a
 * real failure (a build error) is not retried.
 */
const PROPAGATION = /service ?account\S*[^\n]*(does not exist|not found)|SERVICE_DISABLED|has not been used in project|API .* is disabled/i;

/** The error lines of gcloud's stderr, without progress noise, for a message. */
function errorText(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const errors = lines.filter((l) => /^ERROR:|^\w+Error|^\(gcloud/i.test(l));
  return (errors.length ? errors : lines.slice(-3)).join(' ').slice(0, 1500);
}

export function createGcloud(opts: GcloudOptions): Gcloud {
  const retryDelays = opts.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  // Prompts would hang a non-interactive run: --quiet is on every command, this covers any other path.
  const env = { ...opts.env, CLOUDSDK_CORE_DISABLE_PROMPTS: '1' };

  function exec(argv: readonly string[], o: { stdin?: string; stream?: boolean } = {}): Promise<GcloudResult> {
    return new Promise((resolve, reject) => {
      let child: ChildProcess;
      try {
        child = spawn(opts.command, [...argv], { env, stdio: [o.stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], shell: false });
      } catch (err) {
        reject(spawnError(opts.command, err));
        return;
      }
      let stdout = '';
      let stderr = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => {
        stdout += d;
        if (o.stream) opts.progress.write(d);
      });
      child.stderr?.setEncoding('utf8').on('data', (d: string) => {
        stderr += d;
        if (o.stream) opts.progress.write(d);
      });
      child.on('error', (err) => reject(spawnError(opts.command, err)));
      child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
      if (o.stdin !== undefined && child.stdin) {
        // A gcloud that exits before reading stdin must not crash us with EPIPE.
        child.stdin.on('error', () => {});
        child.stdin.end(o.stdin);
      }
    });
  }

  function failure(what: string, argv: readonly string[], r: GcloudResult): GcloudError {
    const text = errorText(r.stderr) || `exit status ${r.code}`;
    if (NOT_LOGGED_IN.test(r.stderr)) {
      return new GcloudError('DEPLOY_GCLOUD_UNAVAILABLE',
        `gcloud is not logged in (${text}): run \`gcloud auth login\`, or \`gcloud auth activate-service-account\` on a server, then run deploy again`, 'unavailable');
    }
    const cmd = formatCommand(argv);
    if (DENIED.test(r.stderr)) {
      return new GcloudError('DEPLOY_DENIED',
        `${what} was refused: ${text}\n  command: ${cmd}\n  the deploying account needs the rights to do this in the project (Owner, or the roles listed in docs/deploy.md)`, 'refused');
    }
    return new GcloudError('DEPLOY_STEP_FAILED', `${what} failed: ${text}\n  command: ${cmd}`);
  }

  const probe: ProbeRunner = async (key, argv) => {
    const r = await exec(argv);
    if (r.code !== 0) {
      if (!NOT_LOGGED_IN.test(r.stderr) && !DENIED.test(r.stderr) && NOT_FOUND.test(r.stderr)) return { found: false };
      if (key === 'bucket' && DENIED.test(r.stderr) && !NOT_LOGGED_IN.test(r.stderr)) {
        // Bucket names are global: a refusal here is most often a name another project owns.
        const url = argv.find((a) => a.startsWith('gs://')) ?? 'the bucket';
        throw new GcloudError('DEPLOY_DENIED',
          `${url} exists but this account may not read it: the name is probably taken by another project (bucket names are global); choose another --bucket (${errorText(r.stderr)})`, 'refused');
      }
      throw failure('reading the project', argv, r);
    }
    let json: unknown;
    try {
      json = r.stdout.trim() === '' ? null : JSON.parse(r.stdout);
    } catch {
      throw new GcloudError('DEPLOY_STEP_FAILED', `gcloud printed something other than JSON for: ${formatCommand(argv)}`);
    }
    return { found: true, json } satisfies ProbeResult;
  };

  async function run(step: DeployStep, secrets: { skey?: string | undefined }): Promise<'done' | 'already-existed'> {
    let stdin: string | undefined;
    if (step.stdin === 'skey') {
      if (secrets.skey === undefined) throw new GcloudError('CONFIG_INVALID', `${step.id}: DUO_SKEY is needed on stdin but not set`);
      stdin = secrets.skey.trim();
    } else if (step.input !== undefined) stdin = step.input;
    for (let attempt = 0; ; attempt++) {
      const r = await exec(step.argv, { stream: true, ...(stdin === undefined ? {} : { stdin }) });
      if (r.code === 0) return 'done';
      // Made by someone else between our probe and now: the goal is reached either way.
      if (step.argv.includes('create') && ALREADY_EXISTS.test(r.stderr)) return 'already-existed';
      const delay = retryDelays[attempt];
      if (delay === undefined || !PROPAGATION.test(r.stderr) || NOT_LOGGED_IN.test(r.stderr)) throw failure(step.description, step.argv, r);
      opts.progress.write(`  (not visible yet after a recent change: retrying in ${Math.round(delay / 1000)} s)\n`);
      await sleep(delay);
    }
  }

  return { exec, probe, run };
}

function spawnError(command: string, err: unknown): GcloudError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') {
    return new GcloudError(
      'DEPLOY_GCLOUD_UNAVAILABLE',
      `gcloud not found (${command === 'gcloud' ? 'not on PATH' : command}): install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install) or pass --gcloud <path>`, 'unavailable');
  }
  if (code === 'EACCES') return new GcloudError('DEPLOY_GCLOUD_UNAVAILABLE', `${command} is not executable: pass the Google Cloud CLI's gcloud with --gcloud <path>`, 'unavailable');
  return new GcloudError('DEPLOY_STEP_FAILED', `could not run ${command}: ${(err as Error).message}`);
}
