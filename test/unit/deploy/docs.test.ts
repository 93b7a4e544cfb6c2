/** docs/deploy.md stays true to the command: every flag, the default names, and the exit statuses. */
import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { DEFAULT_NAME, DEFAULT_SCHEDULE, DEFAULT_SECRET, DEFAULT_SERVICE_ACCOUNT, register } from '../../../src/entry/commands/deploy.js';
import { GUIDE_FUNCTION, GUIDE_JOB, GUIDE_TOPIC } from '../../../src/deploy/guide.js';
import { ERROR_CODES, EXIT_STATUS } from '../../../src/exit-codes.js';

const DOC = new URL('../../../docs/deploy.md', import.meta.url);

describe('docs/deploy.md', () => {
  it('names every flag of deploy, and the defaults the code uses', async () => {
    const doc = await readFile(DOC, 'utf8');
    const program = new Command('duo-secops');
    register(program, { stdout: new PassThrough(), stderr: new PassThrough(), stdin: new PassThrough(), env: {}, isTTY: false, setExitCode() {} });
    const deploy = program.commands.find((c) => c.name() === 'deploy')!;
    for (const o of deploy.options) expect(doc, o.long).toContain(`\`${o.long}`);
    for (const name of [DEFAULT_NAME, DEFAULT_SECRET, DEFAULT_SERVICE_ACCOUNT, DEFAULT_SCHEDULE, `${DEFAULT_NAME}-trigger`, GUIDE_FUNCTION, GUIDE_JOB, GUIDE_TOPIC]) {
      expect(doc).toContain(`\`${name}\``);
    }
  });

  it("its exit status table is deploy's rows of the one table", async () => {
    const doc = await readFile(DOC, 'utf8');
    const table = doc.slice(doc.indexOf('### Exit status'), doc.indexOf('## What deploy reads first'));
    const statuses = [...table.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1]));
    expect(statuses).toEqual([
      EXIT_STATUS.ok,
      EXIT_STATUS.config,
      ERROR_CODES.DEPLOY_GCLOUD_UNAVAILABLE.exit,
      ERROR_CODES.DEPLOY_STEP_FAILED.exit,
      ERROR_CODES.DEPLOY_GUIDE_COLLECTOR_ACTIVE.exit,
    ]);
  });
});
