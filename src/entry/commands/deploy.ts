/**
 * `duo-secops deploy`: creates or updates, idempotently and with gcloud, everything the Cloud Run
 * function needs: APIs, bucket, service account and its bucket/secret/function-scoped roles, the secret
 * holding the Duo secret key, the Pub/Sub topic, the function, the Cloud Scheduler job, and the SecOps
 * feed's read access. `--dry-run` reads the project and prints the commands a real run would execute.
 * While it reads the project it also looks for Google's guide collector: a real run stops (exit 8)
 * while the guide's job is scheduled, unless told to pause it or to keep it. `--accounts` (accounts mode,
 * src/deploy/accounts.ts) adds a work topic, the right to publish on it and an Eventarc trigger from it,
 * so that a parent integration's children are collected one (account, stream) per invocation.
 */
import { Option, type Command } from 'commander';
import { Cron } from 'croner';
import type { CliIo } from '../io.js';
import { defaultFor, defaultStateKey, isUnderPrefix, prefixSettingOf, settingFromEnv, SETTINGS, streamPrefixProblems } from '../../config.js';
import { parseStreamList, STREAM_NAMES, STREAMS, streamWords, type StreamName } from '../../duo/streams.js';
import { ConfigError } from '../../errors.js';
import { formatCommand, formatStep, PROBE_PREFIX } from '../../deploy/format.js';
import { createGcloud, GcloudError } from '../../deploy/gcloud.js';
import { GUIDE_PREFIX, GUIDE_SERVICE_ACCOUNT, guideBlocks, GuideCollectorActiveError, guideReport, type GuideChoice } from '../../deploy/guide.js';
import { observe, secretDigest } from '../../deploy/observe.js';
import { DUO_LOG_PERMISSION, prefixEnv, prefixFlag, RETIRING, type OtherStream } from '../../deploy/feeds.js';
import { EMPTY_PROJECT, feedSettings, planDeploy, planNotes, type DeploySettings, type Observed } from '../../deploy/plan.js';
import { ALERT_CHANNEL_PATTERN, DEFAULT_LAG_ALERT_MINUTES, VERIFY_JOB_SUFFIX, VERIFY_SCHEDULE, verifyJobName } from '../../deploy/monitoring.js';
import { regionWarning } from '../../deploy/regions.js';
import {
  accountsSummary,
  ACCOUNT_ID_RULE,
  DEFAULT_MAX_INSTANCES,
  defaultWorkTopic,
  MAX_INSTANCES_LIMIT,
  parseAccountIds,
  workTriggerName,
  type AccountsSettings,
} from '../../deploy/accounts.js';
import { stageFunctionSource, type StagedSource } from '../../deploy/source.js';

/** Every 15 minutes: fresher data in SecOps than the guide's hourly run, short runs, same cost tier. */
export const DEFAULT_SCHEDULE = '*/15 * * * *';
export const DEFAULT_NAME = 'duo-secops-collector';
export const DEFAULT_SECRET = 'duo-secops-skey';
/** The guide's account, whatever --name is: a guide deployment's identity and bucket grant carry on. */
export const DEFAULT_SERVICE_ACCOUNT = GUIDE_SERVICE_ACCOUNT;
export const TIME_ZONE = 'Etc/UTC';

export interface DeployFlags {
  project?: string;
  region?: string;
  bucket?: string;
  prefix?: string;
  logs?: string;
  prefixAuthentication?: string;
  prefixActivity?: string;
  prefixTrustMonitor?: string;
  prefixAdministrator?: string;
  schedule?: string;
  secopsServiceAccount?: string;
  name?: string;
  serviceAccountName?: string;
  secretName?: string;
  topic?: string;
  job?: string;
  ikey?: string;
  apiHost?: string;
  stageDir?: string;
  dryRun?: boolean;
  stageOnly?: boolean;
  gcloud?: string;
  pauseGuideJob?: boolean;
  keepGuideCollector?: boolean;
  verifyDaily?: boolean;
  verifyRepair?: boolean;
  alertChannel?: string;
  lagAlertMinutes?: string;
  accounts?: string;
  accountsExclude?: string;
  maxInstances?: string;
  ratePerChild?: boolean;
  workTopic?: string;
  accountFeeds?: string;
  requestsPerMinute?: string;
}

/** Settings minus the staged source, validated; every problem is listed at once. */
export type DeployInput = Omit<DeploySettings, 'source'>;

const blank = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim());

const OTHER_STREAMS = STREAM_NAMES.filter((n): n is OtherStream => n !== 'telephony');

/** The flag of each stream's prefix, as commander names the option (`prefixTrustMonitor`). */
const PREFIX_FLAG_KEYS: Readonly<Record<StreamName, keyof DeployFlags>> = {
  telephony: 'prefix',
  authentication: 'prefixAuthentication',
  activity: 'prefixActivity',
  trust_monitor: 'prefixTrustMonitor',
  administrator: 'prefixAdministrator',
};

/** Why a prefix cannot be a feed's folder, or undefined; `name` is how the message names the setting. */
export function prefixProblem(name: string, prefix: string): string | undefined {
  if (prefix === '') return `${name}: must not be empty: the feed would read the whole bucket, the checkpoint (_state/) included`;
  if (prefix.split('/').some((p) => p === '' || p === '.' || p === '..') || /[,\s\\]/.test(prefix)) {
    return `${name}: must be folder names separated by /, without . or .. segments, commas, spaces or backslashes`;
  }
  if (isUnderPrefix(defaultStateKey(prefix), prefix)) {
    return `${name}: ${prefix} would hold the checkpoint ${defaultStateKey(prefix)}, which the feed must not read: choose another prefix`;
  }
  return undefined;
}

/** A stream's prefix: its flag, else its variable, else the table's default; slashes at either end dropped. */
function streamPrefix(flags: DeployFlags, env: NodeJS.ProcessEnv, stream: StreamName): string {
  const flag = flags[PREFIX_FLAG_KEYS[stream]];
  const key = prefixSettingOf(stream);
  const raw = blank(typeof flag === 'string' ? flag : undefined) ?? settingFromEnv(env, key)?.trim() ?? String(defaultFor(key, 'function'));
  return raw.replace(/^\/+|\/+$/g, '');
}

/** Validate flags and environment into deploy settings; throws one ConfigError listing every problem. */
export function resolveDeployInput(flags: DeployFlags, env: NodeJS.ProcessEnv): DeployInput {
  const problems: string[] = [];
  const need = (v: string | undefined, name: string, what: string): string => {
    if (v === undefined) problems.push(`${name}: required (${what})`);
    return v ?? '';
  };
  const check = (v: string, ok: boolean, name: string, why: string): void => {
    if (v !== '' && !ok) problems.push(`${name}: ${why}`);
  };

  const project = need(blank(flags.project), '--project', 'the Google Cloud project ID');
  check(project, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(project), '--project', 'must be a project ID (6-30 lower-case letters, digits and -), not its name or number');

  const region = need(blank(flags.region), '--region', 'where the function, job and bucket live, e.g. us-central1');
  check(region, /^[a-z]+(-[a-z]+)+\d+$/.test(region), '--region', 'must be a region such as us-central1 or europe-west1');

  const rawBucket = blank(flags.bucket) ?? settingFromEnv(env, 'bucket')?.trim();
  const bucket = need(rawBucket, '--bucket / GCS_BUCKET', 'the bucket the logs are written to; created when missing');
  if (bucket.startsWith('gs://')) problems.push('--bucket: give the bucket name without gs://');
  else check(bucket, /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/.test(bucket) && !bucket.startsWith('goog'), '--bucket', 'must be a bucket name: 3-63 lower-case letters, digits, - _ .');

  const rawLogs = blank(flags.logs) ?? settingFromEnv(env, 'logs')?.trim();
  const parsedLogs = rawLogs === undefined ? { streams: ['telephony' as const] } : parseStreamList(rawLogs);
  if ('problem' in parsedLogs) problems.push(`--logs / DUO_LOGS: ${parsedLogs.problem}`);
  const logs: StreamName[] = 'streams' in parsedLogs ? parsedLogs.streams : [];

  const prefix = (blank(flags.prefix) ?? settingFromEnv(env, 'prefix')?.trim() ?? GUIDE_PREFIX).replace(/^\/+|\/+$/g, '');
  const streamPrefixes = Object.fromEntries(OTHER_STREAMS.map((n) => [n, streamPrefix(flags, env, n)])) as Record<OtherStream, string>;
  const prefixes: Record<StreamName, string> = { telephony: prefix, ...streamPrefixes };
  const prefixName = (n: StreamName): string => (n === 'telephony' ? '--prefix' : `${prefixFlag(n)} / ${prefixEnv(n)}`);
  let badPrefix = false;
  for (const n of STREAM_NAMES) {
    const given = blank(flags[PREFIX_FLAG_KEYS[n]] as string | undefined) !== undefined;
    // Only the selected streams' prefixes reach the function; a flag for another one is a slip.
    if (!logs.includes(n) && given && 'streams' in parsedLogs) problems.push(`${prefixFlag(n)}: the ${n} log is not selected: add it to --logs / DUO_LOGS, or drop the flag`);
    if (!logs.includes(n) && !given && n !== 'telephony') continue;
    const problem = prefixProblem(prefixName(n), prefixes[n]);
    if (problem !== undefined) {
      problems.push(problem);
      badPrefix = true;
    }
  }
  if (!badPrefix) problems.push(...streamPrefixProblems(logs.map((n) => ({ stream: n, prefix: prefixes[n] }))));

  const schedule = blank(flags.schedule) ?? DEFAULT_SCHEDULE;
  if (schedule.split(/\s+/).length !== 5 || !/^[0-9A-Za-z*,/\- ]+$/.test(schedule)) {
    problems.push(`--schedule: "${schedule}" must be a 5-field unix cron expression, e.g. "${DEFAULT_SCHEDULE}" or "0 * * * *"`);
  } else {
    try {
      new Cron(schedule, { paused: true }).stop();
    } catch (err) {
      problems.push(`--schedule: "${schedule}": ${(err as Error).message}`);
    }
  }

  const secops = blank(flags.secopsServiceAccount);
  if (secops !== undefined && !/^[^@\s]+@[a-z0-9.-]+\.gserviceaccount\.com$/.test(secops)) {
    problems.push('--secops-service-account: must be the service account email the feed form shows (…@….iam.gserviceaccount.com)');
  }

  const functionName = blank(flags.name) ?? DEFAULT_NAME;
  check(functionName, /^[a-z]([a-z0-9-]{0,47}[a-z0-9])?$/.test(functionName), '--name', 'must be 1-49 lower-case letters, digits and -, starting with a letter');
  const serviceAccountName = blank(flags.serviceAccountName) ?? DEFAULT_SERVICE_ACCOUNT;
  check(serviceAccountName, /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/.test(serviceAccountName), '--service-account-name', 'must be 6-30 lower-case letters, digits and -, starting with a letter');
  const secretName = blank(flags.secretName) ?? DEFAULT_SECRET;
  check(secretName, /^[A-Za-z0-9_-]{1,255}$/.test(secretName), '--secret-name', 'must be letters, digits, - and _');
  const topic = blank(flags.topic) ?? `${functionName}-trigger`;
  const topicOk = (t: string): boolean => /^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/.test(t) && !t.startsWith('goog');
  check(topic, topicOk(topic), '--topic', 'must be 3-255 characters, starting with a letter');
  const accounts = resolveAccounts(flags, functionName, topic, topicOk, problems);
  const job = blank(flags.job) ?? functionName;
  check(job, /^[A-Za-z0-9_-]{1,500}$/.test(job), '--job', 'must be letters, digits, - and _');

  const ikey = need(blank(flags.ikey) ?? settingFromEnv(env, 'ikey')?.trim(), 'DUO_IKEY / --ikey', "the Admin API application's integration key");
  check(ikey, /^[A-Za-z0-9]+$/.test(ikey), 'DUO_IKEY / --ikey', 'must be the integration key (letters and digits)');
  const apiHost = need(blank(flags.apiHost) ?? settingFromEnv(env, 'apiHost')?.trim(), 'DUO_API_HOST / --api-host', 'the API hostname, api-xxxxxxxx.duosecurity.com');
  check(apiHost, /^[A-Za-z0-9.-]+$/.test(apiHost), 'DUO_API_HOST / --api-host', 'must be a host name like api-xxxxxxxx.duosecurity.com, not a URL');

  // Absent is fine when the secret already holds a version; a value of only spaces is a mistake.
  const skey = env[SETTINGS.skey.env];
  if (skey !== undefined && skey !== '' && skey.trim() === '') problems.push('DUO_SKEY: is only white space');

  if (flags.pauseGuideJob && flags.keepGuideCollector) {
    problems.push("--pause-guide-job and --keep-guide-collector exclude each other: pause the guide's job, or keep it running");
  }
  const guideCollector: GuideChoice = flags.pauseGuideJob ? 'pause' : flags.keepGuideCollector ? 'keep' : 'stop';

  if (flags.verifyRepair && !flags.verifyDaily) problems.push('--verify-repair: only with --verify-daily (it makes the daily verify repair what it finds missing)');
  const verifyDaily = flags.verifyDaily ? { repair: flags.verifyRepair === true } : undefined;
  // verify compares one account with its folder; the daily job would fail every night in accounts mode.
  if (flags.verifyDaily && blank(flags.accounts) !== undefined) problems.push('--verify-daily: not with --accounts: verify reads one Duo account, not the child accounts');
  if (verifyDaily && job !== '') check(verifyJobName(job), /^[A-Za-z0-9_-]{1,500}$/.test(verifyJobName(job)), '--job', 'is too long for the verify job name');

  const channel = blank(flags.alertChannel);
  const rawLag = blank(flags.lagAlertMinutes);
  if (channel !== undefined && !ALERT_CHANNEL_PATTERN.test(channel)) {
    problems.push('--alert-channel: must be a notification channel as projects/PROJECT/notificationChannels/ID (gcloud beta monitoring channels list shows them)');
  } else if (channel !== undefined && project !== '' && channel.split('/')[1] !== project) {
    problems.push(`--alert-channel: must be a channel of --project ${project}: alert policies notify channels of their own project`);
  }
  if (rawLag !== undefined && channel === undefined) problems.push('--lag-alert-minutes: only with --alert-channel (it sets the lag alert)');
  const lagMinutes = rawLag === undefined ? DEFAULT_LAG_ALERT_MINUTES : Number(rawLag);
  if (rawLag !== undefined && (!/^\d+$/.test(rawLag) || lagMinutes < 1 || lagMinutes > 525_600)) {
    problems.push(`--lag-alert-minutes: "${rawLag}" must be a whole number of minutes from 1 to 525600`);
  }
  const alerts = channel === undefined ? undefined : { channel, lagMinutes };

  const rpm = blank(flags.requestsPerMinute);
  if (rpm !== undefined && rpm !== 'auto' && !(/^\d+(\.\d+)?$/.test(rpm) && Number(rpm) > 0)) {
    problems.push(`--requests-per-minute: "${rpm}" must be auto or a number of requests a minute above 0`);
  }

  if (problems.length) throw new ConfigError(problems);
  return {
    project,
    region,
    bucket,
    logs,
    prefix,
    streamPrefixes,
    schedule,
    timeZone: TIME_ZONE,
    functionName,
    serviceAccountName,
    secretName,
    topic,
    job,
    secopsServiceAccount: secops,
    ikey,
    apiHost,
    skeySha256: blank(skey) === undefined ? undefined : secretDigest(skey ?? ''),
    guideCollector,
    verifyDaily,
    alerts,
    accounts,
    requestsPerMinute: rpm,
  };
}

/**
 * Accounts mode from its flags: undefined without --accounts (then its other flags are refused). Ids
 * are given explicitly: deploy does not call Duo, so it cannot list the children itself.
 */
function resolveAccounts(flags: DeployFlags, functionName: string, topic: string, topicOk: (t: string) => boolean, problems: string[]): AccountsSettings | undefined {
  const raw = blank(flags.accounts);
  const rawExclude = blank(flags.accountsExclude);
  const rawMax = blank(flags.maxInstances);
  const rawWorkTopic = blank(flags.workTopic);
  const rawFeeds = blank(flags.accountFeeds);
  if (raw === undefined) {
    for (const [v, flag] of [[rawExclude, '--accounts-exclude'], [rawMax, '--max-instances'], [rawWorkTopic, '--work-topic'], [rawFeeds, '--account-feeds']] as const) {
      if (v !== undefined) problems.push(`${flag}: only with --accounts (accounts mode)`);
    }
    if (flags.ratePerChild) problems.push('--rate-per-child: only with --accounts (accounts mode)');
    return undefined;
  }
  const before = problems.length;
  const ids = (v: string | undefined, flag: string): string[] => {
    if (v === undefined) return [];
    const parsed = parseAccountIds(v);
    if ('problem' in parsed) problems.push(`${flag}: ${parsed.problem}`);
    return 'ids' in parsed ? parsed.ids : [];
  };
  let accounts: 'all' | string[] = 'all';
  if (raw.toLowerCase() !== 'all') {
    const parsed = parseAccountIds(raw);
    if ('problem' in parsed) problems.push(`--accounts: must be all or account ids, comma-separated: ${parsed.problem}`);
    accounts = 'ids' in parsed ? parsed.ids : [];
  }
  const exclude = ids(rawExclude, '--accounts-exclude');
  // With a list, leaving one out is taking it off the list: both at once is a slip.
  if (exclude.length && accounts !== 'all') problems.push('--accounts-exclude: only with --accounts all (a list of ids already names every account collected)');
  const maxInstances = rawMax === undefined ? DEFAULT_MAX_INSTANCES : Number(rawMax);
  if (rawMax !== undefined && (!/^\d+$/.test(rawMax) || maxInstances < 1 || maxInstances > MAX_INSTANCES_LIMIT)) {
    problems.push(`--max-instances: "${rawMax}" must be a whole number from 1 to ${MAX_INSTANCES_LIMIT}`);
  }
  const workTopic = rawWorkTopic ?? defaultWorkTopic(functionName);
  if (!topicOk(workTopic)) problems.push('--work-topic: must be 3-255 characters, starting with a letter');
  else if (workTopic === topic) problems.push(`--work-topic: must differ from --topic ${topic}: the scheduled run's message and the work would reach the function through two triggers each`);
  if (functionName !== '' && !/^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$/.test(workTriggerName(functionName))) problems.push('--name: is too long for the work trigger name');
  const accountFeeds = ids(rawFeeds, '--account-feeds');
  const uncollected = accountFeeds.filter((id) => (accounts === 'all' ? exclude.includes(id) : !accounts.includes(id)));
  if (uncollected.length) problems.push(`--account-feeds: ${uncollected.join(', ')} ${uncollected.length === 1 ? 'is' : 'are'} not collected (not in --accounts, or in --accounts-exclude)`);
  if (problems.length > before) return undefined;
  return { accounts, exclude, maxInstances, workTopic, accountFeeds, shareRate: !flags.ratePerChild };
}

/** `the telephony and authentication logs`, with what SecOps calls each. */
export function logsText(logs: readonly StreamName[]): string {
  const names = logs.map((n) => `${streamWords(n)} (${STREAMS[n].logType}${n in RETIRING ? ', being retired by Duo' : ''})`);
  const list = names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]!}`;
  return `the ${list} log${logs.length === 1 ? '' : 's'}`;
}

function describeSource(src: StagedSource): string {
  return (
    `Function source: ${src.dir} (${src.files} files, ${Math.ceil(src.bytes / 1024)} KiB, sha256 ${src.hash.slice(0, 12)}; ` +
    `${src.lockfile ? 'lock file pruned to runtime dependencies' : 'no lock file: Cloud Build resolves the version ranges'})`
  );
}

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('deploy')
    .description('create or update, with gcloud, the Cloud Run function that collects Duo logs into SecOps, with its bucket, secret, topic, schedule and roles; idempotent')
    .addOption(new Option('--project <id>', 'Google Cloud project ID'))
    .addOption(new Option('--region <region>', 'region of the function, job and bucket, e.g. us-central1'))
    .addOption(new Option('--bucket <name>', 'bucket for the logs, created when missing (env GCS_BUCKET)'))
    .addOption(
      new Option(
        '--logs <streams>',
        `Duo log streams to collect, comma-separated, one SecOps feed each: ${STREAM_NAMES.join(', ')} (env DUO_LOGS, default telephony; ` +
          'administrator is being retired by Duo in favour of activity)',
      ),
    )
    .addOption(new Option('--prefix <prefix>', 'object prefix of the telephony log, the folder its feed reads (env GCS_PREFIX, default duo-telephony)'));
  for (const n of OTHER_STREAMS) {
    const key = prefixSettingOf(n);
    cmd.addOption(new Option(`${prefixFlag(n)} <prefix>`, `object prefix of the ${streamWords(n)} log (env ${prefixEnv(n)}, default ${String(defaultFor(key, 'function'))})`));
  }
  cmd
    .addOption(new Option('--schedule <cron>', `unix cron in ${TIME_ZONE} (default "${DEFAULT_SCHEDULE}")`))
    .addOption(new Option('--secops-service-account <email>', 'the feed\'s service account ("Get Service Account"): gets Storage Object Viewer on the bucket'))
    .addOption(new Option('--name <name>', `function name (default ${DEFAULT_NAME}); the topic (<name>-trigger) and job (<name>) derive from it`))
    .addOption(new Option('--service-account-name <id>', `the collector's service account ID (default ${DEFAULT_SERVICE_ACCOUNT}, the guide's, whatever --name is)`))
    .addOption(new Option('--secret-name <name>', `Secret Manager secret for the Duo secret key (default ${DEFAULT_SECRET})`))
    .addOption(new Option('--topic <name>', 'Pub/Sub topic (default <name>-trigger)'))
    .addOption(new Option('--job <name>', 'Cloud Scheduler job (default <name>)'))
    .addOption(new Option('--ikey <ikey>', 'integration key (env DUO_IKEY)'))
    .addOption(new Option('--api-host <host>', 'API hostname, api-xxxxxxxx.duosecurity.com (env DUO_API_HOST)'))
    .addOption(new Option('--pause-guide-job', "when Google's guide collector is scheduled: pause its job as the first step (resume undoes it)"))
    .addOption(new Option('--keep-guide-collector', "deploy although Google's guide collector is scheduled (e.g. it reads another Duo account)"))
    .addOption(
      new Option(
        '--verify-daily',
        `also schedule the job <job>${VERIFY_JOB_SUFFIX} (${VERIFY_SCHEDULE}, ${TIME_ZONE}): the function verifies yesterday's stored logs against Duo, one verify.finished log line per stream`,
      ),
    )
    .addOption(new Option('--verify-repair', 'with --verify-daily: the daily verify also repairs what it finds missing'))
    .addOption(
      new Option(
        '--alert-channel <channel>',
        'projects/PROJECT/notificationChannels/ID: create log-based metrics (failed runs, verify gaps, lag) and alert policies notifying it (needs gcloud alpha)',
      ),
    )
    .addOption(new Option('--lag-alert-minutes <n>', `with --alert-channel: alert when a stream's checkpoint is more than n minutes behind (default ${DEFAULT_LAG_ALERT_MINUTES})`))
    .addOption(
      new Option(
        '--accounts <all|ids>',
        `accounts mode: the Duo integration is a parent (MSP) one; collect all its child accounts, or these account ids, comma-separated (${ACCOUNT_ID_RULE}), fanned out one (account, stream) per invocation`,
      ),
    )
    .addOption(new Option('--accounts-exclude <ids>', 'with --accounts all: child account ids left out, comma-separated'))
    .addOption(new Option('--max-instances <n>', `with --accounts: the most collections at once, the function's maximum instances, 1-${MAX_INSTANCES_LIMIT} (default ${DEFAULT_MAX_INSTANCES}; one otherwise)`))
    .addOption(new Option('--work-topic <name>', 'with --accounts: the Pub/Sub topic the work is published on (default <name>-work)'))
    .addOption(
      new Option(
        '--rate-per-child',
        "with --accounts: Duo limits each child on its own (ACCOUNTS_SHARE_RATE=false): each collection paces up to the full REQUESTS_PER_MINUTE instead of its share of the parent's",
      ),
    )
    .addOption(
      new Option(
        '--account-feeds <ids>',
        'with --accounts: these children get SecOps feeds of their own, one per account and stream over <prefix>/<account_id>/, instead of one feed per stream for all',
      ),
    )
    .addOption(new Option('--requests-per-minute <n>', "REQUESTS_PER_MINUTE on the function: the ceiling of each collection's pace per Duo endpoint (default auto: 60)"))
    .addOption(new Option('--stage-dir <dir>', 'empty folder to stage the function source in (default: a new temporary folder)'))
    .addOption(new Option('--stage-only', 'only stage the function source (for Terraform: zip that folder) and print where; no gcloud'))
    .addOption(new Option('--gcloud <path>', 'the gcloud to run (default: gcloud on PATH)'))
    .addOption(new Option('--dry-run', 'read the project and print every command a real run would execute; change nothing (without gcloud or a login: the plan for a new project)'));
  cmd.addHelpText(
    'after',
    '\nOne function, job, topic and bucket collect every selected log; SecOps reads each log through a feed of\n' +
      `its own (the settings of each are printed at the end). The Admin API application needs "${DUO_LOG_PERMISSION}".\n` +
      'The Duo secret key is read from DUO_SKEY (never a flag) and stored in Secret Manager through stdin; it is\n' +
      'needed on the first deploy and whenever it changes, and may be left unset otherwise.\n' +
      "While reading the project, deploy looks for Google's guide collector in the region (function\n" +
      'duo-telephony-logs-collector, job duo-telephony-logs-1h or any job publishing to duo-telephony-trigger):\n' +
      'both running would put every log into SecOps twice, so a real run stops while that job is enabled, unless\n' +
      'given --pause-guide-job or --keep-guide-collector. It never deletes anything of the guide\'s; it prints how to.\n' +
      '--region is checked against `gcloud functions regions list` for the project; when that cannot be asked (no\n' +
      'gcloud or login in a dry run, Cloud Functions API not enabled yet), against a built-in list, and only warned about.\n' +
      'Exit status: 0 ok (also a dry run that finds the guide collector scheduled), 2 configuration (an\n' +
      'unknown --region included), 6 gcloud missing, not logged in or not allowed, 7 a gcloud command failed,\n' +
      '8 Google\'s guide collector is still scheduled in the region (nothing was changed).\n' +
      'More: docs/deploy.md.\n',
  );
  cmd.action(async (flags: DeployFlags) => {
    const out = (line = ''): void => {
      io.stdout.write(`${line}\n`);
    };
    if (flags.stageOnly) {
      const staged = await stageFunctionSource(flags.stageDir === undefined ? {} : { into: flags.stageDir });
      out(describeSource(staged));
      out(`Zip the folder's content for Terraform's source_archive, e.g. (cd ${staged.dir} && zip -qr ../duo-secops-function.zip .)`);
      return;
    }
    const input = resolveDeployInput(flags, io.env);
    const dryRun = flags.dryRun === true;
    const source = await stageFunctionSource(flags.stageDir === undefined ? {} : { into: flags.stageDir });
    const settings: DeploySettings = { ...input, source: { dir: source.dir, hash: source.hash } };
    const gcloud = createGcloud({ command: flags.gcloud ?? 'gcloud', env: io.env, progress: io.stderr });
    // The staged folder is kept: it is named after its content, so a concurrent deploy of the same
    // package to another project may be uploading the very same folder.
    out(
      `Deploying duo-secops (collects Duo logs into SecOps: ${logsText(settings.logs)}) to project ${settings.project}, ` +
        `region ${settings.region}${dryRun ? ' (dry run: nothing is changed)' : ''}`,
    );
    out(describeSource(source));
    out('Reading what the project holds (read-only):');
    let observed: Observed;
    let unread: string | undefined;
    try {
      observed = await observe(settings, async (key, argv) => {
        out(`${PROBE_PREFIX}${formatCommand(argv)}`);
        return gcloud.probe(key, argv);
      });
    } catch (err) {
      // A dry run is often a review before anyone may touch the project (or has gcloud at hand): it
      // still shows the complete plan, the one for a project that holds none of these resources.
      if (!dryRun || !(err instanceof GcloudError) || err.problem !== 'unavailable') throw err;
      unread = err.message;
      observed = EMPTY_PROJECT;
      out(`  could not read the project: ${unread}`);
      out('  planning as for a project that holds none of these resources');
    }
    const regionWhy =
      unread !== undefined
        ? 'the project was not read'
        : observed.enabledApis.includes('cloudfunctions.googleapis.com')
          ? 'gcloud listed no regions'
          : 'the Cloud Functions API is not enabled in the project yet';
    const regionWarn = regionWarning(settings.region, observed.regions, regionWhy);
    if (regionWarn !== undefined) out(`Warning: ${regionWarn}`);
    // Unread, the secret may or may not hold a key: plan the key's upload (from stdin, as always), and
    // say that a real run on a new project needs DUO_SKEY, rather than fail the review for want of it.
    const needsKeyNote = unread !== undefined && settings.skeySha256 === undefined;
    const steps = planDeploy(needsKeyNote ? { ...settings, skeySha256: 'not given' } : settings, observed);

    const guide = guideReport(settings, observed, { dryRun });
    if (guide.length > 0) {
      out();
      for (const line of guide) out(line);
    }
    const blocked = guideBlocks(settings, observed);
    if (blocked && !dryRun) throw new GuideCollectorActiveError(settings, observed);

    out();
    if (steps.length === 0) out('Nothing to change: the project already matches these settings.');
    else out(dryRun ? `Would run ${steps.length} commands, in this order:` : `Running ${steps.length} commands:`);
    for (const [i, step] of steps.entries()) {
      for (const line of formatStep(step, i, steps.length)) out(line);
      if (!dryRun) {
        const result = await gcloud.run(step, { skey: io.env[SETTINGS.skey.env] });
        if (result === 'already-existed') out('  (it already existed: created meanwhile by someone else)');
      }
    }
    for (const note of planNotes(settings, observed)) out(`Note: ${note}`);
    if (settings.guideCollector === 'pause' && unread === undefined && !steps.some((x) => x.id === 'guide-job-pause')) {
      out(`Note: --pause-guide-job: no enabled job of Google's guide in ${settings.region}, nothing to pause`);
    }
    if (settings.accounts !== undefined) {
      out();
      for (const line of accountsSummary(settings, settings.accounts)) out(line);
    }
    out();
    for (const line of feedSettings(settings)) out(line);
    if (dryRun) {
      out();
      out(`Dry run: nothing was changed. The staged source, as it would be uploaded: ${source.dir}`);
      if (blocked) {
        out("A real run would stop before its first command (exit 8): Google's guide job is scheduled. Add --pause-guide-job or --keep-guide-collector.");
      }
      if (unread !== undefined) {
        out('The project was not read, so this is every command a new project needs; a real run reads it first and runs only what differs.');
        out("Google's guide collector could not be looked for: a real run stops (exit 8) if its job is scheduled in the region.");
      }
      if (needsKeyNote) out('DUO_SKEY is not set: a real run needs it when the secret holds no key yet.');
    } else if (steps.length) {
      out();
      out(`Done: ${steps.length} change${steps.length === 1 ? '' : 's'} applied. Run deploy again at any time: it changes only what differs.`);
    }
  });
}
