/**
 * How a command stops on SIGTERM and SIGINT. The first signal asks for a clean stop (finish and commit
 * the page in flight); the exit status then comes from the table: 0 after SIGTERM, 130 after SIGINT
 * (Ctrl-C). A second signal exits at once with 128 + its number: safe too, since objects are
 * create-only and the checkpoint moves only after a write, at the cost of repeating that page.
 */
import { SIGNAL_EXIT, type ExitStatus } from '../exit-codes.js';

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const;
type StopSignal = keyof typeof SIGNAL_NUMBER;

export interface StopSignals {
  /** The first signal received, if any. */
  readonly received: StopSignal | undefined;
  /** The exit status of the clean stop that signal asked for. */
  readonly exitStatus: ExitStatus;
  dispose(): void;
}

export interface StopSignalOptions {
  /** Called on a second signal, just before the process exits. */
  onForced?: (signal: StopSignal) => void;
  /** Tests: exits the process by default. */
  exit?: (status: number) => void;
}

export function onStopSignals(onStop: (signal: StopSignal) => void, opts: StopSignalOptions = {}): StopSignals {
  let received: StopSignal | undefined;
  const handler = (signal: StopSignal): void => {
    if (received === undefined) {
      received = signal;
      onStop(signal);
      return;
    }
    opts.onForced?.(signal);
    (opts.exit ?? process.exit)(128 + SIGNAL_NUMBER[signal]);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    get received() {
      return received;
    },
    get exitStatus() {
      return received === undefined ? 0 : SIGNAL_EXIT[received];
    },
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
