/** `duo-telephony daemon --schedule "*\/5 * * * *"`: self-hosted collection on a schedule. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createCollector } from '../../collect/deps.js';
import { startDaemon } from '../daemon.js';
import { addCollectOptions, addDuoOptions, addStoreOptions, explicitFlags } from '../options.js';

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('daemon')
    .description('run collect on a cron schedule until SIGTERM/SIGINT; never overlaps itself')
    .option('--schedule <cron>', 'cron expression (env SCHEDULE)', io.env.SCHEDULE ?? '*/5 * * * *')
    .option('--no-run-at-start', 'wait for the first scheduled tick instead of running at once');
  addDuoOptions(cmd);
  addStoreOptions(cmd);
  addCollectOptions(cmd);
  cmd.action(async (opts: { schedule: string; runAtStart: boolean }) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true });
    const logger = createLogger({ level: config.logLevel, destination: io.stderr });
    const collector = await createCollector(config, { logger });
    const daemon = startDaemon({ collector, schedule: opts.schedule, logger, runAtStart: opts.runAtStart });
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        logger.info({ event: 'daemon.signal', signal: sig }, `${sig}: finishing the page in flight`);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await daemon.stop();
    await collector.close();
  });
}
