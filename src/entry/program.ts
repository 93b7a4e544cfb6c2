/**
 * Builds the `duo-secops` command tree. Each command lives in `commands/<name>.ts` and exports
 * `register(program, io)`; this file only wires them together.
 */
import { Command } from 'commander';
import type { CliIo } from './io.js';
import { VERSION } from '../version.js';

type Register = (program: Command, io: CliIo) => void;

/** Every command, in the order `--help` lists them. */
const COMMANDS: Record<string, () => Promise<{ register: Register }>> = {
  collect: () => import('./commands/collect.js'),
  check: () => import('./commands/check.js'),
  state: () => import('./commands/state.js'),
  verify: () => import('./commands/verify.js'),
  udm: () => import('./commands/udm.js'),
  simulate: () => import('./commands/simulate.js'),
  daemon: () => import('./commands/daemon.js'),
  deploy: () => import('./commands/deploy.js'),
  demo: () => import('./commands/demo.js'),
};

/**
 * `argv`, when given, lets a run that names a command load only that command's modules: the collector
 * does not carry the simulator, the deploy planner or the UDM converter in memory (about 15 MB of its
 * resident size), and starts sooner. Help, `help <command>` and unknown names load them all.
 */
export async function buildProgram(io: CliIo, argv?: readonly string[]): Promise<Command> {
  const program = new Command('duo-secops')
    .description('Collect Cisco Duo logs into Google Security Operations (SecOps), exactly once.')
    .version(VERSION)
    .showHelpAfterError()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    })
    .exitOverride();
  // The program has no options of its own that take a value: the first non-option names the command.
  const named = argv?.find((a) => !a.startsWith('-'));
  const only = named !== undefined && Object.hasOwn(COMMANDS, named) ? COMMANDS[named] : undefined;
  const modules = await Promise.all((only ? [only] : Object.values(COMMANDS)).map((load) => load()));
  for (const m of modules) m.register(program, io);
  return program;
}
