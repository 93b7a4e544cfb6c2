/** Help text derived from the exit-status table, so every command says the same thing. */
import { EXIT_STATUS, EXIT_STATUS_MEANING, type ExitStatusName } from '../exit-codes.js';

/** `Exit status: 0 …, 2 …` for the statuses a command can end with, one per line. */
export function exitStatusHelp(names: readonly ExitStatusName[]): string {
  return ['Exit status:', ...names.map((n) => `  ${String(EXIT_STATUS[n]).padStart(3)}  ${EXIT_STATUS_MEANING[n]}`)].join('\n');
}
