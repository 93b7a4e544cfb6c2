/**
 * `duo-secops udm` end to end, in-process: real files and folders, a fake terminal (CliIo).
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { register } from '../../src/entry/commands/udm.js';
import type { CliIo } from '../../src/entry/io.js';
import { validateUdmEvent } from '../../src/udm/validate.js';
import { EXAMPLE_ITEMS } from '../unit/udm/examples.js';

type Fields = Record<string, unknown>;

interface Run {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** A Writable that keeps everything (a PassThrough nobody reads would stall the command). */
function collector(onWrite?: (chunk: string) => void): Writable & { text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      const s = chunk.toString('utf8');
      if (onWrite) onWrite(s);
      else chunks.push(s);
      cb();
    },
  });
  return Object.assign(w, { text: () => chunks.join('') });
}

function fakeIo(opts: { stdin?: NodeJS.ReadableStream; stdout?: Writable & { text: () => string } } = {}) {
  const stdout = opts.stdout ?? collector();
  const stderr = collector();
  const state: { code: number | undefined } = { code: undefined };
  const io: CliIo = {
    stdout,
    stderr,
    stdin: opts.stdin ?? new PassThrough().end(),
    env: {},
    isTTY: false,
    setExitCode(code) {
      state.code = code;
    },
  };
  return { io, stdout, stderr, state };
}

async function runUdm(args: string[], opts: Parameters<typeof fakeIo>[0] = {}): Promise<Run> {
  const { io, stdout, stderr, state } = fakeIo(opts);
  const program = new Command('duo-secops')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  register(program, io);
  await program.parseAsync(['node', 'duo-telephony', 'udm', ...args]);
  return { code: state.code, stdout: stdout.text(), stderr: stderr.text() };
}

function events(ndjson: string): Fields[] {
  return ndjson
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Fields);
}

function ids(ndjson: string): unknown[] {
  return events(ndjson).map((e) => {
    const md = e['metadata'] as Fields;
    return md['productLogId'] ?? md['product_log_id'];
  });
}

const LINES = EXAMPLE_ITEMS.map((i) => JSON.stringify(i));
const ID = EXAMPLE_ITEMS.map((i) => i.telephony_id);

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'udm-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function put(rel: string, content: string): Promise<string> {
  const path = join(dir, rel);
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, content);
  return path;
}

describe('duo-secops udm', () => {
  it('converts files in argument order to UDM NDJSON on stdout, exit 0', async () => {
    const a = await put('files/a.json', `${LINES[0]}\n${LINES[1]}\n`);
    const b = await put('files/b.ndjson', `${LINES[2]}\n`);
    const r = await runUdm([b, a]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ids(r.stdout)).toEqual([ID[2], ID[0], ID[1]]);
    for (const e of events(r.stdout)) expect(validateUdmEvent(e)).toEqual([]);
  });

  it('walks a folder tree as the local sink writes it, in sorted order, skipping _state and dot-files', async () => {
    const root = join(dir, 'sink');
    await put('sink/duo-telephony/2026/11/23/telephony_3_4_p00001.json', `${LINES[2]}\n`);
    await put('sink/duo-telephony/2026/11/22/telephony_1_2_p00002.json', `${LINES[1]}\n`);
    await put('sink/duo-telephony/2026/11/22/telephony_1_2_p00001.json', `${LINES[0]}\n`);
    await put('sink/duo-telephony/2026/11/22/.telephony_1_2_p00003.json.tmp', 'half written');
    await put('sink/_state/duo-telephony.json', '{"version":1,"source":"telephony","nextMintimeMs":1}\n');
    const r = await runUdm([root]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ids(r.stdout)).toEqual([ID[0], ID[1], ID[2]]);
  });

  it('reads stdin for - and when no input is given', async () => {
    for (const args of [['-'], []]) {
      const r = await runUdm(args, { stdin: new PassThrough().end(`${LINES[1]}\nnot json\n`) });
      expect(ids(r.stdout)).toEqual([ID[1]]);
      expect(r.stderr).toBe('<stdin>:2: not valid JSON (unexpected "o")\n');
      expect(r.code).toBe(1);
    }
  });

  it('writes to --out instead of stdout, and never reads its own output back', async () => {
    const tree = join(dir, 'outtree');
    await put('outtree/a.json', `${LINES[0]}\n`);
    // An earlier run's output inside the tree is input like any other; the file being written is not.
    const out = join(tree, 'z-udm.ndjson');
    await writeFile(out, '');
    const r = await runUdm([tree, '--out', out]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(ids(await readFile(out, 'utf8'))).toEqual([ID[0]]);
  });

  it('refuses an --out that is also a named input, leaving it intact', async () => {
    const f = await put('self.json', `${LINES[0]}\n`);
    const r = await runUdm([f, '--out', f]);
    expect(r.stderr).toContain('is also an input');
    expect(r.code).toBe(2);
    expect(await readFile(f, 'utf8')).toBe(`${LINES[0]}\n`);
  });

  it('--case snake prints snake_case names', async () => {
    const f = await put('snake.json', `${LINES[0]}\n`);
    const r = await runUdm(['--case', 'snake', f]);
    const [e] = events(r.stdout);
    expect(Object.keys(e ?? {})).toEqual(['metadata', 'principal', 'security_result']);
    expect((e?.['metadata'] as Fields)['event_type']).toBe('USER_UNCATEGORIZED');
    expect(validateUdmEvent(e)).toEqual([]);
  });

  it('rejects an unknown --case with a usage error', async () => {
    const f = await put('snake2.json', `${LINES[0]}\n`);
    await expect(runUdm(['--case', 'kebab', f])).rejects.toThrow(/Allowed choices are camel, snake/);
  });

  it('--log-type fills metadata.logType', async () => {
    const f = await put('logtype.json', `${LINES[0]}\n`);
    const r = await runUdm(['--log-type', 'DUO_TELEPHONY', f]);
    expect((events(r.stdout)[0]?.['metadata'] as Fields)['logType']).toBe('DUO_TELEPHONY');
  });

  it('--stats prints counts per event type on stderr', async () => {
    const noPhone = JSON.stringify({ ...EXAMPLE_ITEMS[0], phone: undefined });
    const f = await put('stats.json', [LINES[0], LINES[1], noPhone, '{"ts":"2023-01-01T00:00:00Z"}', '{}'].join('\n'));
    const r = await runUdm(['--stats', f]);
    expect(r.stderr).toBe(
      [
        `${f}:5: no ts field`,
        'lines               5',
        'converted           4',
        'rejected            1',
        'USER_UNCATEGORIZED  2',
        'STATUS_UPDATE       1',
        'GENERIC_EVENT       1',
        '',
      ].join('\n'),
    );
    expect(r.code).toBe(1);
  });

  it('reports bad lines as file:line: reason, converts the rest, exit 1', async () => {
    const f = await put('bad.json', [LINES[0], '{"ts":"2023-13-01T00:00:00Z"}', '[]', LINES[1], '{"ts":', LINES[2]].join('\n'));
    const r = await runUdm([f]);
    expect(r.stderr.split('\n').filter(Boolean)).toEqual([
      `${f}:2: ts "2023-13-01T00:00:00Z" has no month 13`,
      `${f}:3: not a JSON object (got an array)`,
      `${f}:5: not valid JSON (truncated)`,
    ]);
    expect(ids(r.stdout)).toEqual(ID);
    expect(r.code).toBe(1);
  });

  it('rejects a line that is not UTF-8 as file:line: reason, exit 1, instead of replacing its bytes', async () => {
    // The phone +12125556707 with two bytes no UTF-8 text has: it used to come out as +1212��5556707, exit 0.
    const [before, after] = LINES[0]!.split('+12125556707');
    const broken = Buffer.concat([Buffer.from(`${before}+1212`), Buffer.from([0xff, 0xfe]), Buffer.from(`5556707${after}`)]);
    const content = Buffer.concat([Buffer.from(`${LINES[1]}\n`), broken, Buffer.from(`\n${LINES[2]}\n`)]);
    const byte = broken.indexOf(0xff) + 1;
    const path = join(dir, 'latin.json');
    await writeFile(path, content);
    const fromFile = await runUdm([path]);
    expect(fromFile.stderr).toBe(`${path}:2: not valid UTF-8 (0xFF at byte ${byte})\n`);
    expect(fromFile.code).toBe(1);
    expect(ids(fromFile.stdout)).toEqual([ID[1], ID[2]]);
    expect(fromFile.stdout).not.toContain('\uFFFD');
    const fromStdin = await runUdm(['-'], { stdin: new PassThrough().end(content) });
    expect(fromStdin.stderr).toBe(`<stdin>:2: not valid UTF-8 (0xFF at byte ${byte})\n`);
    expect(fromStdin.code).toBe(1);
    expect(ids(fromStdin.stdout)).toEqual([ID[1], ID[2]]);
  });

  it('an unreadable input is exit 2, and the other inputs are still converted', async () => {
    const f = await put('ok.json', `${LINES[0]}\n`);
    const missing = join(dir, 'missing.json');
    const r = await runUdm([missing, f]);
    expect(r.stderr).toMatch(new RegExp(`^duo-secops udm: cannot read ${missing.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*ENOENT`));
    expect(ids(r.stdout)).toEqual([ID[0]]);
    expect(r.code).toBe(2);
  });

  it('an unwritable --out is exit 2', async () => {
    const f = await put('ok2.json', `${LINES[0]}\n`);
    const r = await runUdm([f, '--out', join(dir, 'no-such-dir', 'out.ndjson')]);
    expect(r.stderr).toMatch(/cannot write .*out\.ndjson: .*ENOENT/);
    expect(r.code).toBe(2);
  });

  it('stops quietly when stdout is closed by its reader (| head)', async () => {
    const f = await put('many.json', `${Array.from({ length: 5000 }, (_, i) => LINES[i % 3]).join('\n')}\n`);
    let written = 0;
    const stdout = Object.assign(
      new Writable({
        highWaterMark: 1024,
        write(_chunk, _enc, cb) {
          written += 1;
          cb(written > 2 ? Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }) : null);
        },
      }),
      { text: () => '' },
    );
    const r = await runUdm(['--stats', f], { stdout });
    expect(r.stderr).not.toContain('cannot write');
    // The counts cover what was converted before the reader left.
    const converted = Number(/^converted\s+(\d+)$/m.exec(r.stderr)?.[1]);
    expect(converted).toBeGreaterThan(0);
    expect(converted).toBeLessThan(5000);
    expect(r.code).toBe(0);
  });

  it('streams: output starts before stdin ends', async () => {
    const stdin = new PassThrough();
    let received = '';
    const stdout = collector((s) => {
      received += s;
    });
    const done = runUdm(['-'], { stdin, stdout });
    stdin.write(`${LINES[0]}\n${LINES[1]}\n`);
    const deadline = Date.now() + 5000;
    while (!received.includes(ID[1]!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    expect(ids(received)).toEqual([ID[0], ID[1]]);
    stdin.end(`${LINES[2]}\n`);
    const r = await done;
    expect(r.code).toBe(0);
    expect(ids(received)).toEqual(ID);
  });
});

describe('duo-secops udm on 100,000 lines', () => {
  const TOTAL = 100_000;
  // Line number → bad content, of every kind the converter rejects.
  const BAD = new Map<number, string>([
    [1, 'not json at all'],
    [2, '[]'],
    [777, '{"context":"enrollment","host":"h"}'],
    [12_345, '{"ts":"2023-02-29T00:00:00Z"}'],
    [50_000, '{"ts": 1666714065304}'],
    [50_001, '{"ts":"2023-01-01T00:00:00Z",'],
    [77_777, 'null'],
    [99_999, '{"ts":"soon"}'],
    [TOTAL, '{"ts":"2023-01-01T00:00:00Z"'],
  ]);

  it('converts it in one pass with flat memory and reports every injected bad line by number', async () => {
    const file = join(dir, 'big.ndjson');
    const ws = createWriteStream(file);
    for (let start = 1; start <= TOTAL; start += 1000) {
      const chunk: string[] = [];
      for (let n = start; n < start + 1000; n += 1) {
        const base = EXAMPLE_ITEMS[n % 3]!;
        chunk.push(BAD.get(n) ?? JSON.stringify({ ...base, telephony_id: `id-${n}`, ts: `2023-01-26T20:54:12.${String(n).padStart(6, '0')}+00:00` }));
      }
      if (!ws.write(`${chunk.join('\n')}\n`)) await new Promise<void>((r) => ws.once('drain', () => r()));
    }
    ws.end();
    await finished(ws);
    const size = (await stat(file)).size;
    expect(size).toBeGreaterThan(20 * 1024 * 1024);

    // Heap after a full GC, sampled while the command runs: a whole-file read would add ~size bytes.
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    gc();
    const baseline = process.memoryUsage().heapUsed;
    let peak = 0;
    let writes = 0;
    let lines = 0;
    let lastId = -1;
    let ordered = true;
    const stdout = collector((s) => {
      writes += 1;
      for (const m of s.matchAll(/"productLogId":"id-(\d+)"/g)) {
        const n = Number(m[1]);
        if (n <= lastId) ordered = false;
        lastId = n;
        lines += 1;
      }
      if (writes % 100 === 0) {
        gc();
        peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
      }
    });
    const r = await runUdm(['--stats', file], { stdout });

    expect(r.code).toBe(1);
    const reported = r.stderr
      .split('\n')
      .filter((l) => l.startsWith(`${file}:`))
      .map((l) => Number(l.slice(file.length + 1).split(':')[0]));
    expect(reported).toEqual([...BAD.keys()]);
    expect(lines).toBe(TOTAL - BAD.size);
    expect(ordered).toBe(true);
    expect(r.stderr).toContain(`converted           ${TOTAL - BAD.size}\n`);
    expect(writes).toBeGreaterThan(100);
    expect(peak).toBeLessThan(8 * 1024 * 1024);
    expect(peak).toBeLessThan(size / 2);
  });
});
