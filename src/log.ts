/**
 * Structured, secret-free logging (pino). JSON lines Cloud Logging understands: `severity`, `message`,
 * `time` as ISO, stable event names in `event` (`page.fetched`, `batch.written`, `checkpoint.committed`).
 * Loggers are created and passed in; there is no global logger.
 */
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

/** Paths never written, whatever a caller passes in by mistake. */
export const REDACT_PATHS = [
  'skey',
  'secretKey',
  'authorization',
  'Authorization',
  'signature',
  '*.skey',
  '*.secretKey',
  '*.authorization',
  '*.Authorization',
  '*.signature',
  'headers.authorization',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to stderr so stdout stays free for data. */
  destination?: DestinationStream | NodeJS.WritableStream;
  /** Fields bound to every line. */
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions = {}): Logger {
  const destination = opts.destination ?? pino.destination({ fd: 2, sync: true });
  return pino(
    {
      level: opts.level ?? 'info',
      messageKey: 'message',
      base: opts.base ?? null,
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: {
        level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      },
    },
    destination as DestinationStream,
  );
}

/** A logger that drops everything (tests, library use without logging). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
