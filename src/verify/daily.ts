/**
 * `verify` on a schedule: yesterday's UTC day, every selected stream, one structured log line each
 * (`verify.finished`: the counts and `clean`). The daemon runs it on VERIFY_SCHEDULE; the function runs
 * it on a Pub/Sub message `{"verify":"yesterday","repair":false}` (the job `deploy --verify-daily`
 * creates; function.ts reads it). A log-based metric on `clean=false` raises the alert.
 */
import { nameOf, type Config } from '../config.js';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { duoClientFor } from '../collect/deps.js';
import { isClean, storeAccessFor, verifyStore, type VerifyJson } from './run.js';

const DAY_MS = 86_400_000;

/** `[yesterday 00:00Z, today 00:00Z)` for the time `nowMs`. */
export function yesterdayOf(nowMs: number): { fromMs: number; toMs: number } {
  const toMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { fromMs: toMs - DAY_MS, toMs };
}

export async function verifyYesterday(config: Config, logger: Logger, o: { repair: boolean; nowMs?: number; signal?: AbortSignal }): Promise<VerifyJson[]> {
  // The children's stores are one per account: the daily job verifies one account (deploy refuses both).
  if (config.accounts !== undefined) throw new ConfigError([`${nameOf('accounts')}: the daily verify reads one Duo account; verify a child with \`duo-secops verify --account <id>\``]);
  const range = yesterdayOf(o.nowMs ?? Date.now());
  const client = await duoClientFor(config, logger);
  try {
    const access = await storeAccessFor(config);
    const results: VerifyJson[] = [];
    for (const store of config.stores) {
      const r = await verifyStore({ config, store, client, access, range, repair: o.repair, includeDeleted: false, ...(o.signal ? { signal: o.signal } : {}) });
      const clean = isClean(r);
      const { ids, ...counts } = r;
      logger[clean ? 'info' : 'warn'](
        { event: 'verify.finished', clean, ...counts, ids },
        `verify ${r.stream} ${r.from}..${r.to}: duo=${r.duo} stored=${r.stored} missing=${r.missing} doubled=${r.doubled} unknown=${r.unknown}`,
      );
      results.push(r);
    }
    return results;
  } finally {
    await client.close();
  }
}
