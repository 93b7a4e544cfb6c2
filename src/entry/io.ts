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
  /**
   * After a stop signal: end the process shortly (with the exit code set) if something abandoned, such
   * as a stalled storage request, still holds it open. Absent where commands run in-process (tests).
   */
  exitWhenStuck?(): void;
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
    exitWhenStuck() {
      // Unref'd: it fires only if something else still keeps the process alive.
      setTimeout(() => process.exit(), 1000).unref();
    },
  };
}
