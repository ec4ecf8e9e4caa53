/** Seeded pseudo-random numbers (mulberry32): runs repeat exactly with the same `--seed`. */
export type Rng = () => number;

/** A mulberry32 generator of numbers in [0, 1) from `seed` (32 bits; 0 takes a fixed non-zero seed). */
export function createRng(seed: number): Rng {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
