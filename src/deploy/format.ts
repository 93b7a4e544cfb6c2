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

/** The prefix of the line showing a step's standard input (never a secret). */
export const INPUT_PREFIX = '  stdin: ';

export function formatStep(step: DeployStep, index: number, total: number): string[] {
  const lines = [`[${index + 1}/${total}] ${step.description}`, `${COMMAND_PREFIX}${formatCommand(step.argv)}`];
  // What goes on stdin when it is no secret (a metric's configuration): shown, so the plan can be reviewed.
  if (step.input !== undefined) lines.push(`${INPUT_PREFIX}${step.input}`);
  return lines;
}
