/** The function source: what package.json and the lock file say, and a content hash that is stable. */
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionPackageJson, hashFolder, pruneLockfile, stageFunctionSource } from '../../../src/deploy/source.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deploy-source-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PKG = {
  name: 'duo-telephony',
  version: '1.2.3',
  license: 'Apache-2.0',
  type: 'module',
  main: 'dist/src/entry/function.js',
  bin: { 'duo-telephony': 'dist/src/entry/cli.js' },
  scripts: { build: 'tsc', prepare: 'npm run build' },
  engines: { node: '>=20.18.1' },
  dependencies: { zod: '^4.0.0' },
  devDependencies: { vitest: '^3.0.0' },
};

describe('function package.json and lock file', () => {
  it('keeps runtime dependencies and the handler, drops scripts, bin and dev dependencies', () => {
    expect(functionPackageJson(PKG)).toEqual({
      name: 'duo-telephony',
      version: '1.2.3',
      description: expect.any(String),
      private: true,
      license: 'Apache-2.0',
      type: 'module',
      main: 'dist/src/entry/function.js',
      engines: { node: '>=20.18.1' },
      dependencies: { zod: '^4.0.0' },
    });
  });

  it('prunes dev-only packages so the lock agrees with that package.json', () => {
    const lock = {
      name: 'duo-telephony',
      version: '1.2.3',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { ...PKG },
        'node_modules/zod': { version: '4.1.0' },
        'node_modules/vitest': { version: '3.2.0', dev: true },
        'node_modules/fsevents': { version: '2.3.3', devOptional: true, optional: false },
      },
    };
    const fnPkg = functionPackageJson(PKG);
    expect(pruneLockfile(lock, fnPkg)).toEqual({
      name: 'duo-telephony',
      version: '1.2.3',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': { name: 'duo-telephony', version: '1.2.3', license: 'Apache-2.0', dependencies: { zod: '^4.0.0' }, engines: { node: '>=20.18.1' } },
        'node_modules/zod': { version: '4.1.0' },
        'node_modules/fsevents': { version: '2.3.3', optional: true },
      },
    });
  });
});

describe('hashFolder', () => {
  it('depends on paths and bytes, not on the folder name or write order', async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (const [root, order] of [
      [a, ['x/1.js', 'y.js']],
      [b, ['y.js', 'x/1.js']],
    ] as const) {
      for (const f of order) {
        await mkdir(join(root, f, '..'), { recursive: true });
        await writeFile(join(root, f), `content of ${f}`);
      }
    }
    const ha = await hashFolder(a);
    expect(ha).toEqual(await hashFolder(b));
    expect(ha.files).toBe(2);
    await writeFile(join(b, 'y.js'), 'changed');
    expect((await hashFolder(b)).hash).not.toBe(ha.hash);
  });
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
    expect(again.dir).toMatch(new RegExp(`duo-telephony-function-${staged.hash.slice(0, 16)}$`));
  });

  it('refuses a stage folder that is not empty: all of it would be uploaded', async () => {
    const into = join(dir, 'busy');
    await mkdir(into, { recursive: true });
    await writeFile(join(into, 'secret.txt'), 'x');
    await expect(stageFunctionSource({ into })).rejects.toThrow(/--stage-dir: .* is not empty/);
  });
});
