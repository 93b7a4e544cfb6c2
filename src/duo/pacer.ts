/**
 * When the client may send its next request to Duo: the rate learner's rules (rate-learner.ts) applied to
 * each endpoint and to the integration as a whole, at once.
 *
 * Duo does not say whether its limit counts per endpoint or per integration, so both are learned:
 *
 *   - every endpoint has its own learned rate (ceiling REQUESTS_PER_MINUTE, or AUTO_CEILING_RPM);
 *   - the integration has one over all its requests (ceiling: every endpoint's ceiling added up, so it
 *     binds only once it has learned something lower).
 *
 * A request waits for both. A 429 slows its endpoint; it also slows the integration when the endpoint
 * was at a pace it had been accepted at before while other endpoints were sending (then it is most likely
 * their shared budget that ran out). A good answer counts for the integration only when the integration's
 * pace was the one the request waited for. Good answers count only for requests sent on pace: a request
 * that started late (the collector was busy) says nothing about the rate.
 *
 * After a 429, the endpoint's next request waits at least one interval of its new rate from the answer.
 * Requests are spaced by the interval plus the spread of recent round trips (rate-learner's intervalMs),
 * so that they also *arrive* no faster than the rate.
 */
import { performance } from 'node:perf_hooks';
import { afterGood, afterRateLimited, intervalMs, startState, type RateOptions, type RateState } from './rate-learner.js';

/** What a pacer learned about one endpoint or the integration, as a checkpoint keeps it. */
export interface LearnedRate {
  rpm: number;
  lo: number;
  hi: number | null;
}

/** What was learned for one endpoint and its integration, as a checkpoint keeps it (its `learnedRate`). */
export interface LearnedRates {
  endpoint: LearnedRate;
  integration: LearnedRate;
}

export type Outcome = { kind: 'good'; backlog: boolean; roundTripMs: number } | { kind: 'rate-limited'; roundTripMs: number } | { kind: 'other' };

export interface Ticket {
  readonly path: string;
  /** The request waited for the integration's pace, not only its endpoint's. */
  readonly integrationBound: boolean;
  /** It started within its endpoint's interval of the previous start (or waited for it): on pace. */
  readonly onPace: boolean;
}

export interface Pacer {
  /** Waits until a request to `path` may start under both paces, and claims that start. */
  acquire(path: string, signal?: AbortSignal): Promise<Ticket>;
  /** What the answer to a claimed start says about the rate. */
  settle(ticket: Ticket, outcome: Outcome): void;
  /** What was learned for an endpoint (undefined before its first request, or when pacing is off). */
  learned(path: string): LearnedRate | undefined;
  /** What was learned for the integration (undefined when pacing is off). */
  integration(): LearnedRate | undefined;
  /** Starts an endpoint (and the integration, if it has not sent yet) from what an earlier run learned. */
  seed(path: string, endpoint: LearnedRate | undefined, integration: LearnedRate | undefined): void;
}

export interface PacerOptions {
  /** Per endpoint, per minute; Infinity turns pacing and learning off. */
  ceilingRpm: number;
  /** How many endpoints may share the integration (its ceiling is that many endpoint ceilings). */
  endpoints: number;
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Monotonic ms. Default performance.now. */
  now?: () => number;
}

/** The ceiling per endpoint with REQUESTS_PER_MINUTE=auto: Duo's own advice is at most one poll a minute per log, and nobody has reported more than 60. */
export const AUTO_CEILING_RPM = 60;
/** Round trips kept for the jitter margin. */
const ROUND_TRIPS = 8;
/** The jitter margin never adds more than this share of an interval. */
const MAX_JITTER_SHARE = 0.05;
/** Starts kept to measure the integration's actual rate. */
const STARTS = 8;

interface Lane {
  state: RateState;
  /** Monotonic ms of the last claimed start; -Infinity before the first. */
  lastStart: number;
  /** No start before this (set by a 429). */
  notBefore: number;
}

/** Whether a lane has sent anything yet. */
const hasStarted = (lane: Lane): boolean => lane.lastStart !== Number.NEGATIVE_INFINITY;

export function createPacer(opts: PacerOptions): Pacer {
  const now = opts.now ?? (() => performance.now());
  if (!Number.isFinite(opts.ceilingRpm)) return unpaced();
  const endpointOpts: RateOptions = { ceilingRpm: opts.ceilingRpm };
  const integrationOpts: RateOptions = { ceilingRpm: opts.ceilingRpm * Math.max(1, opts.endpoints) };
  const lanes = new Map<string, Lane>();
  const integration = newLane(integrationOpts);
  const roundTrips: number[] = [];
  const starts: Array<{ path: string; at: number }> = [];

  function newLane(o: RateOptions, learned?: LearnedRate): Lane {
    return { state: startState(o, learned), lastStart: Number.NEGATIVE_INFINITY, notBefore: Number.NEGATIVE_INFINITY };
  }

  function laneOf(path: string): Lane {
    let lane = lanes.get(path);
    if (!lane) lanes.set(path, (lane = newLane(endpointOpts)));
    return lane;
  }

  /**
   * How much earlier than its send time's spacing a request may arrive, or be counted by Duo: the spread
   * of recent round trips (a request that waited in Duo's queue was counted late, and the next one,
   * served at once, looks early). With one round trip known, all of it: the first request also opened
   * the connection, so the second, on a warm one, arrives sooner after being sent.
   */
  function jitterMs(state: RateState): number {
    if (roundTrips.length === 0) return 0;
    const spread = roundTrips.length === 1 ? roundTrips[0]! : Math.max(...roundTrips) - Math.min(...roundTrips);
    return Math.min(spread, (60_000 / state.rpm) * MAX_JITTER_SHARE);
  }

  const slotOf = (lane: Lane): number => Math.max(lane.lastStart + intervalMs(lane.state, jitterMs(lane.state)), lane.notBefore);

  /** The integration's rate as sent over the last few starts, per minute (Infinity with fewer than two). */
  function sentRpm(): number {
    if (starts.length < 2) return Number.POSITIVE_INFINITY;
    const span = starts[starts.length - 1]!.at - starts[0]!.at;
    return span > 0 ? ((starts.length - 1) * 60_000) / span : Number.POSITIVE_INFINITY;
  }

  /** Another endpoint started within two of this endpoint's intervals before its last start. */
  function othersSending(path: string, lane: Lane): boolean {
    const since = lane.lastStart - 2 * intervalMs(lane.state);
    return starts.some((s) => s.path !== path && s.at >= since);
  }

  return {
    async acquire(path, signal) {
      for (;;) {
        const lane = laneOf(path);
        const laneAt = slotOf(lane);
        const integrationAt = slotOf(integration);
        const at = Math.max(laneAt, integrationAt);
        const t = now();
        // Sleep, then look again: another caller may have claimed a start meanwhile.
        if (t < at) {
          await opts.sleep(at - t, signal);
          continue;
        }
        const onPace = !hasStarted(lane) || t - laneAt <= intervalMs(lane.state) / 2;
        const ticket: Ticket = { path, integrationBound: integrationAt > laneAt && t - integrationAt <= intervalMs(integration.state) / 2, onPace };
        lane.lastStart = t;
        integration.lastStart = t;
        starts.push({ path, at: t });
        if (starts.length > STARTS) starts.shift();
        return ticket;
      }
    },

    settle(ticket, outcome) {
      if (outcome.kind === 'other') return;
      roundTrips.push(outcome.roundTripMs);
      if (roundTrips.length > ROUND_TRIPS) roundTrips.shift();
      const lane = laneOf(ticket.path);
      if (outcome.kind === 'rate-limited') {
        const proven = lane.state.lo > 0 && lane.state.rpm <= lane.state.lo;
        if (proven && othersSending(ticket.path, lane)) {
          integration.state = afterRateLimited({ ...integration.state, rpm: Math.min(integration.state.rpm, sentRpm()) }, integrationOpts);
          integration.notBefore = now() + intervalMs(integration.state);
        }
        lane.state = afterRateLimited(lane.state, endpointOpts);
        lane.notBefore = now() + intervalMs(lane.state);
        return;
      }
      if (!ticket.onPace) return;
      lane.state = afterGood(lane.state, endpointOpts, outcome.backlog);
      if (ticket.integrationBound) integration.state = afterGood(integration.state, integrationOpts, outcome.backlog);
    },

    learned: (path) => {
      const lane = lanes.get(path);
      return lane ? learnedOf(lane.state) : undefined;
    },
    integration: () => learnedOf(integration.state),

    seed(path, endpoint, learnedIntegration) {
      const lane = laneOf(path);
      if (!hasStarted(lane) && endpoint) lanes.set(path, newLane(endpointOpts, endpoint));
      if (!hasStarted(integration) && learnedIntegration) integration.state = startState(integrationOpts, learnedIntegration);
    },
  };
}

/** A pace per minute as people read it: 42, 7.5, 0.83. */
export function formatRpm(rpm: number): string {
  return rpm >= 10 ? String(Math.round(rpm)) : String(Math.round(rpm * 100) / 100);
}

const learnedOf = (s: RateState): LearnedRate => ({ rpm: round(s.rpm), lo: round(s.lo), hi: s.hi === null ? null : round(s.hi) });

/** Three decimals: enough for a rate per minute, and stable in a checkpoint. */
const round = (n: number): number => Math.round(n * 1000) / 1000;

function unpaced(): Pacer {
  return {
    acquire: async (path) => ({ path, integrationBound: false, onPace: false }),
    settle: () => undefined,
    learned: () => undefined,
    integration: () => undefined,
    seed: () => undefined,
  };
}
