/**
 * `duo-secops udm [FILE|DIR|-]...`: convert collected NDJSON to UDM events, as SecOps' `DUO_TELEPHONY`
 * parser would map them, to preview or push them directly.
 *
 * Exit status: 0 all lines converted; 1 some lines were rejected (each reported as `file:line: reason`);
 * 2 an input could not be read or the output could not be written.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { Option, type Command } from 'commander';
import type { CliIo } from '../io.js';
import { describeError } from '../../errors.js';
import { OutputError, addStats, convertNdjsonStream, emptyStats, type ConvertStats, type LineProblem } from '../../udm/stream.js';
import { walkInputFiles } from '../../udm/files.js';
import type { UdmCase, UdmEventType } from '../../udm/types.js';

interface UdmFlags {
  out?: string;
  case: UdmCase;
  logType?: string;
  stats?: boolean;
}

const STDIN = '-';
const STDIN_NAME = '<stdin>';
/** Always listed by `--stats`, so a zero is visible; any other type found is listed after them. */
const EVENT_TYPES: readonly UdmEventType[] = ['USER_UNCATEGORIZED', 'STATUS_UPDATE', 'GENERIC_EVENT'];

function formatStats(s: ConvertStats): string {
  const rows: Array<[string, number]> = [
    ['lines', s.lines],
    ['converted', s.converted],
    ['rejected', s.rejected],
    ...EVENT_TYPES.map((t): [string, number] => [t, s.byEventType[t] ?? 0]),
    ...Object.entries(s.byEventType)
      .filter(([t]) => !(EVENT_TYPES as readonly string[]).includes(t))
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, n]) => `${k.padEnd(width)}  ${n}\n`).join('');
}

function isBrokenPipe(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EPIPE';
}

export async function runUdm(inputs: string[], flags: UdmFlags, io: CliIo): Promise<void> {
  const report = (p: LineProblem): void => {
    io.stderr.write(`${p.file}:${p.line}: ${p.reason}\n`);
  };
  const fail = (message: string): void => {
    io.stderr.write(`duo-secops udm: ${message}\n`);
  };

  let out: NodeJS.WritableStream = io.stdout;
  let outFile: ReturnType<typeof createWriteStream> | undefined;
  const outPath = flags.out !== undefined ? resolve(flags.out) : undefined;
  if (flags.out !== undefined) {
    // Opening --out truncates it: refuse before that if it is also one of the named inputs.
    if (inputs.some((i) => i !== STDIN && resolve(i) === outPath)) {
      fail(`--out ${flags.out} is also an input: it would be emptied before it is read`);
      io.setExitCode(2);
      return;
    }
    outFile = createWriteStream(flags.out);
    try {
      await once(outFile, 'open');
    } catch (err) {
      fail(`cannot write ${flags.out}: ${describeError(err)}`);
      io.setExitCode(2);
      return;
    }
    out = outFile;
  }
  // Held for the whole run: an EPIPE arriving between inputs must not crash the process.
  let outBroken = false;
  const onOutError = (err: unknown): void => {
    if (!isBrokenPipe(err)) fail(`cannot write ${flags.out ?? 'stdout'}: ${describeError(err)}`);
    outBroken = true;
  };
  out.on('error', onOutError);

  const opts = { case: flags.case, ...(flags.logType !== undefined && { logType: flags.logType }) };
  const total = emptyStats();
  let unreadable = false;

  const convert = async (source: AsyncIterable<string | Uint8Array>, name: string): Promise<void> => {
    try {
      addStats(total, await convertNdjsonStream(source, name, out, report, opts));
    } catch (err) {
      if (err instanceof OutputError) {
        // The error itself was already reported by the listener above.
        addStats(total, err.stats);
        outBroken = true;
        return;
      }
      fail(`cannot read ${name}: ${describeError(err)}`);
      unreadable = true;
    }
  };
  const convertFile = async (path: string): Promise<void> => {
    // Never read our own output: `udm data --out data/udm.ndjson` would otherwise chase its own tail.
    if (outPath !== undefined && resolve(path) === outPath) return;
    await convert(createReadStream(path), path);
  };

  for (const input of inputs.length > 0 ? inputs : [STDIN]) {
    if (outBroken) break;
    if (input === STDIN) {
      await convert(io.stdin, STDIN_NAME);
      continue;
    }
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(input)).isDirectory();
    } catch (err) {
      fail(`cannot read ${input}: ${describeError(err)}`);
      unreadable = true;
      continue;
    }
    if (!isDirectory) {
      await convertFile(input);
      continue;
    }
    try {
      for await (const path of walkInputFiles(input)) {
        if (outBroken) break;
        await convertFile(path);
      }
    } catch (err) {
      fail(`cannot read ${input}: ${describeError(err)}`);
      unreadable = true;
    }
  }

  if (outFile !== undefined) {
    outFile.end();
    try {
      await finished(outFile);
    } catch (err) {
      if (!outBroken) fail(`cannot write ${flags.out ?? ''}: ${describeError(err)}`);
      outBroken = true;
    }
  }
  // On stdout the listener stays: buffered writes can still fail with EPIPE after we return.
  if (outFile !== undefined) out.removeListener('error', onOutError);
  // A closed stdout pipe (`| head`) is the reader's choice, not a failure; a failed --out file is.
  const outFailed = outBroken && outFile !== undefined;

  if (flags.stats) io.stderr.write(formatStats(total));
  io.setExitCode(unreadable || outFailed ? 2 : total.rejected > 0 ? 1 : 0);
}

export function register(program: Command, io: CliIo): void {
  program
    .command('udm')
    .description('convert collected telephony NDJSON (files, folder trees as the local sink writes them, or - for stdin) to UDM events, one per line; the other streams are mapped by SecOps parsers')
    .argument('[inputs...]', 'files, folders (walked recursively for *.json and *.ndjson) or - for stdin; default -')
    .option('--out <file>', 'write the UDM NDJSON to this file instead of stdout')
    .addOption(new Option('--case <case>', 'field names: camel (proto3 JSON, what the SecOps import API takes) or snake (UDM search)').choices(['camel', 'snake']).default('camel'))
    .option('--log-type <type>', 'metadata.logType for items without a log_type field, e.g. DUO_TELEPHONY')
    .option('--stats', 'print line counts and events per event type on stderr')
    .action(async (inputs: string[], _flags: unknown, cmd: Command) => {
      await runUdm(inputs, cmd.opts<UdmFlags>(), io);
    });
}
