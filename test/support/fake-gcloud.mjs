// A stand-in for the Google Cloud CLI, for deploy tests. It understands exactly the commands deploy
// runs, keeps the project's state in a JSON file (FAKE_GCLOUD_STATE) so a describe succeeds once the
// resource was created, and appends every call to FAKE_GCLOUD_LOG as one JSON line: the argv, whether it
// changes state, and how many bytes came on stdin (never the bytes themselves).
// It is strict where real gcloud is and where a mistake of ours would hide: every call must carry
// --quiet and the right --project, a disabled API answers SERVICE_DISABLED, a role for an unknown
// service account is refused, a function's source folder must hold a package.json with `main`, and
// regional resources are found only in their own region.
// Besides what deploy creates, the state can hold what Google's guide leaves in a project: a function
// made in the console (`runServices`: seen by `gcloud run`, not by `gcloud functions`) and its jobs.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const argv = process.argv.slice(2);
const statePath = process.env.FAKE_GCLOUD_STATE;
const logPath = process.env.FAKE_GCLOUD_LOG;
if (!statePath || !logPath) {
  process.stderr.write('fake gcloud: FAKE_GCLOUD_STATE and FAKE_GCLOUD_LOG must be set\n');
  process.exit(2);
}

const positional = [];
const flags = {};
for (const a of argv) {
  if (a.startsWith('--')) {
    const eq = a.indexOf('=');
    if (eq === -1) flags[a.slice(2)] = true;
    else flags[a.slice(2, eq)] = a.slice(eq + 1);
  } else positional.push(a);
}
const cmd = positional.join(' ');
const READ_ONLY = /\b(describe|list|get-iam-policy|access)\b/;
/** What `gcloud functions regions list --gen2` answers unless the state says otherwise. */
const DEFAULT_REGIONS = ['asia-east1', 'europe-west1', 'europe-west4', 'us-central1', 'us-east1', 'us-east4', 'us-west1'];
const mutating = !READ_ONLY.test(cmd);

function readStdin() {
  try {
    return readFileSync(0);
  } catch {
    return Buffer.alloc(0);
  }
}
const stdin = flags['data-file'] === '-' || flags['config-from-file'] === '-' ? readStdin() : Buffer.alloc(0);
appendFileSync(logPath, `${JSON.stringify({ argv, mutating, stdinBytes: stdin.length })}\n`);

const state = JSON.parse(readFileSync(statePath, 'utf8'));
const save = () => writeFileSync(statePath, `${JSON.stringify(state, null, 2)}\n`);
const ok = (json) => {
  if (json !== undefined) process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
  process.exit(0);
};
const fail = (message, code = 1) => {
  process.stderr.write(`ERROR: (gcloud.${positional.join('.')}) ${message}\n`);
  process.exit(code);
};

if (process.env.FAKE_GCLOUD_NOT_LOGGED_IN) {
  fail('You do not currently have an active account selected.\nPlease run:\n\n  $ gcloud auth login\n\nto obtain new credentials.');
}
if (flags.quiet !== true) fail('fake gcloud: every call must carry --quiet', 2);
if (flags.project !== state.project) fail(`PERMISSION_DENIED: project [${flags.project}] not accessible`);
if (!mutating && flags.format !== 'json') fail('fake gcloud: a probe must ask for --format=json', 2);

const API_OF = {
  storage: 'storage.googleapis.com',
  iam: 'iam.googleapis.com',
  secrets: 'secretmanager.googleapis.com',
  pubsub: 'pubsub.googleapis.com',
  functions: 'cloudfunctions.googleapis.com',
  run: 'run.googleapis.com',
  scheduler: 'cloudscheduler.googleapis.com',
  eventarc: 'eventarc.googleapis.com',
  logging: 'logging.googleapis.com',
  monitoring: 'monitoring.googleapis.com',
};
// `gcloud alpha monitoring …`: the API is the command group's, after the release track.
const api = API_OF[positional[0] === 'alpha' || positional[0] === 'beta' ? positional[1] : positional[0]];
if (api && !state.apis.includes(api)) {
  fail(`PERMISSION_DENIED: ${api} has not been used in project ${state.project} before or it is disabled. reason: SERVICE_DISABLED`);
}

const policyOf = (p) => ({ bindings: Object.entries(p).map(([role, members]) => ({ role, members })), etag: 'BwX=' });
function addBinding(policy) {
  // IAM is eventually consistent: the first few bindings may not see an account created just before.
  if (state.flakyBindings > 0) {
    state.flakyBindings -= 1;
    save();
    fail(`INVALID_ARGUMENT: Service account ${String(flags.member).replace(/^serviceAccount:/, '')} does not exist.`);
  }
  const member = flags.member;
  const role = flags.role;
  if (!member || !role) fail('INVALID_ARGUMENT: --member and --role are required');
  const m = /^serviceAccount:(.+@(.+)\.iam\.gserviceaccount\.com)$/.exec(member);
  if (m && m[2] === state.project && !state.serviceAccounts[m[1]]) fail(`INVALID_ARGUMENT: Service account ${m[1]} does not exist.`);
  policy[role] = [...new Set([...(policy[role] ?? []), member])];
  save();
  ok(policyOf(policy));
}
const b64 = (s) => Buffer.from(s, 'utf8').toString('base64');

const [group, sub, verb, ...rest] = positional;
const name = positional.at(-1);

if (group === 'services' && sub === 'list') {
  ok(state.apis.map((a) => ({ config: { name: a }, name: `projects/123456/services/${a}`, state: 'ENABLED' })));
}
if (group === 'services' && sub === 'enable') {
  state.apis = [...new Set([...state.apis, ...positional.slice(2)])].sort();
  save();
  ok();
}

if (group === 'storage' && sub === 'buckets') {
  const bucket = positional[3]?.replace(/^gs:\/\//, '');
  if ((state.foreignBuckets ?? []).includes(bucket)) {
    fail(`HTTPError 403: someone@example.com does not have storage.buckets.get access to the Google Cloud Storage bucket. Permission 'storage.buckets.get' denied on resource (or it may not exist).`);
  }
  const b = state.buckets[bucket];
  if (verb === 'create') {
    if (b) fail('HTTPError 409: Your previous request to create the named bucket succeeded and you already own it.');
    state.buckets[bucket] = { location: String(flags.location).toUpperCase(), uniform: flags['uniform-bucket-level-access'] === true, policy: {} };
    save();
    ok();
  }
  if (!b) fail(`gs://${bucket} not found: 404.`);
  if (verb === 'describe') ok({ name: bucket, location: b.location, uniform_bucket_level_access: b.uniform, storage_url: `gs://${bucket}/` });
  if (verb === 'get-iam-policy') ok(policyOf(b.policy));
  if (verb === 'add-iam-policy-binding') addBinding(b.policy);
}

if (group === 'iam' && sub === 'service-accounts') {
  if (verb === 'create') {
    const email = `${rest[0]}@${state.project}.iam.gserviceaccount.com`;
    if (state.serviceAccounts[email]) fail(`ALREADY_EXISTS: Service account ${rest[0]} already exists within project projects/${state.project}.`);
    state.serviceAccounts[email] = { displayName: flags['display-name'] };
    save();
    ok();
  }
  if (verb === 'describe') {
    if (!state.serviceAccounts[rest[0]]) fail(`NOT_FOUND: Unknown service account`);
    ok({ email: rest[0], name: `projects/${state.project}/serviceAccounts/${rest[0]}` });
  }
}

if (group === 'secrets') {
  if (sub === 'versions') {
    const secretName = flags.secret ?? rest[0];
    const s = state.secrets[secretName];
    if (!s) fail(`NOT_FOUND: Secret [projects/123456/secrets/${secretName}] not found or has no versions.`);
    if (verb === 'add') {
      if (flags['data-file'] !== '-') fail('fake gcloud: versions add must read --data-file=-', 2);
      if (stdin.length === 0) fail('INVALID_ARGUMENT: empty payload');
      s.versions.push(stdin.toString('base64'));
      save();
      ok();
    }
    if (s.versions.length === 0) fail(`NOT_FOUND: Secret Version [projects/123456/secrets/${secretName}/versions/latest] not found.`);
    const n = s.versions.length;
    if (verb === 'describe') ok({ name: `projects/123456/secrets/${secretName}/versions/${n}`, state: 'ENABLED' });
    if (verb === 'access') ok({ name: `projects/123456/secrets/${secretName}/versions/${n}`, payload: { data: s.versions[n - 1], dataCrc32c: '0' } });
  } else {
    const secretName = positional[2];
    const s = state.secrets[secretName];
    if (sub === 'create') {
      if (s) fail(`ALREADY_EXISTS: Secret [projects/123456/secrets/${secretName}] already exists.`);
      state.secrets[secretName] = { versions: [], policy: {} };
      save();
      ok();
    }
    if (!s) fail(`NOT_FOUND: Secret [projects/123456/secrets/${secretName}] not found.`);
    if (sub === 'describe') ok({ name: `projects/123456/secrets/${secretName}`, replication: { automatic: {} } });
    if (sub === 'get-iam-policy') ok(policyOf(s.policy));
    if (sub === 'add-iam-policy-binding') addBinding(s.policy);
  }
}

const inRegion = (resource, region) => String(resource?.name ?? '').includes(`/locations/${region}/`);

if (group === 'pubsub' && sub === 'topics') {
  if (verb === 'create') {
    if (state.topics[name]) fail(`ALREADY_EXISTS: Resource already exists in the project (resource=${name}).`);
    state.topics[name] = {};
    save();
    ok();
  }
  if (!state.topics[name]) fail(`NOT_FOUND: Resource not found (resource=${name}).`);
  // A topic's policy lives beside it: the accounts mode's publisher grant is on the work topic only.
  state.topicPolicies ??= {};
  state.topicPolicies[name] ??= {};
  if (verb === 'get-iam-policy') ok(policyOf(state.topicPolicies[name]));
  if (verb === 'add-iam-policy-binding') addBinding(state.topicPolicies[name]);
  if (verb === 'describe') ok({ name: `projects/${state.project}/topics/${name}` });
}

// Eventarc triggers (accounts mode): from a Pub/Sub topic to a Cloud Run service, as gcloud describes them.
if (group === 'eventarc' && sub === 'triggers') {
  state.triggers ??= {};
  if (verb === 'list') ok(Object.values(state.triggers).filter((t) => inRegion(t, flags.location)));
  const triggerName = rest[0];
  const trigger = state.triggers[triggerName];
  if (!flags.location) fail('fake gcloud: a trigger needs --location', 2);
  if (verb === 'describe') {
    if (!trigger || !inRegion(trigger, flags.location)) fail(`NOT_FOUND: Resource 'projects/${state.project}/locations/${flags.location}/triggers/${triggerName}' was not found`);
    ok(trigger);
  }
  if (verb === 'create' || verb === 'update') {
    if (verb === 'create' && trigger) fail(`ALREADY_EXISTS: Resource 'projects/${state.project}/locations/${flags.location}/triggers/${triggerName}' already exists`);
    if (verb === 'update' && (!trigger || !inRegion(trigger, flags.location))) fail(`NOT_FOUND: trigger ${triggerName} not found`);
    // As gcloud: a trigger's transport cannot change.
    if (verb === 'update' && flags['transport-topic'] !== undefined) fail('unrecognized arguments: --transport-topic', 2);
    const service = flags['destination-run-service'];
    const region = flags['destination-run-region'];
    const fn = state.functions[service];
    if (!fn || !inRegion(fn, region)) fail(`NOT_FOUND: Cloud Run service ${service} not found in ${region}`);
    const filter = String(flags['event-filters'] ?? '');
    if (filter !== 'type=google.cloud.pubsub.topic.v1.messagePublished') fail(`INVALID_ARGUMENT: event filters ${filter}: a Pub/Sub trigger filters on type=google.cloud.pubsub.topic.v1.messagePublished`);
    const sa = flags['service-account'];
    if (!state.serviceAccounts[sa]) fail(`INVALID_ARGUMENT: Service account ${sa} does not exist.`);
    let topic = trigger?.transport?.pubsub?.topic;
    if (verb === 'create') {
      const m = /^projects\/([^/]+)\/topics\/(.+)$/.exec(String(flags['transport-topic']));
      if (!m || m[1] !== state.project || !state.topics[m[2]]) fail(`NOT_FOUND: transport topic ${flags['transport-topic']} not found`);
      topic = flags['transport-topic'];
    }
    state.triggers[triggerName] = {
      name: `projects/${state.project}/locations/${flags.location}/triggers/${triggerName}`,
      destination: { cloudRun: { service, region, path: '/' } },
      eventFilters: [{ attribute: 'type', value: 'google.cloud.pubsub.topic.v1.messagePublished' }],
      serviceAccount: sa,
      transport: { pubsub: { topic, subscription: `projects/${state.project}/subscriptions/eventarc-${flags.location}-${triggerName}-sub-000` } },
    };
    save();
    ok();
  }
}


if (group === 'functions' && sub === 'regions' && verb === 'list') {
  if (flags.gen2 !== true) fail('fake gcloud: regions list without --gen2 lists 1st gen regions', 2);
  ok((state.regions ?? DEFAULT_REGIONS).map((r) => ({ name: `projects/${state.project}/locations/${r}`, locationId: r })));
}

if (group === 'functions') {
  const fnName = positional[2];
  const fn = state.functions[fnName];
  if (sub === 'describe') {
    if (flags.v2 !== true) fail('fake gcloud: describe without --v2', 2);
    if (!fn || !inRegion(fn, flags.region)) fail(`NOT_FOUND: Resource 'projects/${state.project}/locations/${flags.region}/functions/${fnName}' was not found`);
    ok(fn);
  }
  if (sub === 'deploy') {
    if (flags.gen2 !== true) fail('fake gcloud: deploy without --gen2', 2);
    const source = String(flags.source);
    const pkgPath = join(source, 'package.json');
    if (!existsSync(pkgPath)) fail(`fake gcloud: no package.json in the source folder ${source}`, 2);
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
    if (!pkg.main || !existsSync(join(source, pkg.main))) fail(`fake gcloud: the source's main ${pkg.main} is missing`, 2);
    if (!state.topics[flags['trigger-topic']]) fail(`NOT_FOUND: topic ${flags['trigger-topic']} not found`);
    for (const sa of [flags['service-account'], flags['trigger-service-account']]) {
      if (!state.serviceAccounts[sa]) fail(`INVALID_ARGUMENT: Service account ${sa} does not exist.`);
    }
    // A list split at commas, or, starting with ^D^, at D (gcloud topic escaping): DUO_LOGS holds commas.
    const rawEnv = String(flags['set-env-vars'] ?? '');
    const escaped = /^\^([^^]+)\^/.exec(rawEnv);
    const env = Object.fromEntries(
      (escaped ? rawEnv.slice(escaped[0].length).split(escaped[1]) : rawEnv.split(','))
        .filter(Boolean)
        .map((kv) => {
          if (!kv.includes('=')) fail(`fake gcloud: --set-env-vars item without =: ${kv}`, 2);
          return [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)];
        }),
    );
    const labels = Object.fromEntries(
      String(flags['update-labels'] ?? '')
        .split(',')
        .filter(Boolean)
        .map((kv) => kv.split('=')),
    );
    const ingress = { all: 'ALLOW_ALL', 'internal-only': 'ALLOW_INTERNAL_ONLY', 'internal-and-gclb': 'ALLOW_INTERNAL_AND_GCLB' };
    state.functions[fnName] = {
      name: `projects/${state.project}/locations/${flags.region}/functions/${fnName}`,
      environment: 'GEN_2',
      state: 'ACTIVE',
      buildConfig: { runtime: flags.runtime, entryPoint: flags['entry-point'], source: { storageSource: { bucket: 'gcf-v2-sources', object: `${fnName}/function-source.zip` } } },
      serviceConfig: {
        service: `projects/${state.project}/locations/${flags.region}/services/${fnName}`,
        availableMemory: flags.memory,
        timeoutSeconds: Number(String(flags.timeout).replace(/s$/, '')),
        maxInstanceCount: Number(flags['max-instances']),
        ingressSettings: ingress[flags['ingress-settings']] ?? 'ALLOW_ALL',
        serviceAccountEmail: flags['service-account'],
        // The platform adds its own variable: deploy must not take it for drift.
        environmentVariables: { ...env, LOG_EXECUTION_ID: 'true' },
      },
      eventTrigger: {
        eventType: 'google.cloud.pubsub.topic.v1.messagePublished',
        pubsubTopic: `projects/${state.project}/topics/${flags['trigger-topic']}`,
        serviceAccountEmail: flags['trigger-service-account'],
        retryPolicy: flags.retry === true ? 'RETRY_POLICY_RETRY' : 'RETRY_POLICY_DO_NOT_RETRY',
      },
      labels: { ...(fn?.labels ?? {}), ...labels, 'deployment-tool': 'cli-gcloud' },
    };
    state.runPolicies[fnName] ??= {};
    state.deploys = (state.deploys ?? 0) + 1;
    save();
    ok();
  }
}

if (group === 'run' && sub === 'services') {
  const svc = positional[3];
  if (verb === 'describe') {
    // A function made with `gcloud functions` is a Cloud Run service too; one made in the console is only that.
    const fn = state.functions[svc];
    if (fn && inRegion(fn, flags.region)) {
      ok({
        apiVersion: 'serving.knative.dev/v1',
        kind: 'Service',
        metadata: { name: svc, labels: { 'goog-managed-by': 'cloudfunctions', 'cloud.googleapis.com/location': flags.region } },
        spec: { template: { spec: { containers: [{ env: Object.entries(fn.serviceConfig?.environmentVariables ?? {}).map(([n, value]) => ({ name: n, value })) }] } } },
      });
    }
    const madeInConsole = state.runServices?.[svc];
    if (madeInConsole && madeInConsole.metadata?.labels?.['cloud.googleapis.com/location'] === flags.region) ok(madeInConsole);
    fail(`Cannot find service [${svc}]`);
  }
  const policy = state.runPolicies[svc];
  if (!policy) fail(`NOT_FOUND: Resource 'projects/${state.project}/locations/${flags.region}/services/${svc}' was not found`);
  if (verb === 'get-iam-policy') ok(policyOf(policy));
  if (verb === 'add-iam-policy-binding') addBinding(policy);
}

if (group === 'scheduler' && sub === 'jobs' && verb === 'list') {
  ok(Object.values(state.jobs).filter((j) => inRegion(j, flags.location)));
}

if (group === 'scheduler' && sub === 'jobs') {
  const jobName = verb === 'create' || verb === 'update' ? rest[1] : rest[0];
  const job = state.jobs[jobName];
  const body = () => ({
    name: `projects/${state.project}/locations/${flags.location}/jobs/${jobName}`,
    schedule: flags.schedule,
    timeZone: flags['time-zone'] ?? 'Etc/UTC',
    pubsubTarget: { topicName: `projects/${state.project}/topics/${flags.topic}`, data: b64(flags['message-body']) },
    state: 'ENABLED',
  });
  if (verb === 'create') {
    if (rest[0] !== 'pubsub') fail('fake gcloud: only pubsub jobs', 2);
    if (job) fail(`ALREADY_EXISTS: Job projects/${state.project}/locations/${flags.location}/jobs/${jobName} already exists.`);
    if (!state.topics[flags.topic]) fail(`NOT_FOUND: topic ${flags.topic} not found`);
    state.jobs[jobName] = body();
    save();
    ok();
  }
  if (!job || !inRegion(job, flags.location)) fail('NOT_FOUND: Job not found.');
  if (verb === 'describe') ok(job);
  if (verb === 'pause' || verb === 'resume') {
    job.state = verb === 'pause' ? 'PAUSED' : 'ENABLED';
    save();
    ok();
  }
  if (verb === 'update') {
    state.jobs[jobName] = { ...job, ...body(), state: job.state };
    save();
    ok();
  }
}

// Log-based metrics: the configuration comes on stdin (--config-from-file=-), as the Logging API takes it.
if (group === 'logging' && sub === 'metrics') {
  state.metrics ??= {};
  const metricName = rest[0];
  const metric = state.metrics[metricName];
  if (verb === 'describe') {
    if (!metric) fail(`NOT_FOUND: Metric ${metricName} does not exist.`);
    ok({ name: metricName, ...metric });
  }
  if (verb === 'create' || verb === 'update') {
    if (flags['config-from-file'] !== '-') fail('fake gcloud: a metric comes as --config-from-file=-', 2);
    if (verb === 'create' && metric) fail(`ALREADY_EXISTS: Metric ${metricName} already exists.`);
    if (verb === 'update' && !metric) fail(`NOT_FOUND: Metric ${metricName} does not exist.`);
    let config;
    try {
      config = JSON.parse(stdin.toString('utf8'));
    } catch {
      fail('INVALID_ARGUMENT: the metric configuration is not JSON');
    }
    if (typeof config.filter !== 'string' || config.filter === '') fail('INVALID_ARGUMENT: a metric needs a filter');
    state.metrics[metricName] = config;
    save();
    ok();
  }
}

// Alert policies (alpha track): created from --policy=<JSON>, found by listing.
if (group === 'alpha' && sub === 'monitoring' && verb === 'policies') {
  state.alertPolicies ??= {};
  const [action, target] = rest;
  if (action === 'list') ok(Object.values(state.alertPolicies));
  if (action === 'create' || action === 'update') {
    let policy;
    try {
      policy = JSON.parse(flags.policy);
    } catch {
      fail('INVALID_ARGUMENT: --policy is not JSON');
    }
    if (!Array.isArray(policy.conditions) || policy.conditions.length === 0) fail('INVALID_ARGUMENT: a policy needs conditions');
    for (const channel of policy.notificationChannels ?? []) {
      if (!String(channel).startsWith(`projects/${state.project}/notificationChannels/`)) fail(`INVALID_ARGUMENT: channel ${channel} is not in project ${state.project}`);
    }
    if (action === 'update' && !state.alertPolicies[target]) fail(`NOT_FOUND: policy ${target}`);
    const policyName = action === 'update' ? target : `projects/${state.project}/alertPolicies/${Object.keys(state.alertPolicies).length + 1}`;
    state.alertPolicies[policyName] = { ...policy, name: policyName };
    save();
    ok();
  }
}

fail(`fake gcloud: unsupported command: ${argv.join(' ')}`, 2);
