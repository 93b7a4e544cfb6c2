/**
 * Google's guide collector beside ours. The guide's how-to builds a Cloud Run function
 * (`duo-telephony-logs-collector`, made in the console), a Pub/Sub topic (`duo-telephony-trigger`) and
 * a Cloud Scheduler job (`duo-telephony-logs-1h`). Left scheduled next to this collector, each of the
 * two keeps its own checkpoint and every log reaches SecOps twice.
 *
 * Pure: from what the read-only probes found, what to say, whether a real run must stop (exit 8), and
 * the commands to delete the guide's pieces once the new collector is trusted. Deploy itself never
 * deletes anything of the guide's; at most it pauses the job (`--pause-guide-job`), which `resume`
 * undoes.
 */
import { legacyStateKey } from '../config.js';
import { CollectorError } from '../errors.js';
import { formatCommand } from './format.js';
import type { DeploySettings, Observed } from './plan.js';

export const GUIDE_FUNCTION = 'duo-telephony-logs-collector';
export const GUIDE_JOB = 'duo-telephony-logs-1h';
export const GUIDE_TOPIC = 'duo-telephony-trigger';
/** The guide's service account: our default too, so its bucket grant carries on. */
export const GUIDE_SERVICE_ACCOUNT = 'duo-telephony-collector-sa';
export const GUIDE_PREFIX = 'duo-telephony';
/** The guide's code defaults STATE_KEY to this, whatever GCS_PREFIX is. */
export const GUIDE_STATE_KEY = 'duo-telephony/state.json';

/** What to do about a guide job that is still scheduled: stop (the default), pause it first, or keep it. */
export type GuideChoice = 'stop' | 'pause' | 'keep';

export interface GuideJob {
  name: string;
  /** ENABLED, PAUSED, DISABLED or UPDATE_FAILED; only ENABLED runs. */
  state: string | undefined;
  schedule: string | undefined;
  topicName: string | undefined;
}

export interface GuideFunction {
  name: string;
  /**
   * Which API knows it: `functions` (made with gcloud functions or the Cloud Functions API, 1st or 2nd
   * gen) or `run` only (made in the console as a Cloud Run function, as the guide says: the Cloud
   * Functions API does not see those).
   */
  api: 'functions' | 'run';
  /** Where it writes and keeps its checkpoint; the rest of its environment (its secret key) is dropped. */
  bucket: string | undefined;
  prefix: string | undefined;
  stateKey: string | undefined;
}

export interface ObservedGuide {
  fn: GuideFunction | undefined;
  jobs: GuideJob[];
}

export const NO_GUIDE: ObservedGuide = { fn: undefined, jobs: [] };

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The three variables that say where the guide writes; everything else (DUO_SKEY in clear) is dropped. */
function whereItWrites(env: Record<string, unknown>): Pick<GuideFunction, 'bucket' | 'prefix' | 'stateKey'> {
  return { bucket: str(env.GCS_BUCKET), prefix: str(env.GCS_PREFIX), stateKey: str(env.STATE_KEY) };
}

/** `gcloud functions describe --v2` of the guide's function. */
export function parseGuideFunction(json: unknown, name: string): GuideFunction {
  const j = obj(json);
  const env = { ...obj(j.environmentVariables), ...obj(obj(j.serviceConfig).environmentVariables) };
  return { name, api: 'functions', ...whereItWrites(env) };
}

/** `gcloud run services describe` (Knative shape) of the guide's function made in the console. */
export function parseGuideService(json: unknown, name: string): GuideFunction {
  const containers = obj(obj(obj(obj(json).spec).template).spec).containers;
  const env: Record<string, unknown> = {};
  for (const c of Array.isArray(containers) ? containers : []) {
    const list = obj(c).env;
    for (const e of Array.isArray(list) ? list : []) {
      const k = str(obj(e).name);
      if (k !== undefined) env[k] = obj(e).value;
    }
  }
  return { name, api: 'run', ...whereItWrites(env) };
}

/**
 * `gcloud scheduler jobs list` in the region: the guide's job by name, or any job that publishes to the
 * guide's topic (a job renamed or recreated by hand). `ownJob` is ours to manage, never the guide's.
 */
export function parseGuideJobs(json: unknown, project: string, ownJob: string | readonly string[]): GuideJob[] {
  const own = new Set(typeof ownJob === 'string' ? [ownJob] : ownJob);
  if (!Array.isArray(json)) return [];
  const guideTopic = `projects/${project}/topics/${GUIDE_TOPIC}`;
  return json
    .map((j) => {
      const o = obj(j);
      return {
        name: str(o.name)?.split('/').pop() ?? '',
        state: str(o.state),
        schedule: str(o.schedule),
        topicName: str(obj(o.pubsubTarget).topicName),
      };
    })
    .filter((j) => j.name !== '' && !own.has(j.name) && (j.name === GUIDE_JOB || j.topicName === guideTopic));
}

export const activeGuideJobs = (o: Observed): GuideJob[] => o.guide.jobs.filter((j) => j.state === 'ENABLED');

export const guideFound = (o: Observed): boolean => o.guide.fn !== undefined || o.guide.jobs.length > 0;

/** A real run stops before changing anything: a guide job is scheduled and no choice was made. */
export const guideBlocks = (s: DeploySettings, o: Observed): boolean => s.guideCollector === 'stop' && activeGuideJobs(o).length > 0;

const P = (s: DeploySettings): string => `--project=${s.project}`;
const topicShort = (t: string | undefined): string => t?.split('/').pop() ?? 'no Pub/Sub topic';

export const pauseCommand = (s: DeploySettings, job: string): string[] => ['scheduler', 'jobs', 'pause', job, P(s), `--location=${s.region}`];
export const resumeCommand = (s: DeploySettings, job: string): string[] => ['scheduler', 'jobs', 'resume', job, P(s), `--location=${s.region}`];

/**
 * The commands that remove the guide's collector, for the user to run once the new collector is
 * trusted: its jobs, its function (and, for one made in the console, the Eventarc trigger that is its
 * Pub/Sub subscription), then its topic. Not the service account (ours by default), the bucket (the
 * feed reads it) or its objects. Without --quiet: gcloud asks before each deletion.
 */
export function guideDeleteCommands(s: DeploySettings, o: Observed): string[][] {
  if (!guideFound(o)) return [];
  const cmds: string[][] = o.guide.jobs.map((j) => ['scheduler', 'jobs', 'delete', j.name, P(s), `--location=${s.region}`]);
  const fn = o.guide.fn;
  if (fn?.api === 'functions') cmds.push(['functions', 'delete', fn.name, P(s), `--region=${s.region}`]);
  if (fn?.api === 'run') {
    cmds.push(['run', 'services', 'delete', fn.name, P(s), `--region=${s.region}`]);
    cmds.push(['eventarc', 'triggers', 'list', P(s), `--location=${s.region}`]);
  }
  if (s.topic !== GUIDE_TOPIC) cmds.push(['pubsub', 'topics', 'delete', GUIDE_TOPIC, P(s)]);
  return cmds;
}

/** Whether the guide's function writes where this collector will: the telephony log, same bucket, same prefix. */
function sharesPrefix(s: DeploySettings, fn: GuideFunction): boolean {
  return s.logs.includes('telephony') && fn.bucket === s.bucket && (fn.prefix ?? GUIDE_PREFIX).replace(/^\/+|\/+$/g, '') === s.prefix;
}

/**
 * What deploy says about the guide's collector, before the plan: what it found, what that means for
 * this run, and how to remove it later. Empty when nothing of the guide's is in the region.
 */
export function guideReport(s: DeploySettings, o: Observed, opts: { dryRun: boolean }): string[] {
  if (!guideFound(o)) return [];
  const active = activeGuideJobs(o);
  const lines: string[] = [];
  lines.push(
    active.length > 0
      ? `WARNING: Google's guide collector is still scheduled in ${s.project} (${s.region}); running it beside this collector puts every log into SecOps twice:`
      : `Google's guide collector is in ${s.project} (${s.region}):`,
  );
  for (const j of o.guide.jobs) {
    lines.push(`  - Cloud Scheduler job ${j.name}: ${j.state ?? 'state unknown'}, "${j.schedule ?? '?'}", publishes to ${topicShort(j.topicName)}`);
  }
  const fn = o.guide.fn;
  if (fn !== undefined) {
    const made = fn.api === 'run' ? ' (made in the console)' : '';
    const where = fn.bucket === undefined ? '' : `, writes gs://${fn.bucket}/${(fn.prefix ?? GUIDE_PREFIX).replace(/^\/+|\/+$/g, '')}/`;
    lines.push(`  - Cloud Run function ${fn.name}${made}${where}`);
  }

  if (active.length > 0) {
    if (s.guideCollector === 'pause') {
      lines.push(`  --pause-guide-job: the first step pauses ${active.map((j) => j.name).join(', ')}; nothing is deleted. To undo:`);
      for (const j of active) lines.push(`      ${formatCommand(resumeCommand(s, j.name))}`);
    } else if (s.guideCollector === 'keep') {
      lines.push('  --keep-guide-collector: it keeps running. That is right only if it reads another Duo account;');
      lines.push('  otherwise each log reaches SecOps once from each collector.');
      if (fn !== undefined && sharesPrefix(s, fn)) {
        lines.push(`  Both collectors write to gs://${s.bucket}/${s.prefix}/, which one feed reads.`);
      }
    } else {
      lines.push(
        opts.dryRun
          ? '  A real run stops here, before changing anything (exit 8), unless run again with one of:'
          : '  Nothing was changed. Run deploy again with one of:',
      );
      lines.push(`    --pause-guide-job       the first step pauses it (${formatCommand(pauseCommand(s, active[0]?.name ?? GUIDE_JOB))}); \`resume\` undoes that`);
      lines.push('    --keep-guide-collector  deploy anyway and leave it running (when it reads another Duo account)');
    }
  } else if (o.guide.jobs.length > 0) {
    lines.push('  Its job is not enabled: nothing is collected twice while it stays so.');
  } else {
    lines.push('  No Cloud Scheduler job in this region triggers it: nothing is collected twice unless one does.');
  }

  if (fn !== undefined) {
    // The collector migrates <prefix>/state.json once, when STATE_KEY is unset (config.ts).
    const legacy = legacyStateKey(s.prefix);
    const guideState = fn.stateKey ?? GUIDE_STATE_KEY;
    if (sharesPrefix(s, fn) && guideState === legacy) {
      lines.push(
        `  Same bucket and prefix: the first run carries on from the guide's checkpoint gs://${s.bucket}/${legacy} ` +
          `(read once, left in place); the new one is gs://${s.bucket}/_state/${s.prefix.replace(/\//g, '_')}.json.`,
      );
    } else {
      const where = fn.bucket === undefined ? 'its checkpoint' : `its checkpoint gs://${fn.bucket}/${guideState}`;
      lines.push(
        s.logs.includes('telephony')
          ? `  Another bucket, prefix or STATE_KEY: this collector does not read ${where}; it starts from its own look-back window.`
          : `  The telephony log is not selected (--logs): this collector does not read ${where}.`,
      );
    }
  }

  lines.push("  Deploy never deletes anything of the guide's. Once this collector runs as you expect, remove it with:");
  for (const cmd of guideDeleteCommands(s, o)) {
    const trigger = cmd[0] === 'eventarc' ? `    # its Pub/Sub trigger, if listed: gcloud eventarc triggers delete <name> --location=${s.region}` : '';
    lines.push(`      ${formatCommand(cmd)}${trigger}`);
  }
  return lines;
}

/** A real run refused because the guide's job is still scheduled (exit 8); nothing was changed. */
export class GuideCollectorActiveError extends CollectorError {
  constructor(s: DeploySettings, o: Observed) {
    const jobs = activeGuideJobs(o).map((j) => j.name);
    const first = jobs[0] ?? GUIDE_JOB;
    super(
      'DEPLOY_GUIDE_COLLECTOR_ACTIVE',
      `Google's guide collector is still scheduled: the Cloud Scheduler job ${jobs.join(', ')} in ${s.region} is ENABLED` +
        `${o.guide.fn === undefined ? '' : ` (function ${o.guide.fn.name})`}; both collectors would put every log into SecOps twice. ` +
        'Nothing was changed. Run deploy again with --pause-guide-job (its first step: ' +
        `${formatCommand(pauseCommand(s, first))}; undo with ${formatCommand(resumeCommand(s, first))}) ` +
        'or with --keep-guide-collector (deploy anyway, e.g. when the guide collects another Duo account)',
    );
  }
}
