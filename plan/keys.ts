/**
 * Sample keys are `<shard:06d>_<index:06d>` (see SampleRequestSchema), so shard and sample
 * indices must each fit in six digits.
 */
export const MAX_KEY_NUMBER = 999_999;
export const MAX_SHARDS = MAX_KEY_NUMBER + 1;

/**
 * Index layout inside a shard, fixed by the nominal shard size alone so any round of any shard
 * can be planned without knowing how many samples earlier rounds asked for:
 *   round 0: [0, sampleCount)                                     (sampleCount <= shardSize)
 *   round r >= 1: [shardSize * (1 + (r-1) * F), + shardSize * F)   with F = ROUND_CAPACITY_FACTOR
 * Every round's indices start after all earlier rounds' indices, so keys never collide, and a
 * deficit round may ask for up to F x shardSize samples (over-generating for a low acceptance rate).
 */
export const ROUND_CAPACITY_FACTOR = 4;

export function roundCapacity(shardSize: number, round: number): number {
  return round === 0 ? shardSize : shardSize * ROUND_CAPACITY_FACTOR;
}

export function roundIndexBase(shardSize: number, round: number): number {
  return round === 0 ? 0 : shardSize * (1 + (round - 1) * ROUND_CAPACITY_FACTOR);
}

/** One past the highest sample index a shard can use with `maxRounds` deficit rounds. */
export function indexSpan(shardSize: number, maxRounds: number): number {
  return roundIndexBase(shardSize, maxRounds + 1);
}

/** Largest shard size whose every round fits in six-digit sample indices. */
export function maxShardSize(maxRounds: number): number {
  return Math.floor((MAX_KEY_NUMBER + 1) / (1 + maxRounds * ROUND_CAPACITY_FACTOR));
}

export function pad6(n: number): string {
  return String(n).padStart(6, '0');
}

export function sampleKey(shard: number, index: number): string {
  return `${pad6(shard)}_${pad6(index)}`;
}

/** `shard-000123`: the basename of a shard's tar and sidecar. */
export function shardName(shard: number): string {
  return `shard-${pad6(shard)}`;
}
