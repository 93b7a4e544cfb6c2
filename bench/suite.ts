/** The benchmarks, in the order `npm run bench` runs them; `--only` takes these names. */
export const BENCHMARKS = {
  catchup: 'rate-limited catch-up: ideal ÷ actual time at the simulator’s rate limit, and 429s',
  rate: 'the learned pace behind a one-request bucket: told the limit vs learning it (2, 30, 120 per minute), and a limit that halves',
  pipeline: 'unthrottled pipeline: 1,000,000 events to the local folder and to the GCS test server vs a plain fetch-and-append loop',
  memory: 'peak RSS of `collect` at 100,000 and 1,000,000 events',
  streams: 'peak RSS of `collect` backfilling all five Duo log streams at once vs telephony alone',
  udm: 'toUdm over 1,000,000 lines vs JSON.parse + JSON.stringify of the same lines',
  verify: 'peak RSS and speed of `verify` over 1,000,000 events vs `collect` writing them',
  accounts: 'accounts mode: the fan-out behind a limit the children share (each at its share vs the whole ceiling); 200 child accounts in turn vs one account',
  coldstart: 'time until the function handler is registered vs importing @google-cloud/storage',
} as const;

export type BenchName = keyof typeof BENCHMARKS;

export function isBenchName(name: string): name is BenchName {
  return Object.hasOwn(BENCHMARKS, name);
}
