/**
 * Counter-based randomness: every draw is a hash of (run seed, shard, sample index, round,
 * stream name, draw number). There is no state carried from one sample to the next, so any
 * shard or sample can be planned alone, in any order, on any machine, and come out the same.
 *
 * Each concern draws from its own named stream ('aus', 'identity', ...) so that changing how
 * one attribute is drawn never shifts the values of another.
 */

/** Index used for draws that belong to a whole shard (its class order) rather than one sample. */
export const SHARD_LEVEL = 0xffffffff;

/** lowbias32 (C. Wellons' hash prospector): a full-avalanche 32-bit finaliser. */
export function mix32(x: number): number {
  let h = x >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** MurmurHash3's block step, so the words of a key are order-sensitive and collision-resistant. */
function absorb(h: number, word: number): number {
  let k = Math.imul(word >>> 0, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  let x = h ^ k;
  x = (x << 13) | (x >>> 19);
  return (Math.imul(x, 5) + 0xe6546b64) >>> 0;
}

const streamIds = new Map<string, number>();

/** FNV-1a of the stream name, cached: stream names are a handful of constants. */
export function streamId(name: string): number {
  let id = streamIds.get(name);
  if (id === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < name.length; i++) {
      h ^= name.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    id = h >>> 0;
    streamIds.set(name, id);
  }
  return id;
}

export interface RngKey {
  seed: number;
  shard: number;
  index: number;
  round: number;
  stream: string;
}

export function keyHash({ seed, shard, index, round, stream }: RngKey): number {
  return streamHash(sampleHash(seed, shard, index, round), streamId(stream));
}

/**
 * keyHash in two steps, for planning's hot loop: the (seed, shard, index, round) part once per
 * sample, then each stream's key from it. keyHash(k) === streamHash(sampleHash(...), streamId(k.stream)).
 */
export function sampleHash(seed: number, shard: number, index: number, round: number): number {
  return absorb(absorb(absorb(seed >>> 0, shard), index), round);
}

export function streamHash(sample: number, stream: number): number {
  return mix32(absorb(sample, stream) ^ 20);
}

const GOLDEN_GAMMA = 0x9e3779b9;

/** Draw n is mix32(key + n * golden gamma): splitmix-style, random access by construction. */
export class Rng {
  private counter = 0;

  constructor(private readonly key: number) {}

  uint32(): number {
    this.counter++;
    return mix32((this.key + Math.imul(this.counter, GOLDEN_GAMMA)) >>> 0);
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.uint32() / 4294967296;
  }

  /** Uniform in [min, max). */
  range(min: number, max: number): number {
    return min + (max - min) * this.float();
  }

  /** Integer uniform in [0, n), without modulo bias worth caring about for n << 2^32. */
  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Picks by relative weights (need not sum to 1). */
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    let total = 0;
    for (const [, w] of items) total += w;
    let r = this.float() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }

  /** Symmetric triangular in [-half, half]: small head turns are more common than large ones. */
  triangular(half: number): number {
    return (this.float() + this.float() - 1) * half;
  }
}

export function keyedRng(key: RngKey): Rng {
  return new Rng(keyHash(key));
}

/**
 * mulberry32: a small sequential PRNG, identical on every platform, for the places that draw
 * many values from one seed (a face's shapes, a model's noise input); never Math.random.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
