/**
 * Small seeded pseudo-random generator for the simulator's data sets and fault injection.
 *
 * sfc32 seeded through splitmix32: fast in plain JavaScript (32-bit integer ops only), good enough
 * statistically for test data, and the same seed gives the same data set on every platform. Not for
 * secrets: credentials come from node:crypto.
 */

export interface Rng {
  /** Uniform unsigned 32-bit integer. */
  u32(): number;
  /** Uniform float in [0, 1) with 32 bits of resolution. */
  next(): number;
  /** Uniform float in [0, 1) with 53 bits of resolution (two draws): wide ranges such as microseconds in an hour. */
  next53(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const TWO_POW_32 = 4294967296;

export function createRng(seed: number): Rng {
  // Seeds may exceed 32 bits (a timestamp, say): fold the high part in rather than dropping it.
  const hi = Math.floor(Math.abs(seed) / TWO_POW_32);
  const mix = splitmix32((seed >>> 0) ^ Math.imul(hi >>> 0, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix() | 1;
  const u32 = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  // Discard the first outputs: sfc32's state needs a few rounds to mix a weak seed.
  for (let i = 0; i < 12; i++) u32();
  const next = (): number => u32() / TWO_POW_32;
  return {
    u32,
    next,
    next53: () => ((u32() >>> 5) * 67108864 + (u32() >>> 6)) / 9007199254740992,
    int: (n) => Math.floor(next() * n),
    chance: (p) => p > 0 && next() < p,
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T,
  };
}
