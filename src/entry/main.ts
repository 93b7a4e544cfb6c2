/** Run one CLI invocation and map errors to exit codes; `cli.ts` is the thin bin around it. */
import { CommanderError } from 'commander';
import type { CliIo } from './io.js';
import { buildProgram } from './program.js';
import { isCollectorError, describeError } from '../errors.js';

/** Returns the exit status. Never prints a stack trace for an expected error. */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const setExitCode = io.setExitCode;
  const tracked: CliIo = {
    ...io,
    setExitCode(c) {
      code = c;
      setExitCode(c);
    },
  };
  try {
    const program = await buildProgram(tracked, argv);
    await program.parseAsync([...argv], { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander already printed help, the version or the usage error.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (isCollectorError(err)) {
      io.stderr.write(`duo-secops: ${err.message}\n`);
      return err.exitCode;
    }
    io.stderr.write(`duo-secops: unexpected error: ${describeError(err)}\n`);
    return 1;
  }
}
