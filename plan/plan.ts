import { apportion, shardOffset } from './apportion';
import { planAus } from './aus';
import { PlanError } from './errors';
import { AFFECTNET_CLASSES, AU_IDS, type ExpressionClass } from './expressions';
import { planIdentity } from './identity';
import { MAX_KEY_NUMBER, pad6, roundCapacity, roundIndexBase, sampleKey, shardName } from './keys';
import { buildPrompt } from './prompt';
import { keyedRng, Rng, SHARD_LEVEL, sampleHash, streamHash, streamId } from './random';
import type { SampleRequest } from './request';

/**
 * What planning needs from a resolved spec (a full `Spec` fits). Kept to these fields so the
 * plan is importable anywhere, including Temporal workflow code, without the spec parser.
 */
export interface PlanSpec {
  runId: string;
  seed: number;
  targetSamples: number;
  shardSize: number;
  classes: readonly { name: ExpressionClass; weight: number }[];
  filter?: { maxRounds: number };
}

export interface ShardDescriptor {
  index: number;
  sampleCount: number;
  /** The `<shard:06d>` part every sample key of this shard starts with. */
  keyPrefix: string;
  /** `shard-000123`: basename of the shard's tar and sidecar. */
  name: string;
}

/**
 * A deficit round's order: `count` samples split over `classes` by the spec's weights, or, when
 * `classes` maps class -> count, exactly those counts (then `count`, if given, must equal their sum).
 */
export interface RoundRequest {
  count?: number;
  classes?: readonly ExpressionClass[] | Partial<Record<ExpressionClass, number>>;
}

export interface Plan {
  readonly runId: string;
  readonly seed: number;
  readonly targetSamples: number;
  /** Nominal samples per shard; only the last shard may hold fewer. */
  readonly shardSize: number;
  readonly shardCount: number;
  /** Deficit rounds allowed after round 0. */
  readonly maxRounds: number;
  /** Samples in shard `shard`'s round 0. */
  shardSampleCount(shard: number): number;
  shard(shard: number): ShardDescriptor;
  /** Every shard's descriptor, lazily, with no per-sample work. */
  shards(): IterableIterator<ShardDescriptor>;
  /** Round-0 samples per class of a shard (AffectNet order), without planning the samples. */
  classCounts(shard: number): Record<ExpressionClass, number>;
  /** Most samples a round may request; round r >= 1 indices are [roundIndexBase(r), + this). */
  roundCapacity(round: number): number;
  roundIndexBase(round: number): number;
  /**
   * The requests of a shard's round: round 0 is the planned shard (no `request`); rounds >= 1 are
   * deficit rounds and need one. Each call recomputes from scratch: equal arguments, equal output.
   */
  planShard(shard: number, round?: number, request?: RoundRequest): SampleRequest[];
  planRound(shard: number, round: number, request: RoundRequest): SampleRequest[];
  /** One round-0 sample, e.g. for `inspect`; costs one shard's class shuffle. */
  planSample(shard: number, index: number): SampleRequest;
}

function checkInteger(value: number, field: string, min: number, max: number, what: string): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new PlanError(field, `${field} must be an integer from ${min} to ${max} (${what}); got ${value}`);
  }
}

/** Fisher-Yates over the class index of every sample, seeded per (shard, round). */
function classOrder(counts: readonly number[], seed: number, shard: number, round: number): Uint8Array {
  let total = 0;
  for (const n of counts) total += n;
  const order = new Uint8Array(total);
  let at = 0;
  counts.forEach((n, c) => {
    order.fill(c, at, at + n);
    at += n;
  });
  const rng = keyedRng({ seed, shard, index: SHARD_LEVEL, round, stream: 'class-order' });
  for (let i = total - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

const IDENTITY_STREAM = streamId('identity');
const AUS_STREAM = streamId('aus');
const GENERATOR_STREAM = streamId('generator');
/** The AU vector of the sample being planned, reused: planning is synchronous. */
const auValues = new Float64Array(AU_IDS.length);

/** One sample; the per-sample part of its keyed hashes is computed once for its three streams. */
function planOne(
  seed: number,
  shard: number,
  index: number,
  round: number,
  classIndex: number,
): SampleRequest {
  const className = AFFECTNET_CLASSES[classIndex]!;
  const sample = sampleHash(seed, shard, index, round);
  const identity = planIdentity(new Rng(streamHash(sample, IDENTITY_STREAM)));
  const { aus, auSide } = planAus(className, new Rng(streamHash(sample, AUS_STREAM)), auValues);
  return {
    key: sampleKey(shard, index),
    shard,
    index,
    round,
    classIndex,
    className,
    aus,
    auSide,
    identity,
    prompt: buildPrompt(className, identity, auValues, auSide),
    generatorSeed: new Rng(streamHash(sample, GENERATOR_STREAM)).uint32(),
  };
}

/**
 * The deterministic, lazy plan of a run: shard i's samples are a pure function of (seed, i, round)
 * and the spec's sizes and weights, so any shard can be planned alone, in any order, any time.
 */
export function createPlan(spec: PlanSpec): Plan {
  const { runId, seed, targetSamples, shardSize } = spec;
  const shardCount = Math.ceil(targetSamples / shardSize);
  const maxRounds = spec.filter?.maxRounds ?? 3;
  // Weights in AffectNet order, 0 for classes outside the spec's set.
  const weights = AFFECTNET_CLASSES.map((name) => spec.classes.find((c) => c.name === name)?.weight ?? 0);
  const offsetStart = keyedRng({
    seed,
    shard: SHARD_LEVEL,
    index: SHARD_LEVEL,
    round: 0,
    stream: 'class-offset',
  }).float();

  const checkShard = (shard: number) =>
    checkInteger(shard, 'shard', 0, shardCount - 1, `this run has ${shardCount} shards`);
  const shardSampleCount = (shard: number) => {
    checkShard(shard);
    return shard === shardCount - 1 ? targetSamples - shardSize * (shardCount - 1) : shardSize;
  };
  const describe = (index: number): ShardDescriptor => ({
    index,
    sampleCount: shardSampleCount(index),
    keyPrefix: pad6(index),
    name: shardName(index),
  });
  const roundZeroCounts = (shard: number) =>
    apportion(weights, shardSampleCount(shard), shardOffset(offsetStart, shard));

  function roundCounts(shard: number, round: number, request: RoundRequest): number[] {
    const { count, classes } = request;
    let counts: number[];
    if (classes !== undefined && !Array.isArray(classes)) {
      const exact = classes as Partial<Record<ExpressionClass, number>>;
      counts = AFFECTNET_CLASSES.map((name) => exact[name] ?? 0);
      for (const [name, n] of Object.entries(exact)) {
        const c = AFFECTNET_CLASSES.indexOf(name as ExpressionClass);
        if (c < 0 || weights[c] === 0) {
          throw new PlanError('classes', `class "${name}" is not in this run's class set`);
        }
        checkInteger(n ?? 0, `classes.${name}`, 0, MAX_KEY_NUMBER, 'a sample count');
      }
      const sum = counts.reduce((a, b) => a + b, 0);
      if (count !== undefined && count !== sum) {
        throw new PlanError('count', `count ${count} differs from the sum of the per-class counts (${sum})`);
      }
    } else {
      if (count === undefined)
        throw new PlanError('count', `round ${round} needs a count of samples to plan`);
      checkInteger(count, 'count', 0, MAX_KEY_NUMBER, 'samples to plan');
      let roundWeights = weights;
      if (classes !== undefined) {
        const chosen = classes as readonly ExpressionClass[];
        for (const name of chosen) {
          const c = AFFECTNET_CLASSES.indexOf(name);
          if (c < 0 || weights[c] === 0)
            throw new PlanError('classes', `class "${name}" is not in this run's class set`);
        }
        if (chosen.length === 0) throw new PlanError('classes', 'classes must name at least one class');
        roundWeights = weights.map((w, c) => (chosen.includes(AFFECTNET_CLASSES[c]!) ? w : 0));
      }
      const offset = keyedRng({ seed, shard, index: SHARD_LEVEL, round, stream: 'class-offset' }).float();
      counts = apportion(roundWeights, count, offset);
    }
    const total = counts.reduce((a, b) => a + b, 0);
    const capacity = roundCapacity(shardSize, round);
    if (total > capacity) {
      throw new PlanError(
        'count',
        `round ${round} may plan at most ${capacity} samples per shard; asked for ${total}`,
      );
    }
    return counts;
  }

  function planRound(shard: number, round: number, request?: RoundRequest): SampleRequest[] {
    checkShard(shard);
    checkInteger(
      round,
      'round',
      0,
      maxRounds,
      `0 = the planned shard, then up to filter.maxRounds deficit rounds`,
    );
    if (round === 0 && request !== undefined) {
      throw new PlanError(
        'round',
        'round 0 is the planned shard; a request (count, classes) is for rounds >= 1',
      );
    }
    if (round > 0 && request === undefined) {
      throw new PlanError('round', `deficit round ${round} needs a request ({ count, classes })`);
    }
    const counts = round === 0 ? roundZeroCounts(shard) : roundCounts(shard, round, request!);
    const order = classOrder(counts, seed, shard, round);
    const base = roundIndexBase(shardSize, round);
    const requests = new Array<SampleRequest>(order.length);
    for (let i = 0; i < order.length; i++) requests[i] = planOne(seed, shard, base + i, round, order[i]!);
    return requests;
  }

  return {
    runId,
    seed,
    targetSamples,
    shardSize,
    shardCount,
    maxRounds,
    shardSampleCount,
    shard: describe,
    *shards() {
      for (let i = 0; i < shardCount; i++) yield describe(i);
    },
    classCounts(shard) {
      const counts = roundZeroCounts(shard);
      return Object.fromEntries(AFFECTNET_CLASSES.map((name, c) => [name, counts[c]!])) as Record<
        ExpressionClass,
        number
      >;
    },
    roundCapacity: (round) => roundCapacity(shardSize, round),
    roundIndexBase: (round) => roundIndexBase(shardSize, round),
    planShard: (shard, round = 0, request) => planRound(shard, round, request),
    planRound,
    planSample(shard, index) {
      checkInteger(index, 'index', 0, shardSampleCount(shard) - 1, `shard ${shard}'s round-0 sample indices`);
      const order = classOrder(roundZeroCounts(shard), seed, shard, 0);
      return planOne(seed, shard, index, 0, order[index]!);
    },
  };
}
