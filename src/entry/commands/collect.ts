/** `duo-secops collect`: one run until caught up, out of pages or out of budget. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createCollector } from '../../collect/deps.js';
import { failpointFromEnv } from '../../collect/failpoint.js';
import { formatProgress, formatSummary, summaryJson } from '../../collect/report.js';
import { addCollectOptions, addDuoOptions, addStoreOptions, explicitFlags } from '../options.js';

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('collect')
    .description('pull telephony logs from Duo into the bucket or folder until caught up; exactly once')
    .option('--json', 'print the summary as one JSON object on stdout');
  addDuoOptions(cmd);
  addStoreOptions(cmd);
  addCollectOptions(cmd);
  cmd.addHelpText(
    'after',
    '\nExit status: 0 ok (also caught up, or another run owns the window), 2 configuration or checkpoint,\n' +
      '3 Duo credentials or permission, 4 Duo or storage unavailable after retries, 5 stored object differs.\n',
  );
  cmd.action(async (opts: { json?: boolean }) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true });
    const logger = createLogger({ level: config.logLevel, destination: io.stderr });
    const startedMs = Date.now();
    let lastDraw = 0;
    const progress = io.isTTY && config.logLevel !== 'silent';
    const collector = await createCollector(config, {
      logger,
      stdout: io.stdout,
      failpoint: failpointFromEnv(io.env),
      ...(progress
        ? {
            onProgress: (p) => {
              if (p.nowMs - lastDraw < 250) return;
              lastDraw = p.nowMs;
              io.stderr.write(`\r${formatProgress(p, startedMs)}\x1b[K`);
            },
          }
        : {}),
    });
    // First SIGINT/SIGTERM: finish and commit the page in flight, then stop cleanly.
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const summary = await collector.run(stop.signal);
      if (progress) io.stderr.write('\r\x1b[K');
      // With --stdout the data owns stdout: the summary goes to stderr so a pipe gets only NDJSON.
      const out = config.stdout ? io.stderr : io.stdout;
      out.write(opts.json ? `${JSON.stringify(summaryJson(summary))}\n` : `${formatSummary(summary)}\n`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await collector.close();
    }
  });
}
