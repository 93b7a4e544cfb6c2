/** Simulators started by a test file, all closed after each test. */
import { afterEach } from 'vitest';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';

/** A `start` that closes every simulator it started after each test of the calling file. */
export function simulatorsClosedAfterEach(): (opts?: SimulatorOptions) => Promise<Simulator> {
  const running: Simulator[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((s) => s.close()));
  });
  return async (opts = {}) => {
    const sim = await startSimulator(opts);
    running.push(sim);
    return sim;
  };
}
