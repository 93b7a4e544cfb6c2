/**
 * The function source: what package.json and the lock file say, and a content hash that is stable.
 * Staging the built package needs dist/: test/integration/deploy-source.test.ts.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { functionPackageJson, hashFolder, pruneLockfile } from '../../../src/deploy/source.js';

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
