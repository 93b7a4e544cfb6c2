/** `duo-secops check`: prove credentials, permission and clock with one signed request. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig, nameOf, type Config } from '../../config.js';
import { createLogger } from '../../log.js';
import { accountStore, childClientOptions, duoClientFor, loadCheckpoint, resolveSecretKey } from '../../collect/deps.js';
import { ceilingOf, listChildren } from '../../collect/accounts.js';
import type { DuoAccount } from '../../duo/accounts.js';
import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { DuoClient } from '../../duo/client.js';
import { checkDuo, formatCheckReport, type PaceReport } from '../../duo/check.js';
import { STREAMS } from '../../duo/streams.js';
import { addSettingOptions, explicitFlags } from '../options.js';
import { exitStatusHelp } from '../help.js';
import { ERROR_CODES, EXIT_STATUS } from '../../exit-codes.js';

/** Each selected stream's pace: what its checkpoint says the collector learned, and the 429s check drew. */
async function paceOf(config: Config, client: DuoClient, child?: DuoAccount): Promise<PaceReport[]> {
  const ceilingRpm = ceilingOf(config);
  const out: PaceReport[] = [];
  for (const configured of config.stores) {
    const store = child ? accountStore(configured, child.accountId) : configured;
    const rateLimited = client.statsOf(STREAMS[store.stream]).rateLimited;
    try {
      const { checkpoint } = await loadCheckpoint(config, store);
      out.push({ stream: store.stream, ceilingRpm, learnedRate: checkpoint?.learnedRate ?? null, rateLimited });
    } catch (err) {
      out.push({ stream: store.stream, ceilingRpm, learnedRate: null, unreadable: err instanceof Error ? err.message : String(err), rateLimited });
    }
  }
  return out;
}

/** The children Duo lists and the configuration selects; none selected is a setting to fix. */
async function childrenToCheck(config: Config, logger: Logger): Promise<{ listed: number; selected: DuoAccount[] }> {
  const { selected, listed } = await listChildren(config, await resolveSecretKey(config), logger);
  if (selected.length === 0) {
    throw new ConfigError([`${nameOf('accounts')}: Duo lists no child account of this integration that DUO_ACCOUNTS and DUO_ACCOUNTS_EXCLUDE select: nothing to check or collect`]);
  }
  return { listed, selected };
}

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
    // One quick diagnosis, not a patient collection: a single retry at most, and no pacing.
    // Accounts mode: the parent lists its children, and the checks go through the first one selected.
    const children = config.accounts === undefined ? undefined : await childrenToCheck(config, logger);
    const child = children?.selected[0];
    const client = await duoClientFor(config, logger, { maxRetries: 1, requestsPerMinute: Number.POSITIVE_INFINITY, ...(child ? childClientOptions(config, child) : {}) });
    try {
      const report = await checkDuo(client, { apiHost: child?.apiHostname ?? config.apiHost, streams: config.logs.map((name) => STREAMS[name]) });
      if (children && child) report.accounts = { listed: children.listed, selected: children.selected.length, checked: { id: child.accountId, name: child.name } };
      if (report.ok) report.pace = await paceOf(config, client, child);
      io.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : formatCheckReport(report).replace(/\n?$/, '\n'));
      io.setExitCode(report.ok ? EXIT_STATUS.ok : report.failure ? ERROR_CODES[report.failure.code].exit : EXIT_STATUS.failed);
    } finally {
      await client.close();
    }
  });
}
