import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPlan, type SampleRequest } from '../plan';
import { resolveSpec } from '../spec';

/**
 * Planned samples are part of the run's identity (guarantee 2): a resumed run re-plans its shards
 * and must get the very bytes an undisturbed run wrote. These digests were taken from the planner
 * before it was optimised; any change to a planned sample, its key order or a number's rounding
 * changes them. Change them only with a deliberate, documented break of every existing run.
 *
 * Break 1 (issue 13): disgust's prototype became AU9+AU10 (was AU9+AU15+AU16, now companions),
 * so disgust samples plan differently; every other class's samples are unchanged.
 */
const SMALL_PLAN_SHA256 = 'b63e0156d01fa603207c4ad35f14567d86e46551046e735ff8ba2290a811d145';
const FIVE_X_SPOT_SHA256 = '1749f681f4547278dbca904e9d9d524fae7bcca9b108bccedd823e120bdc076e';

const sha256 = (parts: Iterable<unknown>) => {
  const h = createHash('sha256');
  for (const p of parts) h.update(JSON.stringify(p));
  return h.digest('hex');
};

function* smallPlan(): Generator<SampleRequest[]> {
  const plan = createPlan(
    resolveSpec({ runId: 'golden', seed: 7, target: 1000, shardSize: 96, output: 'file:///tmp/x' }),
  );
  for (let s = 0; s < plan.shardCount; s++) {
    yield plan.planShard(s);
    yield plan.planShard(s, 1, { count: 40 });
    yield plan.planShard(s, 2, { classes: { contempt: 5, happy: 3 } });
    yield plan.planShard(s, 3, { count: 30, classes: ['fear', 'neutral'] });
  }
}

describe('planned samples stay byte-identical', () => {
  it('every round of every shard of a small spec hashes to the recorded digest', () => {
    expect(sha256(smallPlan())).toBe(SMALL_PLAN_SHA256);
  });

  it('spot checks at 5x AffectNet (first, middle, last shards, one sample) hash to the recorded digest', () => {
    const plan = createPlan(resolveSpec({ runId: 'big', target: '5x affectnet', output: 'file:///tmp/x' }));
    const parts: unknown[] = [0, 1, 700, 1437, 1438].map((s) => plan.planShard(s));
    parts.push(plan.planSample(1000, 17));
    expect(sha256(parts)).toBe(FIVE_X_SPOT_SHA256);
  });

  it('no planned number is a signed zero (JSON would hide it, deep equality would not)', () => {
    for (const round of smallPlan()) {
      for (const r of round) {
        const numbers = [...Object.values(r.aus), ...Object.values(r.identity.headPose)];
        expect(numbers.some((n) => Object.is(n, -0))).toBe(false);
      }
    }
  });
});
