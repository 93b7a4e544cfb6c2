/** What a CLI command may touch of the outside world: injected so tests run commands in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (the progress line). */
  isTTY: boolean;
  /** The terminal's width in columns (80 when unknown). */
  columns?(): number;
  setExitCode(code: number): void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
    columns: () => process.stderr.columns || 80,
    setExitCode(code) {
      process.exitCode = code;
    },
  };
}
