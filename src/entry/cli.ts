#!/usr/bin/env node
/** The `duo-telephony` bin: parse, run one command, map errors to exit codes. */
import { CommanderError } from 'commander';
import { processIo } from './io.js';
import { buildProgram } from './program.js';
import { isCollectorError, describeError } from '../errors.js';

const io = processIo();
try {
  const program = await buildProgram(io);
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander already printed help/version/usage errors.
    io.setExitCode(err.exitCode === 0 ? 0 : 2);
  } else if (isCollectorError(err)) {
    io.stderr.write(`duo-telephony: ${err.message}\n`);
    io.setExitCode(err.exitCode);
  } else {
    io.stderr.write(`duo-telephony: unexpected error: ${describeError(err)}\n`);
    io.setExitCode(1);
  }
}
