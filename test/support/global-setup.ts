/**
 * Subprocess tests run the built CLI (`dist/`), exactly as users do after `npm ci`. Build it once
 * per test run so it never lags behind the sources. Type errors are reported by `npm run typecheck`;
 * tsc still emits, so a failing build only warns here.
 */
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  try {
    execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'pipe' });
  } catch (err) {
    const out = (err as { stdout?: Buffer }).stdout?.toString() ?? '';
    console.warn(`warning: building dist/ for subprocess tests reported errors:\n${out.slice(0, 2000)}`);
  }
}
