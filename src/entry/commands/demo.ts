/**
 * `duo-secops demo` (`npm run demo`): the main job on the embedded default. Starts the bundled Duo
 * API simulator with a seeded day of every log stream (bursts included), collects all of them into a
 * local folder exactly as `collect` would, checks every event of every stream arrived once, converts
 * the telephony log to UDM, and says where everything is.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { loadConfig } from '../../config.js';
import { createLogger } from '../../log.js';
import { createCollector } from '../../collect/deps.js';
import { worstFailure } from '../../collect/run-streams.js';
import { formatCollection, formatProgress, onCombinedProgress } from '../../collect/report.js';
import { defaultLogs, startSimulator, type Simulator } from '../../simulator/index.js';
import { STREAM_NAMES, STREAMS, type DuoItem, type StreamName } from '../../duo/streams.js';
import { convertNdjsonStream, walkInputFiles, emptyStats, addStats } from '../../udm/index.js';
import { ConfigError } from '../../errors.js';
import { createStatusLine } from '../terminal.js';

const MARKER = '.duo-secops-demo';
const H = 3_600_000;

async function prepareFolder(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => null);
  if (entries && entries.length > 0) {
    if (!entries.includes(MARKER)) {
      throw new ConfigError([`--out: ${dir} exists and was not made by the demo; choose another folder (the demo never deletes data it did not write)`]);
    }
    await rm(dir, { recursive: true, force: true });
  }
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, MARKER), 'Made by `duo-secops demo`; the demo replaces this folder on its next run.\n');
}

export function register(program: Command, io: CliIo): void {
  program
    .command('demo')
    .description('collect a seeded day of every Duo log stream from the bundled Duo API simulator into a local folder, then convert telephony to UDM')
    .option('--out <dir>', 'demo folder (replaced on each demo run)', './duo-secops-demo')
    .option('--events <n>', 'telephony events in the simulated day (the other streams have their default sizes)', '50000')
    .option('--seed <n>', 'data set seed', '7')
    .action(async (opts: { out: string; events: string; seed: string }) => {
      const events = Number(opts.events);
      const seed = Number(opts.seed);
      if (!Number.isInteger(events) || events < 1 || events > 2_000_000) throw new ConfigError(['--events: a whole number from 1 to 2000000']);
      if (!Number.isInteger(seed)) throw new ConfigError(['--seed: a whole number']);
      const out = resolve(opts.out);
      await prepareFolder(out);
      const say = (s: string) => io.stdout.write(`${s}\n`);

      const now = Date.now();
      const fromMs = now - 24 * H;
      const toMs = now - 10 * 60_000;
      const burst = Math.min(2000, Math.floor(events / 10));
      const sim = await startSimulator({
        logs: { ...defaultLogs(now, seed), telephony: { events, seed, fromMs, toMs, bursts: burst > 0 ? [{ atMs: Math.floor(fromMs + 9.5 * H), count: burst }] : [] } },
      });
      const integration = sim.integrations[0]!;
      say(`Duo API simulator at ${sim.url}, serving every Duo log stream over the last 24 h:`);
      say(`  ${STREAM_NAMES.map((s) => `${s} ${sim.eventsOf(s).length.toLocaleString('en-US')}`).join(', ')} events; ${burst.toLocaleString('en-US')} telephony events in one millisecond`);

      const config = loadConfig(
        {
          DUO_IKEY: integration.ikey,
          DUO_SKEY: integration.skey,
          DUO_API_HOST: sim.apiHost,
          DUO_API_URL: sim.url,
          OUTPUT_DIR: out,
          DUO_LOGS: STREAM_NAMES.join(','),
          DELAY_SECONDS: '1',
          LOOKBACK_HOURS: '25',
          WINDOW_MAX_HOURS: '6',
          REQUESTS_PER_MINUTE: '100000',
          LOG_LEVEL: 'warn',
        },
        {},
        { needDuo: true },
      );
      // The demo runs with a 1 s delay on purpose: only errors are worth a line here.
      const status = io.isTTY ? createStatusLine(io.stderr) : undefined;
      const logger = createLogger({ level: 'error', destination: status?.logDestination ?? io.stderr });
      const started = Date.now();
      const collector = await createCollector(config, {
        logger,
        ...(status ? { onProgress: onCombinedProgress((p) => status.draw(formatProgress(p, started, io.columns?.() ?? 80))) } : {}),
      });
      let summary;
      try {
        summary = await collector.run();
      } finally {
        status?.clear();
        await collector.close();
        await sim.close();
      }
      say(formatCollection(summary));
      const failure = worstFailure(summary);
      if (failure !== undefined) throw failure;

      // Check the folder against the simulator: every event of every stream once, none twice.
      let wrong = 0;
      for (const store of config.stores) {
        const check = await deliveredOnce(sim, store.stream, join(out, store.prefix));
        wrong += check.missing + check.doubled;
        say(
          check.missing === 0 && check.doubled === 0
            ? `✓ ${store.stream}: all ${check.expected.toLocaleString('en-US')} events delivered exactly once, in ${check.objects} objects under ${store.prefix}/`
            : `✗ ${store.stream}: ${check.missing} events missing and ${check.doubled} doubled: this is a bug, please report it`,
        );
      }

      // The telephony log in detail, and its UDM.
      const dataDir = join(out, config.prefix);
      const byContext = new Map<string, number>();
      let objects = 0;
      let sample = '';
      for await (const file of walkInputFiles(dataDir)) {
        objects += 1;
        for (const line of (await readFile(file, 'utf8')).split('\n')) {
          if (!line) continue;
          sample ||= line;
          const item = JSON.parse(line) as { context?: string; type?: string };
          const k = `${item.context ?? '?'} / ${item.type ?? '?'}`;
          byContext.set(k, (byContext.get(k) ?? 0) + 1);
        }
      }

      // UDM: what SecOps' DUO_TELEPHONY parser will make of these lines.
      const udmDir = join(out, '_udm');
      await mkdir(udmDir, { recursive: true });
      const udmFile = join(udmDir, 'events.udm.ndjson');
      const udmOut = createWriteStream(udmFile);
      let stats = emptyStats();
      let rejected = 0;
      for await (const file of walkInputFiles(dataDir)) {
        stats = addStats(stats, await convertNdjsonStream(createReadStream(file), file, udmOut, () => (rejected += 1)));
      }
      await new Promise<void>((res, rej) => udmOut.end((err?: Error | null) => (err ? rej(err) : res())));

      const rel = (p: string) => relative(process.cwd(), p) || '.';
      say('');
      say(`Collected telephony logs (what its SecOps feed ingests): ${rel(dataDir)}/  (${objects} objects, ${(await folderSize(dataDir) / 1e6).toFixed(1)} MB)`);
      say(`Every stream: its own folder under ${rel(out)}/ and its checkpoint in ${rel(join(out, '_state'))}/`);
      say(`UDM events of the telephony log (what SecOps will store): ${rel(udmFile)}  (${stats.converted.toLocaleString('en-US')} events${rejected ? `, ${rejected} lines rejected` : ''})`);
      say("The other streams are mapped to UDM by SecOps' own parsers (DUO_AUTH, DUO_ACTIVITY, DUO_ADMIN); DUO_TRUST_MONITOR has none by default.");
      say('');
      say('Events by context / type:');
      for (const [k, v] of [...byContext.entries()].sort((a, b) => b[1] - a[1])) say(`  ${String(v).padStart(8)}  ${k}`);
      say(`UDM event types: ${Object.entries(stats.byEventType).map(([k, v]) => `${k} ${v}`).join(', ')}`);
      if (sample) {
        say('');
        say('One collected line:');
        say(`  ${sample}`);
        const firstUdm = (await readFile(udmFile, 'utf8')).split('\n', 1)[0];
        if (firstUdm) {
          say('Its UDM event:');
          say(JSON.stringify(JSON.parse(firstUdm), null, 2).replace(/^/gm, '  '));
        }
      }
      say('');
      const cli = howToRun(process.argv[1]);
      say(`Next: \`${cli} udm ${rel(dataDir)} --stats\`, \`${cli} state show --out ${rel(out)}\`, or point collect at your Duo account (see README).`);
      if (wrong > 0) io.setExitCode(1);
    });
}

/**
 * The command that runs this CLI again from here: `duo-secops` when it was started by that name (a
 * linked or installed bin), else `node <path to cli.js>` (`npm run demo` in a clone, where no
 * `duo-secops` is on the PATH and `npx duo-secops` would look for it in the registry).
 */
export function howToRun(script: string | undefined): string {
  if (script === undefined || /(^|[/\\])duo-(secops|telephony)$/.test(script)) return 'duo-secops';
  const rel = relative(process.cwd(), script);
  return `node ${rel.startsWith('..') ? script : rel}`;
}

async function folderSize(dir: string): Promise<number> {
  let total = 0;
  for await (const f of walkInputFiles(dir)) total += (await stat(f)).size;
  return total;
}

/** Whether a stream's folder holds each of the simulator's events of that stream once (a multiset). */
async function deliveredOnce(sim: Simulator, stream: StreamName, dir: string): Promise<{ expected: number; missing: number; doubled: number; objects: number }> {
  const key = STREAMS[stream].contentKey;
  const want = new Map<string, number>();
  for (const e of sim.eventsOf(stream)) {
    const k = key(JSON.parse(e.json) as DuoItem);
    want.set(k, (want.get(k) ?? 0) + 1);
  }
  const got = new Map<string, number>();
  let objects = 0;
  for await (const file of walkInputFiles(dir)) {
    objects += 1;
    for (const line of (await readFile(file, 'utf8')).split('\n')) {
      if (!line) continue;
      const k = key(JSON.parse(line) as DuoItem);
      got.set(k, (got.get(k) ?? 0) + 1);
    }
  }
  let missing = 0;
  let doubled = 0;
  for (const [k, n] of want) missing += Math.max(0, n - (got.get(k) ?? 0));
  for (const [k, n] of got) doubled += Math.max(0, n - (want.get(k) ?? 0));
  return { expected: sim.eventsOf(stream).length, missing, doubled, objects };
}
