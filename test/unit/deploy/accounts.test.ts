/** Accounts mode in deploy: its flags, the plan's work topic, grant and trigger, idempotence, and what is printed. */
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../../../src/config.js';
import { ConfigError } from '../../../src/errors.js';
import { ACCOUNTS_ENV, accountsEnv, accountsSummary, PUBLISHER_ROLE, RPM_ENV, type AccountsSettings } from '../../../src/deploy/accounts.js';
import { feedSettings, parseEnvVarsFlag, secopsFeeds } from '../../../src/deploy/feeds.js';
import { parseTrigger } from '../../../src/deploy/observe.js';
import { EMPTY_PROJECT, functionEnv, planDeploy, probeCommands, type DeploySettings, type Observed } from '../../../src/deploy/plan.js';
import { resolveDeployInput, type DeployFlags } from '../../../src/entry/commands/deploy.js';
import { deployed, deploySettings } from '../../support/deploy-settings.js';

const ENV = { DUO_IKEY: 'DIWJ8X6AEYOR5OMC6TQ1', DUO_API_HOST: 'api-1a2b3c4d.duosecurity.com' };
const FLAGS = { project: 'acme-prod', region: 'us-central1', bucket: 'acme-duo' };
const A1 = 'DA1234567890ABCDEFGH';
const A2 = 'DA0000000000ZYXWVUTS';
const A3 = 'DABCDEF';

const accounts = (over: Partial<AccountsSettings> = {}): AccountsSettings => ({ accounts: 'all', exclude: [], maxInstances: 10, workTopic: 'duo-secops-collector-work', accountFeeds: [], shareRate: true, ...over });
const withAccounts = (over: Partial<AccountsSettings> = {}, s: Partial<DeploySettings> = {}): DeploySettings => deploySettings({ accounts: accounts(over), ...s });

function problems(flags: DeployFlags): string[] {
  try {
    resolveDeployInput({ ...FLAGS, ...flags }, ENV);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('the accounts flags', () => {
  it('are off without --accounts; --accounts all gets 10 instances and the work topic <name>-work', () => {
    expect(resolveDeployInput(FLAGS, ENV).accounts).toBeUndefined();
    expect(resolveDeployInput({ ...FLAGS, accounts: 'all' }, ENV).accounts).toEqual(accounts());
    expect(resolveDeployInput({ ...FLAGS, accounts: 'ALL', name: 'duo-msp' }, ENV).accounts).toEqual(accounts({ workTopic: 'duo-msp-work' }));
    expect(
      resolveDeployInput({ ...FLAGS, accounts: `${A1}, ${A2}`, maxInstances: '25', workTopic: 'msp-work', accountFeeds: A2 }, ENV).accounts,
    ).toEqual({ accounts: [A1, A2], exclude: [], maxInstances: 25, workTopic: 'msp-work', accountFeeds: [A2], shareRate: true });
    expect(resolveDeployInput({ ...FLAGS, accounts: 'all', ratePerChild: true }, ENV).accounts).toEqual(accounts({ shareRate: false }));
    expect(resolveDeployInput({ ...FLAGS, accounts: 'all', accountsExclude: A3, accountFeeds: `${A1},${A2}` }, ENV).accounts).toMatchObject({ exclude: [A3], accountFeeds: [A1, A2] });
    expect(resolveDeployInput({ ...FLAGS, requestsPerMinute: '6' }, ENV).requestsPerMinute).toBe('6');
  });

  it('refuses what cannot work, one line each', () => {
    const table: Array<[DeployFlags, string[]]> = [
      [{ ratePerChild: true }, ['--rate-per-child: only with --accounts (accounts mode)']],
      [{ accounts: 'all', verifyDaily: true }, ['--verify-daily: not with --accounts: verify reads one Duo account, not the child accounts']],
      [{ accountsExclude: A1, maxInstances: '5', workTopic: 'w-topic', accountFeeds: A1 }, [
        '--accounts-exclude: only with --accounts (accounts mode)',
        '--max-instances: only with --accounts (accounts mode)',
        '--work-topic: only with --accounts (accounts mode)',
        '--account-feeds: only with --accounts (accounts mode)',
      ]],
      [{ accounts: 'da1234567890abcdefgh' }, [expect.stringMatching(/^--accounts: must be all or account ids, comma-separated: da1234567890abcdefgh: not an account id \(D followed by 5-40 upper-case/)]],
      [{ accounts: `${A1},DX1` }, [expect.stringContaining('DX1: not an account id')]],
      [{ accounts: `${A1},${A1}` }, [expect.stringContaining(`${A1} named twice`)]],
      [{ accounts: ' , ' }, [expect.stringContaining('must name at least one account id')]],
      [{ accounts: A1, accountsExclude: A2 }, ['--accounts-exclude: only with --accounts all (a list of ids already names every account collected)']],
      [{ accounts: 'all', accountsExclude: 'nope' }, [expect.stringContaining('--accounts-exclude: nope: not an account id')]],
      [{ accounts: 'all', maxInstances: '0' }, ['--max-instances: "0" must be a whole number from 1 to 1000']],
      [{ accounts: 'all', maxInstances: '1001' }, [expect.stringContaining('--max-instances: "1001"')]],
      [{ accounts: 'all', maxInstances: '2.5' }, [expect.stringContaining('--max-instances: "2.5"')]],
      [{ accounts: 'all', workTopic: 'goog-work' }, ['--work-topic: must be 3-255 characters, starting with a letter']],
      [{ accounts: 'all', workTopic: 'duo-secops-collector-trigger' }, [expect.stringContaining('--work-topic: must differ from --topic duo-secops-collector-trigger')]],
      [{ accounts: A1, accountFeeds: A2 }, [`--account-feeds: ${A2} is not collected (not in --accounts, or in --accounts-exclude)`]],
      [{ accounts: 'all', accountsExclude: A2, accountFeeds: `${A1},${A2}` }, [expect.stringContaining(`--account-feeds: ${A2} is not collected`)]],
      [{ requestsPerMinute: 'fast' }, ['--requests-per-minute: "fast" must be auto or a number of requests a minute above 0']],
      [{ requestsPerMinute: '0' }, [expect.stringContaining('--requests-per-minute: "0"')]],
    ];
    for (const [flags, expected] of table) expect(problems(flags), JSON.stringify(flags)).toEqual(expected);
    expect(problems({ accounts: 'all', requestsPerMinute: 'auto' })).toEqual([]);
  });
});

describe('the function in accounts mode', () => {
  it('reads the accounts, the work topic and the fan-out from its environment, escaped for gcloud', () => {
    const s = withAccounts({ accounts: [A1, A2], accountFeeds: [A1], maxInstances: 4 }, { requestsPerMinute: '15' });
    const env = functionEnv(s);
    expect(env).toMatchObject({
      DUO_ACCOUNTS: `${A1},${A2}`,
      WORK_TOPIC: 'projects/acme-prod/topics/duo-secops-collector-work',
      FAN_OUT_INSTANCES: '4',
      ACCOUNT_FEEDS: A1,
      REQUESTS_PER_MINUTE: '15',
    });
    expect(env).not.toHaveProperty('DUO_ACCOUNTS_EXCLUDE');
    expect(functionEnv(withAccounts({ exclude: [A3] }))).toMatchObject({ DUO_ACCOUNTS: 'all', DUO_ACCOUNTS_EXCLUDE: A3 });
    const fn = planDeploy(s, EMPTY_PROJECT).find((x) => x.id === 'function')!;
    expect(fn.argv).toContain('--max-instances=4');
    expect(parseEnvVarsFlag(fn.argv.find((a) => a.startsWith('--set-env-vars='))!.slice('--set-env-vars='.length))).toEqual(env);
    // Outside accounts mode none of these is set, and one instance runs.
    const plain = planDeploy(deploySettings(), EMPTY_PROJECT).find((x) => x.id === 'function')!;
    expect(plain.argv).toContain('--max-instances=1');
    expect(Object.keys(functionEnv(deploySettings())).filter((k) => Object.values(ACCOUNTS_ENV).includes(k as never) || k === RPM_ENV)).toEqual([]);
  });

  it('uses the names the function reads (the settings table)', () => {
    const envs = new Set(Object.values(SETTINGS).map((r) => (r as { env?: string }).env));
    for (const name of [...Object.values(ACCOUNTS_ENV), RPM_ENV]) expect(envs.has(name), name).toBe(true);
  });
});

describe('planDeploy in accounts mode', () => {
  it('adds the work topic and its publisher grant before the function, and the Eventarc trigger before the job', () => {
    const steps = planDeploy(withAccounts(), EMPTY_PROJECT);
    expect(steps.map((x) => x.id)).toEqual([
      'apis',
      'bucket',
      'service-account',
      'bucket-collector-role',
      'secret',
      'secret-version',
      'secret-accessor-role',
      'topic',
      'work-topic',
      'work-topic-publisher-role',
      'function',
      'function-invoker-role',
      'work-trigger',
      'job',
      'bucket-secops-role',
    ]);
    const by = (id: string): string[] => steps.find((x) => x.id === id)!.argv;
    expect(by('work-topic')).toEqual(['pubsub', 'topics', 'create', 'duo-secops-collector-work', '--project=acme-prod', '--quiet']);
    expect(by('work-topic-publisher-role')).toEqual([
      'pubsub',
      'topics',
      'add-iam-policy-binding',
      'duo-secops-collector-work',
      '--project=acme-prod',
      '--member=serviceAccount:duo-telephony-collector-sa@acme-prod.iam.gserviceaccount.com',
      `--role=${PUBLISHER_ROLE}`,
      '--quiet',
    ]);
    expect(by('work-trigger')).toEqual([
      'eventarc',
      'triggers',
      'create',
      'duo-secops-collector-work',
      '--project=acme-prod',
      '--location=europe-west1',
      '--destination-run-service=duo-secops-collector',
      '--destination-run-region=europe-west1',
      '--event-filters=type=google.cloud.pubsub.topic.v1.messagePublished',
      '--transport-topic=projects/acme-prod/topics/duo-secops-collector-work',
      '--service-account=duo-telephony-collector-sa@acme-prod.iam.gserviceaccount.com',
      '--quiet',
    ]);
    // The trigger calls the function's service as the account that holds run.invoker on it already.
    expect(by('function-invoker-role')).toContain('duo-secops-collector');
    expect(steps.every((x) => x.check?.includes('--format=json'))).toBe(true);
    expect(steps.find((x) => x.id === 'work-trigger')!.check).toEqual(probeCommands(withAccounts()).workTrigger);
  });

  it('is idempotent: nothing to do a second time; a missing piece is added alone', () => {
    const s = withAccounts({ exclude: [A3], accountFeeds: [A1] }, { requestsPerMinute: '20' });
    const o = deployed(s);
    expect(planDeploy(s, o)).toEqual([]);
    expect(planDeploy(s, { ...o, workTopic: { exists: true, policy: {} } }).map((x) => x.id)).toEqual(['work-topic-publisher-role']);
    expect(planDeploy(s, { ...o, workTopic: { exists: false } }).map((x) => x.id)).toEqual(['work-topic', 'work-topic-publisher-role']);
    expect(planDeploy(s, { ...o, workTrigger: { exists: false } }).map((x) => x.id)).toEqual(['work-trigger']);
  });

  it('another account list, exclusion, feed list or instance count redeploys only the function, and says why', () => {
    const s = withAccounts();
    const o = deployed(s);
    const table: Array<[DeploySettings, string]> = [
      [withAccounts({ accounts: [A1] }), 'environment DUO_ACCOUNTS'],
      [withAccounts({ exclude: [A1] }), 'environment DUO_ACCOUNTS_EXCLUDE'],
      [withAccounts({ accountFeeds: [A1] }), 'environment ACCOUNT_FEEDS'],
      [withAccounts({ maxInstances: 20 }), 'max instances 10 -> 20; environment FAN_OUT_INSTANCES'],
    ];
    for (const [after, why] of table) {
      const steps = planDeploy(after, o);
      expect(steps.map((x) => x.id), why).toEqual(['function']);
      expect(steps[0]!.description).toBe(`redeploy the function duo-secops-collector: ${why}`);
    }
  });

  it('dropping --accounts takes the function out of accounts mode; the work topic and trigger stay (deploy never deletes)', () => {
    const s = withAccounts({ exclude: [A3] }, { requestsPerMinute: '20' });
    const steps = planDeploy(deploySettings(), deployed(s));
    expect(steps.map((x) => x.id)).toEqual(['function']);
    expect(steps[0]!.description).toBe(
      'redeploy the function duo-secops-collector: max instances 10 -> 1; environment REQUESTS_PER_MINUTE (removed), DUO_ACCOUNTS (removed), DUO_ACCOUNTS_EXCLUDE (removed), WORK_TOPIC (removed), FAN_OUT_INSTANCES (removed)',
    );
  });

  it('updates a trigger that drifted; refuses one on another topic, which Eventarc cannot move', () => {
    const s = withAccounts();
    const o = deployed(s);
    if (!o.workTrigger.exists) throw new Error('unreachable');
    const drifted: Observed = { ...o, workTrigger: { ...o.workTrigger, service: 'other-service', serviceAccount: 'x@acme-prod.iam.gserviceaccount.com' } };
    const steps = planDeploy(s, drifted);
    expect(steps.map((x) => x.id)).toEqual(['work-trigger']);
    expect(steps[0]!.description).toBe('update the Eventarc trigger duo-secops-collector-work: destination other-service -> duo-secops-collector; service account');
    expect(steps[0]!.argv.slice(0, 4)).toEqual(['eventarc', 'triggers', 'update', 'duo-secops-collector-work']);
    expect(steps[0]!.argv.some((a) => a.startsWith('--transport-topic'))).toBe(false);
    const moved: Observed = { ...o, workTrigger: { ...o.workTrigger, transportTopic: 'projects/acme-prod/topics/old-work' } };
    expect(() => planDeploy(s, moved)).toThrow(/--work-topic: the Eventarc trigger duo-secops-collector-work exists on projects\/acme-prod\/topics\/old-work.*gcloud eventarc triggers delete duo-secops-collector-work --location=europe-west1 .*or deploy with --work-topic old-work/);
  });

  it("refuses the guide's topic as the work topic while the guide's function is there", () => {
    const s = withAccounts({ workTopic: 'duo-telephony-trigger' });
    const guide = { fn: { name: 'duo-telephony-logs-collector', api: 'run' as const, bucket: undefined, prefix: undefined, stateKey: undefined }, jobs: [] };
    expect(() => planDeploy(s, { ...EMPTY_PROJECT, guide })).toThrow(/--work-topic: duo-telephony-trigger also triggers Google's guide function/);
  });

  it('reads the trigger as gcloud describes it', () => {
    expect(
      parseTrigger({
        name: 'projects/p/locations/r/triggers/t',
        destination: { cloudRun: { service: 'svc', region: 'r', path: '/' } },
        eventFilters: [{ attribute: 'type', value: 'google.cloud.pubsub.topic.v1.messagePublished' }],
        serviceAccount: 'sa@p.iam.gserviceaccount.com',
        transport: { pubsub: { topic: 'projects/p/topics/w', subscription: 'projects/p/subscriptions/s' } },
      }),
    ).toEqual({ service: 'svc', region: 'r', eventType: 'google.cloud.pubsub.topic.v1.messagePublished', serviceAccount: 'sa@p.iam.gserviceaccount.com', transportTopic: 'projects/p/topics/w' });
    expect(parseTrigger({})).toEqual({ service: undefined, region: undefined, eventType: undefined, serviceAccount: undefined, transportTopic: undefined });
  });
});

describe('what accounts mode prints', () => {
  it('the work topic, the fan-out and a sizing note', () => {
    const s = withAccounts({ exclude: [A3] });
    const text = accountsSummary(s, s.accounts!).join('\n');
    expect(text).toContain(`Accounts:       all children of the parent integration, except ${A3}`);
    expect(text).toContain('Work topic:     projects/acme-prod/topics/duo-secops-collector-work: the scheduled run publishes one message per (account, stream)');
    expect(text).toContain('Work trigger:   Eventarc trigger duo-secops-collector-work');
    expect(text).toContain('Max instances:  10: at most 10 collections run at once');
    expect(text).toContain('one per stream reads every account');
    expect(text).toContain("Duo may count every child's requests against the parent integration's rate limit");
    expect(text).toContain('each collection paces at its share of the ceiling, 60 (REQUESTS_PER_MINUTE auto) / 10 a minute per endpoint');
    expect(text).toContain('together the 10 instances send no more than one collection would');
    expect(text).toContain('deploy with --rate-per-child');
    expect(accountsEnv(s.accounts, 'acme-prod')).not.toHaveProperty('ACCOUNTS_SHARE_RATE');
    const apart = withAccounts({ shareRate: false });
    expect(accountsEnv(apart.accounts, 'acme-prod')).toMatchObject({ ACCOUNTS_SHARE_RATE: 'false' });
    expect(accountsSummary(apart, apart.accounts!).join('\n')).toContain('--rate-per-child: each of the 10 collections paces up to 60 (REQUESTS_PER_MINUTE auto) a minute per endpoint');
    const listed = withAccounts({ accounts: [A1, A2], accountFeeds: [A1], maxInstances: 3 }, { requestsPerMinute: '20' });
    const lines = accountsSummary(listed, listed.accounts!);
    expect(lines).toContainEqual(`  Accounts:       2 child accounts: ${A1}, ${A2}`);
    expect(lines).toContainEqual(expect.stringContaining(`Feeds:          one per account and stream, for ${A1} (ACCOUNT_FEEDS`));
    expect(lines).toContainEqual(expect.stringContaining(`Without a feed: ${A2}: stored, but no feed reads them`));
    expect(lines.join('\n')).toContain('its share of the ceiling, 20 (REQUESTS_PER_MINUTE) / 3 a minute per endpoint');
  });

  it('one feed per stream reads every account; --account-feeds makes one per (account, stream), named for the account, with its namespace', () => {
    const shared = feedSettings(withAccounts({}, { logs: ['telephony', 'authentication'] }));
    expect(shared.filter((l) => l.includes('Storage bucket URL:')).map((l) => l.split(/\s+/).pop())).toEqual(['gs://acme-duo/duo-telephony/', 'gs://acme-duo/duo-authentication/']);
    expect(shared).toContainEqual(expect.stringContaining('one feed per stream reads them all'));
    expect(shared).toContainEqual(expect.stringContaining('one per account (gs://acme-duo/_state/duo-telephony_<account_id>.json)'));
    expect(shared).toContainEqual(expect.stringContaining("Duo: the parent's application must be allowed to use the Accounts API"));

    const s = withAccounts({ accounts: [A1, A2], accountFeeds: [A1, A2] }, { logs: ['telephony', 'authentication'] });
    expect(secopsFeeds(s).map((f) => [f.account, f.stream, f.uri])).toEqual([
      [A1, 'telephony', `gs://acme-duo/duo-telephony/${A1}/`],
      [A1, 'authentication', `gs://acme-duo/duo-authentication/${A1}/`],
      [A2, 'telephony', `gs://acme-duo/duo-telephony/${A2}/`],
      [A2, 'authentication', `gs://acme-duo/duo-authentication/${A2}/`],
    ]);
    const lines = feedSettings(s);
    expect(lines[0]).toBe('SecOps feeds: 4, one per account and log stream, each made with SIEM Settings > Feeds > Add New Feed > Configure a single feed:');
    expect(lines).toContainEqual(`Feed 2 of 4: the authentication log of account ${A1}`);
    expect(lines.filter((l) => l.includes('Feed name:')).map((l) => l.replace(/^\s*Feed name:\s*/, ''))).toEqual([
      `Duo Telephony logs ${A1}`,
      `Duo Auth logs ${A1}`,
      `Duo Telephony logs ${A2}`,
      `Duo Auth logs ${A2}`,
    ]);
    expect(lines.filter((l) => l.includes('Asset namespace:')).map((l) => l.split(/\s+/).pop())).toEqual([A1, A1, A2, A2]);
    expect(lines).toContainEqual(expect.stringContaining(`(gs://acme-duo/_state/duo-authentication_${A2}.json)`));
    // Outside accounts mode the feed text is as it was.
    expect(feedSettings(deploySettings()).join('\n')).not.toMatch(/account_id|Accounts mode|Asset namespace|of account/);
  });
});
