/**
 * Seeded, counter-based randomness for the reader's shuffles: every permutation is a pure function
 * of its key words (seed, epoch, ...), computed with 32-bit integer ops only, so the same seed gives
 * the same order on any machine and a resumed reader can recompute any window without state.
 */

import { mix32 } from '../plan/random';

/** Hash of a sequence of words; order-sensitive (each word is folded into the running hash). */
export function hashWords(...words: number[]): number {
  let h = 0x2545f491;
  for (const word of words) {
    // Words may exceed 32 bits (large seeds): fold the high half in too.
    const low = word >>> 0;
    const high = Math.floor(word / 4294967296) >>> 0;
    h = mix32((h ^ low) + 0x9e3779b9);
    h = mix32((h ^ high) + 0x7f4a7c15);
  }
  return h;
}

/** splitmix-style stream: draw n is mix32(key + n * golden gamma). */
export function rng(key: number): () => number {
  let counter = 0;
  return () => {
    counter++;
    return mix32((key + Math.imul(counter, 0x9e3779b9)) >>> 0);
  };
}

/** A Fisher-Yates permutation of [0, n) keyed by `key`. */
export function permutation(n: number, key: number): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  const next = rng(key);
  for (let i = n - 1; i > 0; i--) {
    // Rejection sampling keeps the draw unbiased for any n.
    const bound = i + 1;
    const limit = 4294967296 - (4294967296 % bound);
    let r = next();
    while (r >= limit) r = next();
    const j = r % bound;
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  return order;
}

/** Named streams so the shard order and the buffer windows never share draws. */
export const STREAM = { shards: 1, window: 2, live: 3 } as const;
