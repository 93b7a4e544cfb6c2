import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/entry/program.js';
import type { CliIo } from '../../src/entry/io.js';

const sinkhole = (): Writable => new Writable({ write: (_c, _e, cb) => cb() });
const io: CliIo = { stdout: sinkhole(), stderr: sinkhole(), stdin: process.stdin, env: {}, setExitCode: () => {}, isTTY: false };
const names = async (argv?: string[]): Promise<string[]> => (await buildProgram(io, argv)).commands.map((c) => c.name());

describe('buildProgram', () => {
  const all = ['collect', 'check', 'state', 'verify', 'udm', 'simulate', 'daemon', 'deploy', 'demo'];

  it('registers every command for help, `help <command>`, unknown names and no arguments', async () => {
    expect(await names()).toEqual(all);
    expect(await names(['--help'])).toEqual(all);
    expect(await names(['help', 'collect'])).toEqual(all);
    expect(await names(['colect'])).toEqual(all);
  });

  it('loads only the command a run names', async () => {
    expect(await names(['udm', '--stats', 'file.ndjson'])).toEqual(['udm']);
    expect(await names(['collect', '--json'])).toEqual(['collect']);
  });
});
