/** `duo-secops check`: prove credentials, permission and clock with one signed request. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { resolveSecretKey } from '../../collect/deps.js';
import { createDuoClient } from '../../duo/client.js';
import { checkDuo, formatCheckReport } from '../../duo/check.js';
import { STREAMS } from '../../duo/streams.js';
import { addSettingOptions, explicitFlags } from '../options.js';
import { exitStatusHelp } from '../help.js';
import { ERROR_CODES, EXIT_STATUS } from '../../exit-codes.js';

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('check')
    .description('check the integration key, secret key, clock and the permission for each selected log stream against Duo, one request each')
    .option('--json', 'print the report as JSON');
  addSettingOptions(cmd, 'check');
  cmd.addHelpText('after', `\n${exitStatusHelp(['ok', 'config', 'duoAccess', 'unavailable'])}\n`);
  cmd.action(async (opts: { json?: boolean }) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true, terminal: io.isTTY });
    const logger = createLogger({ level: config.logLevel, destination: io.stderr });
    const client = createDuoClient({
      ikey: config.ikey,
      skey: await resolveSecretKey(config),
      apiHost: config.apiHost,
      baseUrl: config.apiUrl,
      signatureVersion: config.signatureVersion,
      // One quick diagnosis, not a patient collection: a single retry at most.
      maxRetries: 1,
      timeoutMs: config.requestTimeoutSeconds * 1000,
      requestsPerMinute: Number.POSITIVE_INFINITY,
      logger,
    });
    try {
      const report = await checkDuo(client, { apiHost: config.apiHost, streams: config.logs.map((name) => STREAMS[name]) });
      io.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatCheckReport(report).replace(/\n?$/, '\n'));
      io.setExitCode(report.ok ? EXIT_STATUS.ok : report.failure ? ERROR_CODES[report.failure.code].exit : EXIT_STATUS.failed);
    } finally {
      await client.close();
    }
  });
}
