/**
 * The data `duo-secops simulate` serves when told nothing: one seeded day of every log stream, ending
 * ten minutes before now (beyond Duo's two-minute delay), each with a burst that only a correct cursor
 * pages through. Sizes follow how busy each log is at a real account: authentication the busiest,
 * the trust monitor and the administrator log small.
 */
import { STREAM_NAMES, type StreamName } from '../duo/streams.js';
import type { DatasetOptions } from './dataset.js';

const DAY_MS = 86_400_000;
/** The data ends this long before now: in Duo's past, and beyond the collector's 2-minute delay. */
export const DEFAULT_END_AGO_MS = 10 * 60_000;

/**
 * Per stream: events in the day, events in its burst, where in the day the burst falls (a fraction of
 * it). Each burst is larger than the endpoint's largest page where that is possible (trust monitor:
 * 250 in one millisecond against its 200), so paging through it needs the cursor; the administrator
 * log's burst fills one second (fewer than its 1000 a page, which no client could page past), a tenth
 * of it exact copies.
 */
export const DEFAULT_LOG_SIZES: Readonly<Record<StreamName, { events: number; burst: number; at: number }>> = {
  telephony: { events: 5000, burst: 1000, at: 0.5 },
  authentication: { events: 12_000, burst: 1500, at: 0.3 },
  activity: { events: 2000, burst: 300, at: 0.6 },
  trust_monitor: { events: 400, burst: 250, at: 0.75 },
  administrator: { events: 1500, burst: 400, at: 0.4 },
};

/** Share of the administrator log's events sharing a second that are copies of an earlier one. */
const DEFAULT_IDENTICAL_RATE = 0.1;

/**
 * The data set options of every stream for the same seeded day, `[now - 24 h - 10 min, now - 10 min)`.
 * Each burst is on a whole second plus 123 ms, easy to spot in the output.
 */
export function defaultLogs(nowMs: number, seed = 1): Record<StreamName, DatasetOptions> {
  const toMs = nowMs - DEFAULT_END_AGO_MS;
  const fromMs = toMs - DAY_MS;
  return Object.fromEntries(STREAM_NAMES.map((stream) => [stream, logOptions(stream, fromMs, toMs, seed)])) as Record<StreamName, DatasetOptions>;
}

/**
 * One stream's default data set over `[fromMs, toMs)`, its burst at its place in that span; `scale`
 * multiplies its size, not its burst (a burst is an edge case of one time unit, not volume).
 */
export function logOptions(stream: StreamName, fromMs: number, toMs: number, seed: number, scale = 1): DatasetOptions {
  const size = DEFAULT_LOG_SIZES[stream];
  const atMs = Math.floor((fromMs + (toMs - fromMs) * size.at) / 1000) * 1000 + 123;
  const burst = size.burst;
  return {
    stream,
    events: size.events * scale,
    seed,
    fromMs,
    toMs,
    bursts: [{ atMs, count: burst }],
    ...(stream === 'administrator' && { identicalRate: DEFAULT_IDENTICAL_RATE }),
  };
}
