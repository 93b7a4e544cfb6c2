#!/usr/bin/env node
/** The `duo-secops` bin. */
import { processIo } from './io.js';
import { main } from './main.js';

// A reader that stops early (`| head`) closes the pipe: that is not a crash. Commands that stream
// to stdout see the same error through their own listeners and stop on it.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const code = await main(process.argv.slice(2), processIo());
process.exitCode = code;
