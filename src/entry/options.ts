/** Flags shared by the commands that talk to Duo and to the store (design.md section 2). */
import { Option, type Command } from 'commander';

export function addStoreOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--bucket <name>', 'GCS bucket (env GCS_BUCKET); without it, the local folder --out'))
    .addOption(new Option('--prefix <prefix>', 'object prefix (env GCS_PREFIX, default duo-telephony)'))
    .addOption(new Option('--state-key <key>', 'checkpoint object, outside the prefix (env STATE_KEY, default _state/<prefix>.json)'))
    .addOption(new Option('--out <dir>', 'local folder sink and checkpoint (env OUTPUT_DIR, default ./duo-secops-data)'))
    .addOption(new Option('--gcs-endpoint <url>', 'GCS JSON API endpoint override (env GCS_API_ENDPOINT or STORAGE_EMULATOR_HOST)'))
    .addOption(new Option('--log-level <level>', 'trace|debug|info|warn|error|silent (env LOG_LEVEL, default info)'));
}

export function addDuoOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--ikey <ikey>', 'integration key (env DUO_IKEY)'))
    .addOption(new Option('--api-host <host>', 'API hostname, api-xxxxxxxx.duosecurity.com (env DUO_API_HOST)'))
    .addOption(new Option('--api-url <url>', 'base URL override, e.g. the simulator (env DUO_API_URL)'))
    .addOption(new Option('--skey-secret <name>', 'Secret Manager version holding the secret key (env DUO_SKEY_SECRET); the key itself is only read from DUO_SKEY'))
    .addOption(new Option('--rpm <n>', 'requests per minute toward Duo (env REQUESTS_PER_MINUTE, default 30)'));
}

export function addCollectOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--stdout', 'write NDJSON to stdout instead of a folder or bucket (checkpoint stays in --out)'))
    .addOption(new Option('--max-pages <n>', 'pages per run, 0 = unlimited (env MAX_ITERATIONS)'))
    .addOption(new Option('--page-limit <n>', 'items per request, 1-1000 (env PAGE_LIMIT, default 1000)'))
    .addOption(new Option('--delay-seconds <s>', 'how far behind now a window ends (env DELAY_SECONDS, default 120)'))
    .addOption(new Option('--lookback-hours <h>', 'where the first run starts (env LOOKBACK_HOURS, default 24, at most 179 days)'))
    .addOption(new Option('--window-max-hours <h>', 'largest window opened at once (env WINDOW_MAX_HOURS, default 24)'))
    .addOption(new Option('--budget-seconds <s>', 'stop opening new pages after this (env RUN_BUDGET_SECONDS, default 540)'))
    .addOption(new Option('--no-enrich', 'do not add eventtype/host to each line (env ENRICH=false)'));
}

/**
 * commander sets `enrich: true` when --no-enrich is absent; only an explicit flag may override the
 * environment, so drop defaults commander invented.
 */
export function explicitFlags(cmd: Command): Record<string, string | boolean | undefined> {
  const out: Record<string, string | boolean | undefined> = {};
  const opts = cmd.opts<Record<string, string | boolean | undefined>>();
  for (const [k, v] of Object.entries(opts)) {
    const source = cmd.getOptionValueSource(k);
    if (source === 'cli') out[FLAG_TO_CONFIG[k] ?? k] = v;
  }
  return out;
}

/** Flags whose short names differ from the configuration keys. */
const FLAG_TO_CONFIG: Record<string, string> = {
  out: 'outputDir',
  rpm: 'requestsPerMinute',
  budgetSeconds: 'runBudgetSeconds',
};
