import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStatusLine } from '../../../src/entry/terminal.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (c: Buffer) => (out += c.toString('utf8')));
  return { stream, text: () => out };
}

/** What a terminal shows: `\r\x1b[K` returns to the start of the line and clears it. */
function screen(raw: string): string[] {
  const lines: string[] = [''];
  const CLEAR = '\r\u001b[K';
  for (const part of raw.split(new RegExp(`(${CLEAR.replace(/[[\]]/g, '\\$&')}|\n)`))) {
    if (part === CLEAR) lines[lines.length - 1] = '';
    else if (part === '\n') lines.push('');
    else lines[lines.length - 1] += part;
  }
  return lines;
}

describe('status line', () => {
  it('prints log lines above the status line and draws it again below them', async () => {
    const { stream, text } = capture();
    const status = createStatusLine(stream);
    status.draw('[#---] 25%');
    status.logDestination.write('{"severity":"WARNING","event":"config.warning","message":"one"}\n');
    status.draw('[##--] 50%');
    status.logDestination.write('{"severity":"ERROR","message":"two"}\n');
    status.logDestination.write('not json');
    await new Promise((r) => setImmediate(r));
    expect(screen(text())).toEqual(['warning [config.warning] one', 'error two', 'not json', '[##--] 50%']);
  });

  it('leaves a clean line for the summary', async () => {
    const { stream, text } = capture();
    const status = createStatusLine(stream);
    status.draw('[####] 100%');
    status.clear();
    stream.write('caught up\n');
    await new Promise((r) => setImmediate(r));
    expect(screen(text())).toEqual(['caught up', '']);
  });
});
