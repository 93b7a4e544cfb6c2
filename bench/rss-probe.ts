/**
 * Loaded into a measured process with `node --import …/dist/bench/rss-probe.js`: at exit it writes the
 * process's peak resident set size (the kernel's own high-water mark, `getrusage` ru_maxrss) and the
 * peaks of V8's heap figures, sampled every 20 ms, as JSON to the file named by BENCH_RSS_FILE.
 *
 * A preload rather than /usr/bin/time: it needs nothing installed, and the heap figures say where the
 * resident memory went.
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface RssReport {
  maxRssBytes: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  /**
   * Peaks of the two parts of the resident set (Linux `/proc/self/status`; 0 elsewhere): memory the
   * process allocated, and pages of files it maps, mostly the node executable itself.
   */
  rssAnon: number;
  rssFile: number;
}

/** `RssAnon` and `RssFile` in bytes, or zeros where /proc is not there. */
function residentParts(): { anon: number; file: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { anon: kb('RssAnon'), file: kb('RssFile') };
  } catch {
    return { anon: 0, file: 0 };
  }
}

const file = process.env['BENCH_RSS_FILE'];
if (file) {
  const peak = { heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0, rssAnon: 0, rssFile: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
    const parts = residentParts();
    peak.rssAnon = Math.max(peak.rssAnon, parts.anon);
    peak.rssFile = Math.max(peak.rssFile, parts.file);
  };
  // unref: the probe must never keep the measured process alive.
  setInterval(sample, 20).unref();
  process.on('exit', () => {
    sample();
    // ru_maxrss is in kilobytes on Linux.
    const report: RssReport = { maxRssBytes: process.resourceUsage().maxRSS * 1024, ...peak };
    writeFileSync(file, JSON.stringify(report));
  });
}
