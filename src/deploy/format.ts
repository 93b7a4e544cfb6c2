/**
 * How deploy shows commands: one shell-ready line each, identical in `--dry-run` and in a real run, so
 * what a dry run prints can be compared with, or pasted as, what a real run executes.
 */
import type { DeployStep } from './plan.js';

/** POSIX shell quoting, only where needed, so a printed command can be pasted as it is. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatCommand(argv: readonly string[]): string {
  return ['gcloud', ...argv].map(shellQuote).join(' ');
}

/** The prefix of every mutating command line, in both modes: `$ gcloud …`. */
export const COMMAND_PREFIX = '$ ';
/** The prefix of every read-only probe line. */
export const PROBE_PREFIX = '  read: ';

export function formatStep(step: DeployStep, index: number, total: number): string[] {
  return [`[${index + 1}/${total}] ${step.description}`, `${COMMAND_PREFIX}${formatCommand(step.argv)}`];
}
