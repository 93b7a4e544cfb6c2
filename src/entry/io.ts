/** What a CLI command may touch of the outside world: injected so tests run commands in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  stdin: NodeJS.ReadableStream;
  env: NodeJS.ProcessEnv;
  /** Whether stdout/stderr is a terminal (progress bars, colours). */
  isTTY: boolean;
  setExitCode(code: number): void;
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    isTTY: Boolean(process.stderr.isTTY),
    setExitCode(code) {
      process.exitCode = code;
    },
  };
}
