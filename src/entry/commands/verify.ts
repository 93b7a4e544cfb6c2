/**
 * `duo-secops verify --from <time> --to <time>`: re-read Duo for a past range and show, per stream, that
 * the store holds each of its events exactly once (src/verify/verify.ts); `--repair` writes what is
 * missing as repair objects and verifies again.
 */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig, type Config } from '../../config.js';
import { createLogger, type Logger } from '../../log.js';
import { accountStore, childClientOptions, duoClientFor, resolveSecretKey } from '../../collect/deps.js';
import { accountIdProblem, type DuoAccount } from '../../duo/accounts.js';
import { listedChildren } from '../../collect/accounts.js';
import { parseStreamList, type StreamName } from '../../duo/streams.js';
import type { VerifyProgress } from '../../verify/verify.js';
import { isClean, storeAccessFor, verifyStore, type VerifyJson } from '../../verify/run.js';

export type { VerifyJson } from '../../verify/run.js';
import { AbortedError, ConfigError } from '../../errors.js';
import { EXIT_STATUS } from '../../exit-codes.js';
import { addSettingOptions, explicitFlags } from '../options.js';
import { exitStatusHelp } from '../help.js';
import { onStopSignals } from '../signals.js';
import { createStatusLine, fitWidth } from '../terminal.js';

/** Duo keeps 180 days; a day of margin for clocks and time zones. */
const MAX_AGE_MS = 179 * 86_400_000;

interface Flags {
  account?: string;
  from: string;
  to: string;
  stream?: string;
  json?: boolean;
  repair?: boolean;
  includeDeleted?: boolean;
}

function isoTime(flag: string, text: string, problems: string[]): number {
  const ms = Date.parse(text);
  if (!/\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(text) || !Number.isFinite(ms)) {
    problems.push(`${flag}: ${text} is not an ISO 8601 time with a zone, e.g. 2026-11-01T00:00:00Z`);
    return Number.NaN;
  }
  return ms;
}

export function register(program: Command, io: CliIo): void {
  const cmd = program
    .command('verify')
    .description('re-read Duo for a past range and show that the store holds each of its events exactly once (from <= ts < to)')
    .requiredOption('--from <time>', 'ISO 8601 start of the range, inclusive, e.g. 2026-11-01T00:00:00Z')
    .requiredOption('--to <time>', 'ISO 8601 end of the range, exclusive')
    .option('--stream <name>', 'one stream of DUO_LOGS (default: every one)')
    .option('--account <id>', 'a child account of the parent integration (accounts mode): its folders below `<prefix>/<account_id>`, read from Duo with its account_id')
    .option('--json', 'print one JSON object per stream, with the first 20 keys of each kind')
    .option('--repair', 'write the missing events as repair objects (create-only, under the same prefix), then verify again')
    .option('--include-deleted', 'with --repair: also write events whose object was deleted from the store (SecOps most likely ingested them already: this doubles them there)');
  addSettingOptions(cmd, 'verify');
  cmd.addHelpText(
    'after',
    `\n${exitStatusHelp(['ok', 'failed', 'config', 'duoAccess', 'unavailable', 'interrupted'])}\n` +
      'Exit 0: every stream holds each event of the range once; 1: something is missing, doubled or unknown, or\n' +
      'SIGTERM stopped it before the end (Ctrl-C: 130).\n' +
      "The part of the range newer than Duo's clock minus DELAY_SECONDS, or not collected yet, is left out and said so.\n",
  );
  cmd.action(async (flags: Flags) => {
    const config = loadConfig(io.env, explicitFlags(cmd), { needDuo: true, terminal: io.isTTY });
    const problems: string[] = [];
    const fromMs = isoTime('--from', flags.from, problems);
    const toMs = isoTime('--to', flags.to, problems);
    if (Number.isFinite(fromMs) && Number.isFinite(toMs) && toMs <= fromMs) problems.push('--to: must be after --from');
    if (Number.isFinite(fromMs) && fromMs < Date.now() - MAX_AGE_MS) problems.push('--from: Duo keeps 180 days; choose a time within the last 179 days');
    let stores = config.stores;
    if (flags.stream !== undefined) {
      const parsed = parseStreamList(flags.stream);
      const one = 'streams' in parsed && parsed.streams.length === 1 ? parsed.streams[0] : undefined;
      const store = config.stores.find((s) => s.stream === one);
      if (!store) problems.push(`--stream: ${flags.stream} is not one of DUO_LOGS (${config.logs.join(', ')})`);
      else stores = [store];
    }
    if (config.stdout) problems.push('--stdout: verify reads the bucket or the folder, not stdout');
    const accountProblem = flags.account === undefined ? undefined : accountIdProblem(flags.account);
    if (accountProblem !== undefined) problems.push(`--account: ${accountProblem}`);
    if (flags.account === undefined && config.accounts !== undefined) {
      problems.push('--account: DUO_ACCOUNTS is set, and verify compares one account with its folders: name the child to verify with --account <id>');
    }
    if (problems.length > 0) throw new ConfigError(problems);

    const status = io.isTTY && !flags.json && config.logLevel !== 'silent' ? createStatusLine(io.stderr) : undefined;
    const logger = createLogger({ level: config.logLevel, destination: status?.logDestination ?? io.stderr });
    // A child is read with the parent's keys on its own host: Duo's list says which host.
    const account = flags.account === undefined ? undefined : await childNamed(config, logger, flags.account);
    const client = await duoClientFor(config, logger, account ? childClientOptions(config, account) : {});
    const stop = new AbortController();
    const signals = onStopSignals(() => stop.abort());
    let clean = true;
    try {
      const access = await storeAccessFor(config);
      for (const configured of stores) {
        const store = account ? accountStore(configured, account.accountId) : configured;
        const startedMs = Date.now();
        const result = await verifyStore({
          config,
          store,
          account,
          client,
          access,
          range: { fromMs, toMs },
          repair: flags.repair ?? false,
          includeDeleted: flags.includeDeleted ?? false,
          signal: stop.signal,
          ...(status ? { onProgress: (p: VerifyProgress) => status.draw(fitWidth(progressText(store.stream, p, startedMs), io.columns?.() ?? 80)) } : {}),
        });
        status?.clear();
        if (!isClean(result)) clean = false;
        io.stdout.write(flags.json ? `${JSON.stringify(result)}\n` : `${formatLine(result)}\n`);
        if (!flags.json) for (const note of notesOf(result)) io.stderr.write(`${note}\n`);
      }
      io.setExitCode(clean ? EXIT_STATUS.ok : EXIT_STATUS.failed);
    } catch (err) {
      if (!(err instanceof AbortedError && signals.received)) throw err;
      // A verify cut short proves nothing: never the status of a clean one.
      status?.clear();
      io.stderr.write(`verify stopped on ${signals.received} before it finished: nothing is proven for the stream it was comparing\n`);
      io.setExitCode(signals.received === 'SIGINT' ? EXIT_STATUS.interrupted : EXIT_STATUS.failed);
    } finally {
      status?.clear();
      signals.dispose();
      await client.close();
    }
  });
}

/** `verify telephony 2026-11-01T00:00:00.000Z..2026-11-02T00:00:00.000Z: duo=… stored=… missing=… doubled=… unknown=…` */
export function formatLine(r: VerifyJson): string {
  const what = r.accountId === undefined ? r.stream : `${r.accountId} ${r.stream}`;
  return `verify ${what} ${r.from}..${r.to}: duo=${r.duo} stored=${r.stored} missing=${r.missing} doubled=${r.doubled} unknown=${r.unknown}`;
}

/** The child account `--account` names, as Duo's Accounts API lists it (its host is needed to read it). */
async function childNamed(config: Config, logger: Logger, id: string): Promise<DuoAccount> {
  const { accounts } = await listedChildren(config, await resolveSecretKey(config));
  const account = accounts.find((a) => a.accountId === id);
  if (!account) throw new ConfigError([`--account: Duo does not list ${id} as a child account of this integration (${accounts.length} listed)`]);
  logger.debug({ event: 'account.found', account_id: id }, `verifying ${account.name} (${id}) on ${account.apiHostname}`);
  return account;
}

/** What a person should know besides the counts (stderr). */
export function notesOf(r: VerifyJson): string[] {
  const notes: string[] = [];
  if (r.leftOut) notes.push(`${r.stream}: ${r.leftOut.from}..${r.leftOut.to} left out: ${r.leftOut.reason}`);
  if (r.repair) {
    notes.push(`${r.stream}: repaired ${r.repair.written} missing event${r.repair.written === 1 ? '' : 's'} in ${r.repair.objects.length} repair object${r.repair.objects.length === 1 ? '' : 's'}; the counts above are from verifying again`);
  }
  const skipped = r.repair ? r.repair.skippedDeleted : r.inDeleted;
  if (skipped > 0) {
    notes.push(
      `${r.stream}: ${skipped} missing event${skipped === 1 ? '' : 's'} lay where an object was deleted from the store: SecOps most likely ingested ${skipped === 1 ? 'it' : 'them'} already, and writing ${skipped === 1 ? 'it' : 'them'} again would double ${skipped === 1 ? 'it' : 'them'} there. ` +
        (r.repair ? 'Left alone; --include-deleted writes them anyway.' : '--repair leaves them alone unless --include-deleted is given.'),
    );
  }
  if (r.missing > 0) notes.push(`${r.stream}: missing, first ${r.ids.missing.length}: ${r.ids.missing.join(' ')}`);
  if (r.doubled > 0) notes.push(`${r.stream}: doubled (reported, never deleted), first ${r.ids.doubled.length}: ${r.ids.doubled.join(' ')}`);
  if (r.unknown > 0) notes.push(`${r.stream}: stored but not in Duo for this range, first ${r.ids.unknown.length}: ${r.ids.unknown.join(' ')}`);
  return notes;
}

/** The status line on a terminal: how far through the range, where, what was counted, for how long. */
export function progressText(stream: StreamName, p: VerifyProgress, startedMs: number, nowMs = Date.now()): string {
  const share = p.toMs > p.fromMs ? (p.positionMs - p.fromMs) / (p.toMs - p.fromMs) : 1;
  const seconds = Math.round((nowMs - startedMs) / 1000);
  return `verify ${stream}: ${Math.floor(share * 100)}% · ${new Date(p.positionMs).toISOString().slice(0, 16)}Z · duo ${p.duo.toLocaleString('en-US')} · stored ${p.stored.toLocaleString('en-US')} · ${seconds}s`;
}
