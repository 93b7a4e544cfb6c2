/** Deploy settings as `resolveDeployInput` fills them by default, for tests to vary one field at a time. */
import { secretDigest } from '../../src/deploy/observe.js';
import type { DeploySettings } from '../../src/deploy/plan.js';

/** The other streams' prefixes as the settings table defaults them (GCS_PREFIX_<STREAM>). */
export const DEFAULT_STREAM_PREFIXES = {
  authentication: 'duo-authentication',
  activity: 'duo-activity',
  trust_monitor: 'duo-trust-monitor',
  administrator: 'duo-administrator',
} as const;

export const TEST_SKEY = 'sKeY-1234567890-abcdefghijklmnopqrstuv';

export function deploySettings(over: Partial<DeploySettings> = {}): DeploySettings {
  return {
    project: 'acme-prod',
    region: 'europe-west1',
    bucket: 'acme-duo',
    logs: ['telephony'],
    prefix: 'duo-telephony',
    streamPrefixes: { ...DEFAULT_STREAM_PREFIXES },
    schedule: '*/15 * * * *',
    timeZone: 'Etc/UTC',
    functionName: 'duo-secops-collector',
    serviceAccountName: 'duo-telephony-collector-sa',
    secretName: 'duo-secops-skey',
    topic: 'duo-secops-collector-trigger',
    job: 'duo-secops-collector',
    secopsServiceAccount: 'chronicle-1@chronicle-gcp-prod.iam.gserviceaccount.com',
    ikey: 'DIXXXXXXXXXXXXXXXXXX',
    apiHost: 'api-12345678.duosecurity.com',
    skeySha256: secretDigest(TEST_SKEY),
    guideCollector: 'stop',
    source: { dir: '/tmp/duo-secops-function-0123', hash: 'ab'.repeat(32) },
    ...over,
  };
}
