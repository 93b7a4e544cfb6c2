/** `duo-secops collect`: one run until caught up, out of pages or out of budget. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createCollector } from '../../collect/deps.js';
import { failpointFromSetting } from '../../collect/failpoint.js';
import { formatCollection, formatProgress, onCombinedProgress } from '../../collect/report.js';
import { collectionJson } from '../../collect/summary.js';
import { worstFailure } from '../../collect/run-streams.js';
import { addSettingOptions, explicitFlags } from '../options.js';
import { exitStatusHelp } from '../help.js';
import { onStopSignals } from '../signals.js';
import { createStatusLine } from '../terminal.js';

/** How often the progress line is redrawn at most. */
const DRAW_EVERY_MS = 250;

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('collect')
    .description('pull logs from Duo into the bucket or folder until caught up; exactly once')
    .option('--json', 'print the run summary as one JSON object (its schema: docs/operations.md)');
  addSettingOptions(cmd, 'collect');
  cmd.addHelpText(
    'after',
    `\n${exitStatusHelp(['ok', 'config', 'duoAccess', 'unavailable', 'objectConflict', 'interrupted'])}\n` +
      'SIGTERM or Ctrl-C stops within seconds: a request to Duo in flight (or its backoff) is abandoned, a page\n' +
      'being stored is finished and committed, then it exits (0, or 130 for Ctrl-C). A second signal exits at once.\n',
  );
  cmd.action(async (opts: { json?: boolean }) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true, terminal: io.isTTY });
    // On a terminal, a status line shows the progress and log lines are printed above it.
    const status = io.isTTY && config.logLevel !== 'silent' ? createStatusLine(io.stderr) : undefined;
    const logger = createLogger({ level: config.logLevel, destination: status?.logDestination ?? io.stderr });
    const startedMs = Date.now();
    let lastDraw = 0;
    const collector = await createCollector(config, {
      logger,
      stdout: io.stdout,
      failpoint: failpointFromSetting(config.failpoint),
      ...(status
        ? {
            onProgress: onCombinedProgress((p) => {
              if (p.nowMs - lastDraw < DRAW_EVERY_MS) return;
              lastDraw = p.nowMs;
              status.draw(formatProgress(p, startedMs, io.columns?.() ?? 80));
            }),
          }
        : {}),
    });
    // First SIGINT/SIGTERM: abandon the request to Duo in flight, commit the page being stored, stop.
    const stop = new AbortController();
    const signals = onStopSignals(() => stop.abort());
    try {
      const summary = await collector.run(stop.signal, signals.hard);
      status?.clear();
      // With --stdout the data owns stdout: the summary goes to stderr so a pipe gets only NDJSON.
      const out = config.stdout ? io.stderr : io.stdout;
      // The other streams finished; the worst failure decides the exit status and is printed last. A
      // single stream that failed has nothing else to say.
      const failure = worstFailure(summary);
      if (failure === undefined || summary.streams.length > 1) out.write(opts.json ? `${JSON.stringify(collectionJson(summary))}\n` : `${formatCollection(summary)}\n`);
      if (failure !== undefined) throw failure;
      if (signals.received) io.setExitCode(signals.exitStatus);
    } finally {
      status?.clear();
      signals.dispose();
      await collector.close();
      // A storage request abandoned after the grace may hold the process open until its own timeout.
      if (signals.received) io.exitWhenStuck?.();
    }
  });
}
