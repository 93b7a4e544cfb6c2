/** `duo-secops daemon --schedule "*\/5 * * * *"`: self-hosted collection on a schedule. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createCollector } from '../../collect/deps.js';
import { startDaemon } from '../daemon.js';
import { addCollectOptions, addDuoOptions, addStoreOptions, explicitFlags } from '../options.js';

const SIGNAL_NUMBER: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 };

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('daemon')
    .description('run collect on a cron schedule until SIGTERM/SIGINT; never overlaps itself')
    .option('--schedule <cron>', 'cron expression, 5 fields or 6 with seconds first (env SCHEDULE)', io.env.SCHEDULE ?? '*/5 * * * *')
    .option('--no-run-at-start', 'wait for the first scheduled tick instead of running at once');
  addDuoOptions(cmd);
  addStoreOptions(cmd);
  addCollectOptions(cmd);
  cmd.addHelpText(
    'after',
    '\nThe first SIGTERM or SIGINT finishes and commits the page in flight, then exits 0. A second one exits at once:\n' +
      'safe too (objects are create-only and the checkpoint moves only after a write), at the cost of repeating that page.\n',
  );
  cmd.action(async (opts: { schedule: string; runAtStart: boolean }) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true });
    const logger = createLogger({ level: config.logLevel, destination: io.stderr });

    // Listen before anything slow (Secret Manager, the first run): a signal during start-up must
    // not kill the process with the default action while a page is being written.
    let stopRequested!: () => void;
    const stopped = new Promise<void>((resolve) => (stopRequested = resolve));
    let signals = 0;
    const onSignal = (sig: NodeJS.Signals) => {
      signals += 1;
      if (signals === 1) {
        logger.info({ event: 'daemon.signal', signal: sig }, `${sig}: finishing the page in flight, then stopping`);
        stopRequested();
        return;
      }
      // An impatient operator or supervisor: leave now. The next run repeats at most the page in flight.
      logger.warn({ event: 'daemon.forced', signal: sig }, `${sig} again: exiting without finishing the page in flight`);
      process.exit(128 + (SIGNAL_NUMBER[sig] ?? 15));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const collector = await createCollector(config, { logger });
      try {
        if (signals > 0) return;
        const daemon = startDaemon({ collector, schedule: opts.schedule, logger, runAtStart: opts.runAtStart });
        await stopped;
        await daemon.stop();
      } finally {
        await collector.close();
      }
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
