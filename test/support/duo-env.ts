/** The settings that point a collector at a running simulator, as a user would export them. */
import type { Simulator } from '../../src/testing/index.js';

type Keys = { ikey: string; skey: string };

/** The simulator's address and one integration's keys (its first by default). */
export function duoEnvOf(sim: Simulator, integration: number | Keys = 0): Record<'DUO_API_URL' | 'DUO_API_HOST' | 'DUO_IKEY' | 'DUO_SKEY', string> {
  const i = typeof integration === 'number' ? sim.integrations[integration] : integration;
  if (!i) throw new Error(`the simulator has no integration ${String(integration)}`);
  return { DUO_API_URL: sim.url, DUO_API_HOST: sim.apiHost, DUO_IKEY: i.ikey, DUO_SKEY: i.skey };
}
