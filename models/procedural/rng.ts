import { mulberry32 } from '../../plan/random';

/**
 * mulberry32: tiny, fast and identical on every platform, so a face is a pure function of its
 * generatorSeed (Math.random is never used).
 */
export type Rng = () => number;

export const createRng: (seed: number) => Rng = mulberry32;

export function range(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length) % items.length] as T;
}
