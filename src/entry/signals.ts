/**
 * How a command stops on SIGTERM and SIGINT. The first signal asks for a clean stop: a request to Duo
 * in flight (or its backoff) is abandoned at once, a page being stored is finished and committed, and
 * storage I/O still in flight after a grace of a few seconds is abandoned too (`hard`). The exit status
 * then comes from the table: 0 after SIGTERM, 130 after SIGINT (Ctrl-C). A second signal exits at once
 * with 128 + its number: safe too, since objects are create-only and the checkpoint moves only after a
 * write, at the cost of repeating that page.
 */
import { SIGNAL_EXIT, type ExitStatus } from '../exit-codes.js';

const SIGNAL_NUMBER = { SIGINT: 2, SIGTERM: 15 } as const;
/** Storage I/O still in flight this long after a stop signal is abandoned. */
const DEFAULT_GRACE_MS = 5_000;
type StopSignal = keyof typeof SIGNAL_NUMBER;

export interface StopSignals {
  /** The first signal received, if any. */
  readonly received: StopSignal | undefined;
  /**
   * Aborts `graceMs` after the first signal: what is still in flight then (a stalled storage request)
   * is abandoned, so the process stops within about that time whatever its peers do.
   */
  readonly hard: AbortSignal;
  /** The exit status of the clean stop that signal asked for. */
  readonly exitStatus: ExitStatus;
  dispose(): void;
}

export interface StopSignalOptions {
  /** After the first signal, how long storage I/O in flight may take before it is abandoned (default 5 s). */
  graceMs?: number;
  /** Called on a second signal, just before the process exits. */
  onForced?: (signal: StopSignal) => void;
  /** Tests: exits the process by default. */
  exit?: (status: number) => void;
}

export function onStopSignals(onStop: (signal: StopSignal) => void, opts: StopSignalOptions = {}): StopSignals {
  let received: StopSignal | undefined;
  const hard = new AbortController();
  let graceTimer: NodeJS.Timeout | undefined;
  const handler = (signal: StopSignal): void => {
    if (received === undefined) {
      received = signal;
      graceTimer = setTimeout(() => hard.abort(), opts.graceMs ?? DEFAULT_GRACE_MS);
      graceTimer.unref();
      onStop(signal);
      return;
    }
    opts.onForced?.(signal);
    (opts.exit ?? process.exit)(128 + SIGNAL_NUMBER[signal]);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    hard: hard.signal,
    get received() {
      return received;
    },
    get exitStatus() {
      return received === undefined ? 0 : SIGNAL_EXIT[received];
    },
    dispose() {
      clearTimeout(graceTimer);
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}
