/** Google's guide collector: how it is recognised, what deploy says about it, and when a real run stops. */
import { describe, expect, it } from 'vitest';
import {
  activeGuideJobs,
  guideBlocks,
  GuideCollectorActiveError,
  guideDeleteCommands,
  guideReport,
  NO_GUIDE,
  parseGuideFunction,
  parseGuideJobs,
  parseGuideService,
  type ObservedGuide,
} from '../../../src/deploy/guide.js';
import { formatCommand } from '../../../src/deploy/format.js';
import { EMPTY_PROJECT, planDeploy, planProblems, type Observed } from '../../../src/deploy/plan.js';
import { exitStatusOf } from '../../../src/exit-codes.js';
import { deploySettings } from '../../support/deploy-settings.js';

const s = deploySettings({ region: 'us-central1', bucket: 'duo-telephony-logs' });
const GUIDE_SKEY = 'guide-secret-key-in-clear';

const consoleFunction = {
  apiVersion: 'serving.knative.dev/v1',
  kind: 'Service',
  metadata: { name: 'duo-telephony-logs-collector', annotations: { 'run.googleapis.com/build-function-target': 'main' } },
  spec: {
    template: {
      spec: {
        containers: [
          {
            env: [
              { name: 'GCS_BUCKET', value: 'duo-telephony-logs' },
              { name: 'GCS_PREFIX', value: 'duo-telephony' },
              { name: 'STATE_KEY', value: 'duo-telephony/state.json' },
              { name: 'DUO_SKEY', value: GUIDE_SKEY },
            ],
          },
        ],
      },
    },
  },
};

const job = (name: string, state: string, topic = 'duo-telephony-trigger', region = 'us-central1') => ({
  name: `projects/acme-prod/locations/${region}/jobs/${name}`,
  schedule: '0 * * * *',
  state,
  pubsubTarget: { topicName: `projects/acme-prod/topics/${topic}`, data: 'e30=' },
});

const withGuide = (guide: ObservedGuide): Observed => ({ ...EMPTY_PROJECT, guide });

describe('recognising the guide collector', () => {
  it('reads where a console-made function writes, and drops the rest of its environment (its key in clear)', () => {
    const fn = parseGuideService(consoleFunction, 'duo-telephony-logs-collector');
    expect(fn).toEqual({ name: 'duo-telephony-logs-collector', api: 'run', bucket: 'duo-telephony-logs', prefix: 'duo-telephony', stateKey: 'duo-telephony/state.json' });
    expect(JSON.stringify(fn)).not.toContain(GUIDE_SKEY);
  });

  it('reads the same from a gcloud functions description', () => {
    const fn = parseGuideFunction({ serviceConfig: { environmentVariables: { GCS_BUCKET: 'b', DUO_SKEY: GUIDE_SKEY } } }, 'duo-telephony-logs-collector');
    expect(fn).toEqual({ name: 'duo-telephony-logs-collector', api: 'functions', bucket: 'b', prefix: undefined, stateKey: undefined });
  });

  it('finds the guide job by its name or by the topic it publishes to, never our own job', () => {
    const jobs = parseGuideJobs(
      [job('duo-telephony-logs-1h', 'ENABLED', 'renamed-topic'), job('hand-made', 'PAUSED'), job('unrelated', 'ENABLED', 'other'), job(s.job, 'ENABLED')],
      'acme-prod',
      s.job,
    );
    expect(jobs).toEqual([
      { name: 'duo-telephony-logs-1h', state: 'ENABLED', schedule: '0 * * * *', topicName: 'projects/acme-prod/topics/renamed-topic' },
      { name: 'hand-made', state: 'PAUSED', schedule: '0 * * * *', topicName: 'projects/acme-prod/topics/duo-telephony-trigger' },
    ]);
    expect(parseGuideJobs({}, 'acme-prod', s.job)).toEqual([]);
  });
});

describe('what deploy does about it', () => {
  const fn = parseGuideService(consoleFunction, 'duo-telephony-logs-collector');
  const enabled = withGuide({ fn, jobs: parseGuideJobs([job('duo-telephony-logs-1h', 'ENABLED')], 'acme-prod', s.job) });
  const paused = withGuide({ fn, jobs: parseGuideJobs([job('duo-telephony-logs-1h', 'PAUSED')], 'acme-prod', s.job) });

  it('an enabled job stops a real run unless a choice was made', () => {
    expect(activeGuideJobs(enabled).map((j) => j.name)).toEqual(['duo-telephony-logs-1h']);
    expect(guideBlocks(s, enabled)).toBe(true);
    expect(guideBlocks({ ...s, guideCollector: 'pause' }, enabled)).toBe(false);
    expect(guideBlocks({ ...s, guideCollector: 'keep' }, enabled)).toBe(false);
    expect(guideBlocks(s, paused)).toBe(false);
    expect(guideBlocks(s, EMPTY_PROJECT)).toBe(false);
    const err = new GuideCollectorActiveError(s, enabled);
    expect(exitStatusOf(err)).toBe(8);
    expect(err.message).toContain('duo-telephony-logs-1h in us-central1 is ENABLED');
    expect(err.message).toContain('--pause-guide-job');
    expect(err.message).toContain('--keep-guide-collector');
    expect(err.message).toContain('gcloud scheduler jobs pause duo-telephony-logs-1h --project=acme-prod --location=us-central1');
  });

  it('--pause-guide-job pauses each enabled guide job as the very first step', () => {
    const steps = planDeploy({ ...s, guideCollector: 'pause' }, enabled);
    expect(steps[0]).toMatchObject({ id: 'guide-job-pause', argv: ['scheduler', 'jobs', 'pause', 'duo-telephony-logs-1h', '--project=acme-prod', '--location=us-central1', '--quiet'] });
    expect(steps.filter((x) => x.id === 'guide-job-pause')).toHaveLength(1);
    expect(steps[1]!.id).toBe('apis');
    // Nothing to pause: no step; without the flag: no step either (the run stops instead).
    expect(planDeploy({ ...s, guideCollector: 'pause' }, paused).some((x) => x.id === 'guide-job-pause')).toBe(false);
    expect(planDeploy(s, enabled).some((x) => x.id === 'guide-job-pause')).toBe(false);
  });

  it('says what it found, the ways on, that the checkpoint carries on, and how to delete it later', () => {
    const text = guideReport(s, enabled, { dryRun: true }).join('\n');
    expect(text).toContain("WARNING: Google's guide collector is still scheduled in acme-prod (us-central1)");
    expect(text).toContain('Cloud Scheduler job duo-telephony-logs-1h: ENABLED, "0 * * * *", publishes to duo-telephony-trigger');
    expect(text).toContain('Cloud Run function duo-telephony-logs-collector (made in the console), writes gs://duo-telephony-logs/duo-telephony/');
    expect(text).toContain('A real run stops here, before changing anything (exit 8)');
    expect(text).toContain('--pause-guide-job');
    expect(text).toContain('--keep-guide-collector');
    expect(text).toContain("the first run carries on from the guide's checkpoint gs://duo-telephony-logs/duo-telephony/state.json");
    expect(text).toContain('gs://duo-telephony-logs/_state/duo-telephony.json');
    for (const cmd of guideDeleteCommands(s, enabled)) expect(text).toContain(formatCommand(cmd));
    expect(guideReport(s, enabled, { dryRun: false }).join('\n')).toContain('Nothing was changed. Run deploy again with one of:');
    expect(guideReport({ ...s, guideCollector: 'pause' }, enabled, { dryRun: false }).join('\n')).toContain(
      'gcloud scheduler jobs resume duo-telephony-logs-1h --project=acme-prod --location=us-central1',
    );
    expect(guideReport({ ...s, guideCollector: 'keep' }, enabled, { dryRun: false }).join('\n')).toContain(
      'Both collectors write to gs://duo-telephony-logs/duo-telephony/',
    );
    expect(guideReport(s, EMPTY_PROJECT, { dryRun: true })).toEqual([]);
  });

  it('a paused job or a lone function is a note: nothing doubles while it stays so', () => {
    const p = guideReport(s, paused, { dryRun: false }).join('\n');
    expect(p).toContain("Google's guide collector is in acme-prod (us-central1):");
    expect(p).not.toContain('WARNING');
    expect(p).toContain('Its job is not enabled: nothing is collected twice while it stays so.');
    const lone = guideReport(s, withGuide({ fn, jobs: [] }), { dryRun: false }).join('\n');
    expect(lone).toContain('No Cloud Scheduler job in this region triggers it');
  });

  it('another bucket, or a checkpoint elsewhere: not carried on, and it says so', () => {
    const elsewhere = withGuide({ fn: { ...fn, bucket: 'other-bucket' }, jobs: [] });
    expect(guideReport(s, elsewhere, { dryRun: false }).join('\n')).toContain(
      'this collector does not read its checkpoint gs://other-bucket/duo-telephony/state.json; it starts from its own look-back window',
    );
    // The guide's code keeps duo-telephony/state.json whatever GCS_PREFIX is; ours reads <prefix>/state.json.
    const otherPrefix = withGuide({ fn: { ...fn, prefix: 'logs', stateKey: undefined }, jobs: [] });
    expect(guideReport({ ...s, prefix: 'logs' }, otherPrefix, { dryRun: false }).join('\n')).toContain(
      'does not read its checkpoint gs://duo-telephony-logs/duo-telephony/state.json',
    );
    const unsetButSame = withGuide({ fn: { ...fn, prefix: undefined, stateKey: undefined }, jobs: [] });
    expect(guideReport(s, unsetButSame, { dryRun: false }).join('\n')).toContain("the first run carries on from the guide's checkpoint");
  });

  it('never deletes: the printed commands remove jobs, function, its trigger and topic, not the account or the bucket', () => {
    const run = guideDeleteCommands(s, enabled).map((c) => formatCommand(c));
    expect(run).toEqual([
      'gcloud scheduler jobs delete duo-telephony-logs-1h --project=acme-prod --location=us-central1',
      'gcloud run services delete duo-telephony-logs-collector --project=acme-prod --region=us-central1',
      'gcloud eventarc triggers list --project=acme-prod --location=us-central1',
      'gcloud pubsub topics delete duo-telephony-trigger --project=acme-prod',
    ]);
    const viaFunctions = guideDeleteCommands(s, withGuide({ fn: { ...fn, api: 'functions' }, jobs: [] })).map((c) => formatCommand(c));
    expect(viaFunctions).toEqual(['gcloud functions delete duo-telephony-logs-collector --project=acme-prod --region=us-central1', 'gcloud pubsub topics delete duo-telephony-trigger --project=acme-prod']);
    expect(guideDeleteCommands(s, withGuide(NO_GUIDE))).toEqual([]);
  });

  it("refuses to share the guide's topic while its function is there: both would run on each message", () => {
    expect(planProblems({ ...s, topic: 'duo-telephony-trigger' }, withGuide({ fn, jobs: [] }))).toEqual([expect.stringContaining('--topic: duo-telephony-trigger also triggers')]);
    expect(planProblems({ ...s, topic: 'duo-telephony-trigger' }, EMPTY_PROJECT)).toEqual([]);
  });
});
