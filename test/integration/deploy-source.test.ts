/** Staging the function source copies the built package (dist/), which the global setup builds. */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashFolder, stageFunctionSource } from '../../src/deploy/source.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploy-source-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('stageFunctionSource', () => {
  it('stages the built package: handler, runtime package.json, pruned lock, .gcloudignore', async () => {
    const into = join(dir, 'stage');
    const staged = await stageFunctionSource({ into });
    expect(staged.dir).toBe(into);
    expect(staged.lockfile).toBe(true);
    const pkg = JSON.parse(await readFile(join(into, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.main).toBe('dist/src/entry/function.js');
    expect(pkg.scripts).toBeUndefined();
    expect(pkg.devDependencies).toBeUndefined();
    await expect(readFile(join(into, 'dist/src/entry/function.js'), 'utf8')).resolves.toContain('main');
    const lock = JSON.parse(await readFile(join(into, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    expect(Object.values(lock.packages).some((p) => p.dev)).toBe(false);
    expect(staged.hash).toBe((await hashFolder(into)).hash);
    // Staged twice, same content: same hash; the default folder is named after it.
    const again = await stageFunctionSource();
    expect(again.hash).toBe(staged.hash);
    expect(again.dir).toMatch(new RegExp(`duo-secops-function-${staged.hash.slice(0, 16)}$`));
  });

  it('refuses a stage folder that is not empty: all of it would be uploaded', async () => {
    const into = join(dir, 'busy');
    await mkdir(into, { recursive: true });
    await writeFile(join(into, 'secret.txt'), 'x');
    await expect(stageFunctionSource({ into })).rejects.toThrow(/--stage-dir: .* is not empty/);
  });
});
