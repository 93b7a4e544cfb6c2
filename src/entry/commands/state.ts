/** `duo-secops state show|reset`: look at or move the checkpoint. */
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig, type Config, type StreamStore } from '../../config.js';
import { accountStore, createStores } from '../../collect/deps.js';
import { accountIdProblem } from '../../duo/accounts.js';
import { initialCheckpoint, parseStoredCheckpoint, serializeCheckpoint, type Checkpoint } from '../../checkpoint/codec.js';
import { formatDuration } from '../../collect/report.js';
import { formatRpm } from '../../duo/pacer.js';
import { MAX_AGE_MS } from '../../collect/window.js';
import { CheckpointConflictError, CheckpointError, ConfigError } from '../../errors.js';
import { addSettingOptions, explicitFlags } from '../options.js';

function describe(cp: Checkpoint, location: string, nowMs: number): string {
  const lines = [`checkpoint: ${location}`];
  lines.push(`next window starts: ${new Date(cp.nextMintimeMs).toISOString()} (${formatDuration(nowMs - cp.nextMintimeMs)} ago)`);
  if (cp.skipIds.length) lines.push(`ids already written at that millisecond: ${cp.skipIds.length}`);
  if (cp.skipThrough) lines.push(`carried on from Google's guide: its items of that millisecond up to ${cp.skipThrough.id} are skipped`);
  if (cp.clockOffsetMs !== undefined) lines.push(`Duo's clock minus this machine's, last seen: ${(cp.clockOffsetMs / 1000).toFixed(1)} s`);
  if (cp.learnedRate) {
    const { endpoint: e, integration: i } = cp.learnedRate;
    lines.push(
      `pace learned: ${formatRpm(e.rpm)}/min for this endpoint (Duo accepted ${e.lo > 0 ? formatRpm(e.lo) : 'nothing yet'}, refused ${e.hi === null ? 'nothing yet' : formatRpm(e.hi)}), ${formatRpm(i.rpm)}/min for the integration`,
    );
  }
  if (cp.open) {
    lines.push(
      `open window: ${new Date(cp.open.mintimeMs).toISOString()} → ${new Date(cp.open.maxtimeMs).toISOString()}, next page ${cp.open.page}` +
        (cp.open.nextOffset ? ` (cursor ${cp.open.nextOffset})` : ' (first page)'),
    );
  } else lines.push('open window: none');
  if (cp.migratedFrom) lines.push(`migrated from: ${cp.migratedFrom}`);
  lines.push(`updated: ${cp.updatedAt}`);
  return `${lines.join('\n')}\n`;
}

const ACCOUNT_HELP = 'accounts mode: the checkpoint of this child account (its id, DA…), below `<prefix>/<account_id>`';

/** The selected streams' stores, or a child account's (accounts mode). */
function storesOf(config: Config, account: string | undefined): StreamStore[] {
  if (account === undefined) return config.stores;
  const problem = accountIdProblem(account);
  if (problem !== undefined) throw new ConfigError([`--account: ${problem}`]);
  return config.stores.map((s) => accountStore(s, account));
}

export function register(program: Command, io: CliIo): void {
  const state = program.command('state').description('show or reset the checkpoint');

  const show = state
    .command('show')
    .description('print where the next run starts')
    .option('--json', 'print the checkpoint document as JSON')
    .option('--account <id>', ACCOUNT_HELP);
  addSettingOptions(show, 'state');
  show.action(async (opts: { json?: boolean; account?: string }) => {
    const config = loadConfig(io.env, explicitFlags(show));
    const several = config.stores.length > 1;
    // One stream: its checkpoint as before (JSON: the document or null). Several: one section each
    // (JSON: an object keyed by stream).
    const shown: Record<string, Checkpoint | null> = {};
    if (config.accounts !== undefined && opts.account === undefined && !opts.json) {
      io.stderr.write('DUO_ACCOUNTS is set: each child account has checkpoints of its own; name one with --account <id>. Shown here: the parent account\'s\n');
    }
    for (const store of storesOf(config, opts.account)) {
      const stores = await createStores(config, store);
      try {
        const stored = await stores.checkpoints.load();
        const cp = stored ? parseStoredCheckpoint(stored) : null;
        shown[store.stream] = cp;
        if (opts.json) continue;
        const head = several ? `${store.stream}:\n` : '';
        io.stdout.write(
          head +
            (stored && cp ? describe(cp, stored.location, Date.now()) : `no checkpoint at ${stores.checkpoints.location}: the first run starts ${config.lookbackHours} h back\n`),
        );
      } finally {
        await stores.close();
      }
    }
    if (opts.json) io.stdout.write(`${JSON.stringify(several ? shown : shown[config.stores[0]!.stream])}\n`);
  });

  const reset = state
    .command('reset')
    .description('set where the next run starts (closes any open window); objects already written are kept')
    .requiredOption('--to <time>', 'ISO 8601 time the next window starts at, e.g. 2026-11-01T00:00:00Z')
    .option('--yes', 'confirm: events before --to that were not collected will not be, events after it may be collected again')
    .option('--account <id>', ACCOUNT_HELP);
  addSettingOptions(reset, 'state');
  reset.action(async (opts: { to: string; yes?: boolean; account?: string }) => {
    const config = loadConfig(io.env, explicitFlags(reset));
    const toMs = Date.parse(opts.to);
    const problems: string[] = [];
    if (!/\d{4}-\d{2}-\d{2}T.*(Z|[+-]\d{2}:?\d{2})$/.test(opts.to) || !Number.isFinite(toMs)) {
      problems.push(`--to: ${opts.to} is not an ISO 8601 time with a zone, e.g. 2026-11-01T00:00:00Z`);
    } else {
      if (toMs > Date.now()) problems.push('--to: must not be in the future');
      if (toMs < Date.now() - MAX_AGE_MS) problems.push('--to: Duo keeps 180 days; choose a time within the last 179 days');
    }
    if (!opts.yes) problems.push('--yes: required to confirm the reset');
    if (config.stores.length > 1) problems.push(`--logs: state reset moves one stream's checkpoint; name one (${config.stores.map((s) => s.stream).join(', ')} are selected)`);
    if (problems.length) throw new ConfigError(problems);
    const stores = await createStores(config, storesOf(config, opts.account)[0]);
    try {
      const stored = await stores.checkpoints.load();
      const next = initialCheckpoint(toMs, new Date().toISOString());
      // Compare-and-swap against what was read: a run that moved it meanwhile makes this fail loudly.
      try {
        await stores.checkpoints.save(serializeCheckpoint(next), stored?.version ?? null);
      } catch (err) {
        if (!(err instanceof CheckpointConflictError)) throw err;
        throw new CheckpointError(`the checkpoint ${stores.checkpoints.location} changed while resetting it (is a run active?); nothing was changed: try again`);
      }
      io.stdout.write(`checkpoint ${stores.checkpoints.location} reset: the next run starts at ${new Date(toMs).toISOString()}\n`);
    } finally {
      await stores.close();
    }
  });
}
