/**
 * The function's source, as gcloud uploads it: a folder with this package's compiled code
 * (`dist/src/**.js`), a `package.json` that lists only the runtime dependencies and names the
 * functions-framework handler as `main`, and the lock file pruned to those dependencies so Cloud Build's
 * `npm ci` installs exactly the tested versions. No scripts: the build must not run `prepare`/`build`.
 *
 * The folder's content hash (paths and bytes, not the folder name) labels the deployed function, so a
 * deploy with unchanged code and settings skips the minutes-long redeploy.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';

export const PACKAGE_NAME = 'duo-secops';
export const FUNCTION_MAIN = 'dist/src/entry/function.js';

export interface StagedSource {
  dir: string;
  /** SHA-256 (hex) over the staged files' relative paths and contents. */
  hash: string;
  files: number;
  bytes: number;
  /** Whether a lock file was staged (an installed package has none: Cloud Build then resolves the ranges). */
  lockfile: boolean;
  version: string;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** The package root this code runs from: the nearest folder up whose package.json is ours. */
export function findPackageRoot(from: string = fileURLToPath(import.meta.url)): string {
  let dir = dirname(from);
  for (;;) {
    const candidate = join(dir, 'package.json');
    // A package.json of another package (a test fixture, a workspace) is passed over.
    if (existsSync(candidate) && obj(JSON.parse(readFileSync(candidate, 'utf8'))).name === PACKAGE_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new ConfigError([`cannot find the ${PACKAGE_NAME} package folder above ${from}`]);
    dir = parent;
  }
}

/** package.json for the function: runtime dependencies only, no scripts, `main` = the handler. */
export function functionPackageJson(pkg: Json): Json {
  const out: Json = {
    name: pkg.name,
    version: pkg.version,
    description: 'Cloud Run function: collects Cisco Duo logs (today the telephony log) into Cloud Storage for a SecOps feed',
    private: true,
    license: pkg.license,
    type: 'module',
    main: FUNCTION_MAIN,
    engines: pkg.engines,
    dependencies: pkg.dependencies ?? {},
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

/**
 * The lock file without what only development needs, so it agrees with `functionPackageJson` (npm ci
 * refuses a lock that disagrees with package.json). Entries marked `dev` go; `devOptional` ones are
 * optional for production and stay as `optional`.
 */
export function pruneLockfile(lock: Json, fnPkg: Json): Json {
  const packages = obj(lock.packages);
  const pruned: Json = {};
  for (const [path, entry] of Object.entries(packages)) {
    const e = { ...obj(entry) };
    if (path === '') {
      const root: Json = { name: fnPkg.name, version: fnPkg.version, license: fnPkg.license, dependencies: fnPkg.dependencies, engines: fnPkg.engines };
      pruned[path] = Object.fromEntries(Object.entries(root).filter(([, v]) => v !== undefined));
      continue;
    }
    if (e.dev === true) continue;
    if (e.devOptional === true) {
      delete e.devOptional;
      e.optional = true;
    }
    pruned[path] = e;
  }
  return { name: fnPkg.name, version: fnPkg.version, lockfileVersion: lock.lockfileVersion, requires: true, packages: pruned };
}

async function listFiles(root: string, filter: (rel: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile() && filter(relative(root, full))) out.push(full);
    }
  };
  await walk(root);
  return out;
}

/** Content hash of a folder: stable across folder names, platforms and file order. */
export async function hashFolder(dir: string): Promise<{ hash: string; files: number; bytes: number }> {
  const files = (await listFiles(dir, () => true)).map((f) => relative(dir, f).split(sep).join('/')).sort();
  const h = createHash('sha256');
  let bytes = 0;
  for (const rel of files) {
    const data = await readFile(join(dir, rel));
    bytes += data.length;
    h.update(`${rel}\0${createHash('sha256').update(data).digest('hex')}\n`);
  }
  return { hash: h.digest('hex'), files: files.length, bytes };
}

/**
 * Copies the compiled package into `into` (an existing folder must be empty: it is uploaded as a whole).
 * Without `into`, the folder is named after its content hash in the temporary folder, so a dry run and
 * the real run that follows print the very same `--source`.
 */
export async function stageFunctionSource(opts: { packageRoot?: string; into?: string } = {}): Promise<StagedSource> {
  const root = opts.packageRoot ?? findPackageRoot();
  const pkg = obj(JSON.parse(await readFile(join(root, 'package.json'), 'utf8')));
  if (pkg.name !== PACKAGE_NAME) throw new ConfigError([`${root} holds package ${String(pkg.name)}, not ${PACKAGE_NAME}`]);
  if (!existsSync(join(root, FUNCTION_MAIN))) {
    throw new ConfigError([`${join(root, FUNCTION_MAIN)} is missing: build the package first (npm run build)`]);
  }

  if (opts.into !== undefined) {
    await mkdir(opts.into, { recursive: true });
    if ((await readdir(opts.into)).length > 0) throw new ConfigError([`--stage-dir: ${opts.into} is not empty; everything in it would be uploaded`]);
    return { dir: opts.into, ...(await copyPackage(root, pkg, opts.into)) };
  }
  const work = await mkdtemp(join(tmpdir(), 'duo-secops-staging-'));
  const staged = await copyPackage(root, pkg, work);
  const dir = join(tmpdir(), `duo-secops-function-${staged.hash.slice(0, 16)}`);
  try {
    // Atomic: a concurrent deploy sees either no folder or a complete one, never a half-copied one.
    await rename(work, dir);
  } catch {
    // The folder exists: staged earlier (or by a concurrent deploy) with this content, which is kept
    // as it is, since someone may be uploading it; anything else under that name is replaced.
    const existing = await hashFolder(dir).catch(() => undefined);
    if (existing?.hash !== staged.hash) {
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
    }
    await rm(work, { recursive: true, force: true });
  }
  return { dir, ...staged };
}

async function copyPackage(root: string, pkg: Json, dir: string): Promise<Omit<StagedSource, 'dir'>> {
  const distSrc = join(root, 'dist', 'src');
  // Only the JavaScript: declarations and source maps are not needed to run and only grow the upload.
  for (const file of await listFiles(distSrc, (rel) => rel.endsWith('.js'))) {
    const target = join(dir, 'dist', 'src', relative(distSrc, file));
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, await readFile(file));
  }
  const fnPkg = functionPackageJson(pkg);
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(fnPkg, null, 2)}\n`);
  const lockPath = join(root, 'package-lock.json');
  const lockfile = existsSync(lockPath);
  if (lockfile) {
    const lock = obj(JSON.parse(await readFile(lockPath, 'utf8')));
    await writeFile(join(dir, 'package-lock.json'), `${JSON.stringify(pruneLockfile(lock, fnPkg), null, 2)}\n`);
  }
  // gcloud writes a default .gcloudignore into a folder without one; ours keeps the folder (and so its
  // hash) exactly as staged, and uploads everything in it.
  await writeFile(join(dir, '.gcloudignore'), '# Everything in this folder is the function source: upload it all.\n');
  const { hash, files, bytes } = await hashFolder(dir);
  return { hash, files, bytes, lockfile, version: String(pkg.version) };
}
