/**
 * A status line at the bottom of a terminal, with log lines kept above it: a log line clears the status
 * line, is written on its own line (as words, not JSON), and the status line is drawn again under it.
 * Only the CLI on a terminal uses it; anywhere else log lines go to stderr as JSON.
 */

export interface StatusLine {
  /** Replace the status line (fitted to the terminal's width by the caller's formatter). */
  draw(text: string): void;
  /** Remove the status line, e.g. before the summary. */
  clear(): void;
  /** A destination for the logger: each write appears above the status line. */
  readonly logDestination: { write(chunk: string): boolean };
}

const CLEAR_LINE = '\r\x1b[K';

export function createStatusLine(stream: NodeJS.WritableStream): StatusLine {
  let current = '';
  return {
    draw(text) {
      current = text;
      stream.write(`${CLEAR_LINE}${text}`);
    },
    clear() {
      if (current !== '') stream.write(CLEAR_LINE);
      current = '';
    },
    logDestination: {
      write(chunk: string): boolean {
        stream.write(`${current !== '' ? CLEAR_LINE : ''}${forPeople(chunk)}\n${current}`);
        return true;
      },
    },
  };
}

/**
 * A JSON log line as a person at a terminal reads it: `warning [config.warning] DELAY_SECONDS=1 is …`.
 * Anything that is not one of our JSON lines is passed through.
 */
export function forPeople(chunk: string): string {
  const line = chunk.replace(/\n$/, '');
  try {
    const entry = JSON.parse(line) as { severity?: unknown; event?: unknown; message?: unknown };
    if (typeof entry.message !== 'string') return line;
    const severity = typeof entry.severity === 'string' ? entry.severity.toLowerCase() : 'log';
    return `${severity}${typeof entry.event === 'string' ? ` [${entry.event}]` : ''} ${entry.message}`;
  } catch {
    return line;
  }
}

/** Cut `text` to `width` columns (ASCII and the few symbols the status line uses are one column each). */
export function fitWidth(text: string, width: number): string {
  const chars = [...text];
  if (chars.length <= width) return text;
  return width <= 1 ? chars.slice(0, Math.max(0, width)).join('') : `${chars.slice(0, width - 1).join('')}…`;
}
