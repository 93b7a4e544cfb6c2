/**
 * Puts the fake gcloud (fake-gcloud.mjs) first on a PATH: an executable `gcloud` in a temporary folder
 * that runs it with this Node, plus the state and call-log files it reads and writes.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_GCLOUD_SCRIPT = fileURLToPath(new URL('./fake-gcloud.mjs', import.meta.url));

export interface FakeProjectState {
  project: string;
  apis: string[];
  /** Log-based metrics by name, as their configuration came on stdin (made on the first create). */
  metrics?: Record<string, { filter: string; valueExtractor?: string; [field: string]: unknown }>;
  /** Alert policies by resource name, as `--policy` gave them (made on the first create). */
  alertPolicies?: Record<string, { displayName: string; notificationChannels: string[]; [field: string]: unknown }>;
  buckets: Record<string, { location: string; uniform: boolean; policy: Record<string, string[]> }>;
  serviceAccounts: Record<string, { displayName?: string }>;
  /** Versions as base64, oldest first. */
  secrets: Record<string, { versions: string[]; policy: Record<string, string[]> }>;
  topics: Record<string, Record<string, never>>;
  /** IAM policies of topics, by topic (made on first use). */
  topicPolicies?: Record<string, Record<string, string[]>>;
  /** Eventarc triggers by name, as `eventarc triggers describe` prints them. */
  triggers?: Record<string, { name: string; destination: { cloudRun: { service: string; region: string } }; serviceAccount: string; transport: { pubsub: { topic: string } }; [field: string]: unknown }>;
  functions: Record<string, Record<string, unknown>>;
  runPolicies: Record<string, Record<string, string[]>>;
  jobs: Record<string, Record<string, unknown>>;
  /** Cloud Run services made in the console (Knative shape), such as the guide's function. */
  runServices?: Record<string, Record<string, unknown>>;
  /** What `functions regions list --gen2` answers (default: a handful of regions, us-central1 among them). */
  regions?: string[];
  deploys?: number;
  /** Buckets of another project: every call answers 403. */
  foreignBuckets?: string[];
  /** How many add-iam-policy-binding calls fail first with "service account does not exist". */
  flakyBindings?: number;
}

export interface FakeCall {
  argv: string[];
  mutating: boolean;
  stdinBytes: number;
}

export interface FakeGcloud {
  binDir: string;
  statePath: string;
  logPath: string;
  /** Environment for a deploy run: the fake first on PATH, its files named. */
  env: NodeJS.ProcessEnv;
  calls(): Promise<FakeCall[]>;
  state(): Promise<FakeProjectState>;
  setState(s: FakeProjectState): Promise<void>;
  clearLog(): Promise<void>;
}

export function emptyProject(project: string): FakeProjectState {
  return { project, apis: [], buckets: {}, serviceAccounts: {}, secrets: {}, topics: {}, functions: {}, runPolicies: {}, jobs: {} };
}

/**
 * What Google's guide leaves in a project: its function made in the console (a Cloud Run service with
 * the guide's environment, its secret key in clear included) and its hourly job on its topic.
 */
export function withGuideCollector(
  s: FakeProjectState,
  o: { region: string; bucket: string; jobState?: 'ENABLED' | 'PAUSED'; job?: boolean; fn?: boolean; env?: Record<string, string> },
): FakeProjectState {
  const next: FakeProjectState = structuredClone(s);
  if (o.fn !== false) {
    const env = { GCS_BUCKET: o.bucket, GCS_PREFIX: 'duo-telephony', STATE_KEY: 'duo-telephony/state.json', DUO_IKEY: 'DIGUIDE', DUO_SKEY: GUIDE_SKEY, DUO_API_HOST: 'api-1a2b3c4d.duosecurity.com', MAX_ITERATIONS: '10', ...o.env };
    next.runServices = {
      ...next.runServices,
      'duo-telephony-logs-collector': {
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: 'duo-telephony-logs-collector', labels: { 'cloud.googleapis.com/location': o.region }, annotations: { 'run.googleapis.com/build-function-target': 'main' } },
        spec: { template: { spec: { serviceAccountName: `duo-telephony-collector-sa@${s.project}.iam.gserviceaccount.com`, containers: [{ env: Object.entries(env).map(([name, value]) => ({ name, value })) }] } } },
      },
    };
  }
  if (o.job !== false) {
    next.jobs['duo-telephony-logs-1h'] = {
      name: `projects/${s.project}/locations/${o.region}/jobs/duo-telephony-logs-1h`,
      schedule: '0 * * * *',
      timeZone: 'Etc/UTC',
      pubsubTarget: { topicName: `projects/${s.project}/topics/duo-telephony-trigger`, data: 'e30=' },
      state: o.jobState ?? 'ENABLED',
    };
    next.topics['duo-telephony-trigger'] = {};
  }
  return next;
}

/** The guide keeps its secret key in the function's environment: deploy must never print it. */
export const GUIDE_SKEY = 'guide-SkEy-in-clear-0123456789abcdefghij';

export async function installFakeGcloud(dir: string, initial: FakeProjectState): Promise<FakeGcloud> {
  const binDir = join(dir, 'bin');
  await mkdir(binDir, { recursive: true });
  const bin = join(binDir, 'gcloud');
  await writeFile(bin, `#!/bin/sh\nexec '${process.execPath}' '${FAKE_GCLOUD_SCRIPT}' "$@"\n`);
  await chmod(bin, 0o755);
  const statePath = join(dir, 'gcloud-state.json');
  const logPath = join(dir, 'gcloud-calls.jsonl');
  await writeFile(statePath, JSON.stringify(initial));
  await writeFile(logPath, '');
  return {
    binDir,
    statePath,
    logPath,
    env: { PATH: `${binDir}:${process.env.PATH ?? ''}`, FAKE_GCLOUD_STATE: statePath, FAKE_GCLOUD_LOG: logPath },
    async calls() {
      const text = await readFile(logPath, 'utf8');
      return text
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as FakeCall);
    },
    async state() {
      return JSON.parse(await readFile(statePath, 'utf8')) as FakeProjectState;
    },
    async setState(s) {
      await writeFile(statePath, JSON.stringify(s));
    },
    async clearLog() {
      await writeFile(logPath, '');
    },
  };
}
