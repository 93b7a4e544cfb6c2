/** `duo-secops daemon --schedule "*\/5 * * * *"`: self-hosted collection on a schedule. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { Cron } from 'croner';
import { loadConfig, type Config } from '../../config.js';
import { createLogger, type Logger } from '../../log.js';
import { ConfigError, describeError } from '../../errors.js';
import { codeOf } from '../../exit-codes.js';
import { createCollector } from '../../collect/deps.js';
import { startDaemon } from '../daemon.js';
import { exitStatusHelp } from '../help.js';
import { addSettingOptions, explicitFlags } from '../options.js';
import { onStopSignals } from '../signals.js';
import { watchParent } from '../parent.js';

/**
 * VERIFY_SCHEDULE: yesterday verified on its own cron, never overlapping itself, beside the collection
 * (verify only reads, and writes repair objects under names collection never uses). A failure is
 * logged and tried again at the next tick.
 */
async function scheduleVerify(config: Config, schedule: string, logger: Logger): Promise<{ stop(): Promise<void> }> {
  const { verifyYesterday } = await import('../../verify/daily.js');
  const stopping = new AbortController();
  let inFlight: Promise<void> | null = null;
  let job: Cron;
  try {
    job = new Cron(schedule, { protect: true, catch: true }, () => {
      if (inFlight || stopping.signal.aborted) return;
      inFlight = verifyYesterday(config, logger, { repair: config.verifyRepair, signal: stopping.signal })
        .then(() => undefined)
        .catch((err: unknown) => {
          if (stopping.signal.aborted) return;
          logger.error({ event: 'verify.failed', error_code: codeOf(err) ?? 'UNEXPECTED' }, `verify failed: ${describeError(err)} (trying again at the next tick)`);
        })
        .finally(() => {
          inFlight = null;
        });
    });
  } catch (err) {
    throw new ConfigError([`--verify-schedule: "${schedule}" is not a cron expression (${describeError(err)}); e.g. "30 3 * * *"`]);
  }
  logger.info({ event: 'daemon.verify-scheduled', schedule, next: job.nextRun()?.toISOString() }, `verify of yesterday scheduled: ${schedule}`);
  return {
    async stop() {
      job.stop();
      stopping.abort();
      if (inFlight) await inFlight;
    },
  };
}

export function register(program: Command, io: CliIo): void {
  const cmd = program.command('daemon').description('run collect on a cron schedule until SIGTERM/SIGINT; never overlaps itself');
  addSettingOptions(cmd, 'daemon', 'daemon');
  cmd.addHelpText(
    'after',
    `\n${exitStatusHelp(['ok', 'config', 'duoAccess', 'objectConflict', 'interrupted'])}\n` +
      'The first SIGTERM or SIGINT stops within seconds: a request to Duo in flight (or its backoff) is abandoned,\n' +
      'a page being stored is finished and committed (storage still stalled after 5 s is abandoned), then it exits\n' +
      '(0, or 130 for SIGINT). A second one exits at once: safe too (objects are create-only and the checkpoint\n' +
      'moves only after a write), at the cost of repeating that page.\n' +
      'A run that fails on something another tick cannot cure (configuration, refused credentials or permission,\n' +
      'an object conflict) stops the daemon with its exit status; other failures are logged and tried again at\n' +
      'the next tick. If the process that started the daemon goes away (npx or a shell wrapper that was\n' +
      'stopped), the daemon stops as on SIGTERM.\n',
  );
  cmd.action(async () => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true, entry: 'daemon' });
    const logger = createLogger({ level: config.logLevel, destination: io.stderr });

    // Listen before anything slow (Secret Manager, the first run): a signal during start-up must
    // not kill the process with the default action while a page is being written.
    let stopRequested!: () => void;
    const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
    const signals = onStopSignals(
      (sig) => {
        logger.info({ event: 'daemon.signal', signal: sig }, `${sig}: stopping, abandoning the request to Duo in flight; a page being stored is finished and committed`);
        stopRequested();
      },
      { onForced: (sig) => logger.warn({ event: 'daemon.forced', signal: sig }, `${sig} again: exiting at once`) },
    );
    const parent = watchParent(() => {
      logger.info({ event: 'daemon.orphaned' }, 'the process that started the daemon is gone: stopping as on SIGTERM');
      stopRequested();
    });
    try {
      const collector = await createCollector(config, { logger });
      try {
        if (signals.received) return;
        // A bad verify schedule is refused before anything is scheduled.
        const verifying = config.verifySchedule ? await scheduleVerify(config, config.verifySchedule, logger) : undefined;
        let daemon: ReturnType<typeof startDaemon>;
        try {
          daemon = startDaemon({ collector, schedule: config.schedule, logger, runAtStart: config.runAtStart, hardSignal: signals.hard });
        } catch (err) {
          await verifying?.stop();
          throw err;
        }
        try {
          await Promise.race([stopped, daemon.failed]);
        } finally {
          await verifying?.stop();
          await daemon.stop();
        }
      } finally {
        await collector.close();
      }
    } finally {
      parent.dispose();
      signals.dispose();
      if (signals.received) {
        io.setExitCode(signals.exitStatus);
        // A storage request abandoned after the grace may hold the process open until its own timeout.
        io.exitWhenStuck?.();
      }
    }
  });
}
