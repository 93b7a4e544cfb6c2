/**
 * Builds the `duo-telephony` command tree. Each command lives in `commands/<name>.ts` and exports
 * `register(program, io)`; this file only wires them together.
 */
import { Command } from 'commander';
import type { CliIo } from './io.js';
import { VERSION } from '../version.js';

type Register = (program: Command, io: CliIo) => void;

export async function buildProgram(io: CliIo): Promise<Command> {
  const program = new Command('duo-telephony')
    .description('Collect Cisco Duo telephony logs into Google Security Operations, exactly once.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  const modules: Array<Promise<{ register: Register }>> = [
    // Keep this list in the order `--help` should show.
    import('./commands/collect.js'),
    import('./commands/check.js'),
    import('./commands/state.js'),
    import('./commands/udm.js'),
    import('./commands/simulate.js'),
    import('./commands/daemon.js'),
    import('./commands/deploy.js'),
    import('./commands/demo.js'),
  ];
  for (const m of await Promise.all(modules)) m.register(program, io);
  return program;
}
