/** (sqrt(5) - 1) / 2: successive multiples mod 1 spread as evenly as any sequence can. */
export const GOLDEN_FRACTION = 0.6180339887498949;

/**
 * Splits `n` samples over classes in proportion to `weights` (largest-remainder family): every
 * class gets floor(quota) or ceil(quota), so it is within one sample of its weight, and the
 * counts sum to `n` exactly.
 *
 * Plain largest remainder hands the leftover samples to the same classes in every equal-sized
 * shard, so a run's totals drift by up to one sample per shard. Instead the k leftovers go to
 * the classes hit by the points offset, offset+1, ..., offset+k-1 on a line where class c owns a
 * segment as long as its fractional quota (systematic sampling). Each class then gets its extra
 * sample with probability equal to its fraction; with offsets from a golden-ratio sequence
 * (see `shardOffset`) the run totals stay within a few samples of the weights.
 */
export function apportion(weights: readonly number[], n: number, offset: number): number[] {
  let total = 0;
  for (const w of weights) total += w;
  if (!(total > 0) || n <= 0) return weights.map(() => 0);

  const counts = new Array<number>(weights.length);
  const fractions = new Array<number>(weights.length);
  let assigned = 0;
  let fractionSum = 0;
  for (let c = 0; c < weights.length; c++) {
    const quota = (weights[c]! / total) * n;
    const floor = Math.floor(quota);
    counts[c] = floor;
    fractions[c] = quota - floor;
    assigned += floor;
    fractionSum += quota - floor;
  }
  const leftover = n - assigned;
  if (leftover === 0) return counts;

  // Rescale so the segments tile [0, leftover) exactly despite floating-point error.
  const scale = leftover / fractionSum;
  const picked = new Array<boolean>(weights.length).fill(false);
  let given = 0;
  let end = 0;
  for (let c = 0; c < weights.length && given < leftover; c++) {
    end += fractions[c]! * scale;
    if (offset + given < end && fractions[c]! > 0) {
      counts[c]!++;
      picked[c] = true;
      given++;
    }
  }
  // Rounding can leave the last point just past the final segment: give it to the largest unpicked fraction.
  while (given < leftover) {
    let best = -1;
    for (let c = 0; c < weights.length; c++) {
      if (!picked[c] && fractions[c]! > 0 && (best < 0 || fractions[c]! > fractions[best]!)) best = c;
    }
    if (best < 0) break;
    counts[best]!++;
    picked[best] = true;
    given++;
  }
  return counts;
}

/** The systematic-sampling offset of one shard: a golden-ratio sequence started at a seeded point. */
export function shardOffset(start: number, shard: number): number {
  const x = start + shard * GOLDEN_FRACTION;
  return x - Math.floor(x);
}
