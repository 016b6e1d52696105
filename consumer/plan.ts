import { ConsumerOptionError, ShardChangedError } from './errors';
import type { CommittedShard } from './run';
import { hashWords, permutation, STREAM } from './shuffle';

/** Where one reader sits among all readers of an epoch. */
export interface Topology {
  rank: number;
  worldSize: number;
  worker: number;
  numWorkers: number;
}

export interface EpochPlanOptions extends Topology {
  seed: number;
  epoch: number;
  /** Shuffle the shard order (by seed and epoch); false keeps shard index order. */
  shuffle: boolean;
  /**
   * Samples are split at sample level, so every rank gets the same count: `pad` (default) gives each
   * rank ceil(N / worldSize) by repeating samples from the start of the epoch's order; `drop` gives
   * floor(N / worldSize) and leaves out the last N mod worldSize samples of that order.
   */
  remainder: 'drop' | 'pad';
}

/** Samples [from, to) of a shard, counted by their order in its tar (not by key number). */
export interface Segment {
  shard: CommittedShard;
  from: number;
  to: number;
  /** Reader stream position of the segment's first sample. */
  position: number;
}

/**
 * One reader's share of an epoch. The epoch's global order is the (shuffled) shard order, then each
 * shard's samples in tar order; rank r takes the contiguous slice [r * perRank, (r + 1) * perRank)
 * of it (wrapping past the end when padding), and worker w of the rank a contiguous part of that.
 * Contiguous slices keep each reader on few shards, so it streams only the shards it needs.
 */
export interface EpochPlan {
  /** Samples committed in the epoch's shards. */
  total: number;
  /** Samples every rank reads this epoch. */
  perRank: number;
  /** Samples this (rank, worker) reads: its stream positions are [0, length). */
  length: number;
  /** First global position of this reader (before wrapping). */
  start: number;
  /** The epoch's shards in reading order. */
  order: CommittedShard[];
  /** The segments covering this reader's positions [from, to). */
  segments(from?: number, to?: number): Segment[];
}

export function validateTopology(t: Topology): void {
  const check = (field: string, value: number, min: number, max: number) => {
    if (!Number.isInteger(value) || value < min || value > max)
      throw new ConsumerOptionError(field, `must be an integer from ${min} to ${max}, got ${value}`);
  };
  check('worldSize', t.worldSize, 1, 1_000_000);
  check('rank', t.rank, 0, t.worldSize - 1);
  check('numWorkers', t.numWorkers, 1, 10_000);
  check('worker', t.worker, 0, t.numWorkers - 1);
}

export function planEpoch(shards: readonly CommittedShard[], options: EpochPlanOptions): EpochPlan {
  validateTopology(options);
  const sorted = [...shards].sort((a, b) => a.shard - b.shard);
  const order = options.shuffle
    ? permutation(sorted.length, hashWords(options.seed, options.epoch, STREAM.shards)).map(
        (i) => sorted[i] as CommittedShard,
      )
    : sorted;
  const starts: number[] = [];
  let total = 0;
  for (const shard of order) {
    starts.push(total);
    total += shard.samples;
  }
  const { worldSize, rank, numWorkers, worker } = options;
  const perRank = options.remainder === 'pad' ? Math.ceil(total / worldSize) : Math.floor(total / worldSize);
  const workerFrom = Math.floor((worker * perRank) / numWorkers);
  const workerTo = Math.floor(((worker + 1) * perRank) / numWorkers);
  const start = rank * perRank + workerFrom;
  const length = workerTo - workerFrom;

  /** Index of the shard holding global position g (0 <= g < total), skipping empty shards. */
  const shardAt = (g: number): number => {
    let lo = 0;
    let hi = order.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] as number) <= g) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };

  const segments = (from = 0, to = length): Segment[] => {
    const out: Segment[] = [];
    let p = Math.max(0, from);
    const end = Math.min(to, length);
    while (p < end) {
      const g = (start + p) % total;
      const i = shardAt(g);
      const shard = order[i] as CommittedShard;
      const shardStart = starts[i] as number;
      const take = Math.min(end - p, shardStart + shard.samples - g);
      out.push({ shard, from: g - shardStart, to: g - shardStart + take, position: p });
      p += take;
    }
    return out;
  };
  return { total, perRank, length, start, order, segments };
}

/** `0-3,7,9-10`: the shard set an epoch was planned over, small enough for a resume state. */
export function encodeShardSet(shards: readonly number[]): string {
  const sorted = [...new Set(shards)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] as number) + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export function decodeShardSet(text: string): number[] {
  if (text === '') return [];
  return text.split(',').flatMap((part) => {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ConsumerOptionError('resume.shards', `"${part}" is not a shard index or range`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    return Array.from({ length: b - a + 1 }, (_, k) => a + k);
  });
}

/** The committed shards named by a saved shard set; all must still be committed. */
export function selectShards(shards: readonly CommittedShard[], set: string): CommittedShard[] {
  const byIndex = new Map(shards.map((s) => [s.shard, s]));
  return decodeShardSet(set).map((index) => {
    const shard = byIndex.get(index);
    if (!shard) throw new ShardChangedError(index, 'is in the saved state but is no longer committed');
    return shard;
  });
}
