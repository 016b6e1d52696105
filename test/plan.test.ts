import { describe, expect, it } from 'vitest';
import {
  AFFECTNET_CLASSES,
  AU_IDS,
  AU_MAX_INTENSITY,
  apportion,
  createPlan,
  EMFACS_PROTOTYPES,
  type ExpressionClass,
  HEAD_POSE_LIMITS,
  PlanError,
  type PlanSpec,
  type SampleRequest,
  SampleRequestSchema,
} from '../plan';
import { resolveSpec } from '../spec';

function planSpec(overrides: Partial<PlanSpec> = {}): PlanSpec {
  return {
    runId: 'plan-test',
    seed: 1,
    targetSamples: 2500,
    shardSize: 1000,
    classes: AFFECTNET_CLASSES.map((name) => ({ name, weight: 1 })),
    filter: { maxRounds: 3 },
    ...overrides,
  };
}

function histogram(requests: readonly SampleRequest[]): number[] {
  const counts = AFFECTNET_CLASSES.map(() => 0);
  for (const r of requests) counts[r.classIndex]!++;
  return counts;
}

function planError(run: () => unknown): PlanError {
  try {
    run();
  } catch (e) {
    if (e instanceof PlanError) return e;
    throw e;
  }
  throw new Error('expected a PlanError');
}

describe('createPlan: shards', () => {
  it('splits 5x AffectNet into 1439 shards whose sizes sum to the target, the last one smaller', () => {
    const plan = createPlan(resolveSpec({ runId: 'big', target: '5x affectnet', output: 's3://abc' }));
    const shards = [...plan.shards()];
    expect(plan.shardCount).toBe(1439);
    expect(shards).toHaveLength(1439);
    expect(shards.reduce((sum, s) => sum + s.sampleCount, 0)).toBe(1_438_255);
    expect(shards[0]).toEqual({ index: 0, sampleCount: 1000, keyPrefix: '000000', name: 'shard-000000' });
    expect(shards[1438]).toEqual({
      index: 1438,
      sampleCount: 255,
      keyPrefix: '001438',
      name: 'shard-001438',
    });
  });

  it('plans each shard with exactly its sample count and keys <shard:06d>_<index:06d>', () => {
    const plan = createPlan(planSpec());
    const last = plan.planShard(2);
    expect(last).toHaveLength(500);
    expect(last.map((r) => r.key)).toEqual(last.map((_, i) => `000002_${String(i).padStart(6, '0')}`));
  });

  it('refuses shard indices outside the run', () => {
    const plan = createPlan(planSpec());
    expect(planError(() => plan.planShard(3)).field).toBe('shard');
    expect(planError(() => plan.planShard(-1)).field).toBe('shard');
    expect(planError(() => plan.shardSampleCount(1.5)).field).toBe('shard');
  });
});

describe('createPlan: determinism', () => {
  it('gives identical requests for the same inputs, from separate plans', () => {
    expect(createPlan(planSpec()).planShard(1)).toEqual(createPlan(planSpec()).planShard(1));
  });

  it('gives different requests for a different seed', () => {
    const a = createPlan(planSpec({ seed: 1 })).planShard(0);
    const b = createPlan(planSpec({ seed: 2 })).planShard(0);
    expect(a.map((r) => r.generatorSeed)).not.toEqual(b.map((r) => r.generatorSeed));
    expect(a.map((r) => r.className)).not.toEqual(b.map((r) => r.className));
    expect(a.map((r) => r.prompt)).not.toEqual(b.map((r) => r.prompt));
  });

  it('plans a shard alone exactly as after planning the others', () => {
    const warm = createPlan(planSpec());
    warm.planShard(0);
    warm.planShard(2);
    warm.planRound(0, 1, { count: 50 });
    expect(warm.planShard(1)).toEqual(createPlan(planSpec()).planShard(1));
  });

  it('plans one sample alone exactly as within its shard', () => {
    const plan = createPlan(planSpec());
    const shard = plan.planShard(1);
    for (const index of [0, 17, 999]) expect(plan.planSample(1, index)).toEqual(shard[index]);
  });

  it('does not depend on the run id (renaming a run keeps its data)', () => {
    expect(createPlan(planSpec({ runId: 'other' })).planShard(0)).toEqual(
      createPlan(planSpec()).planShard(0),
    );
  });

  it('produces plain JSON: a request survives a JSON round trip unchanged', () => {
    const requests = createPlan(planSpec()).planShard(0);
    expect(JSON.parse(JSON.stringify(requests))).toEqual(requests);
  });

  it('gives every sample of a shard its own generator seed', () => {
    const seeds = createPlan(planSpec())
      .planShard(0)
      .map((r) => r.generatorSeed);
    expect(new Set(seeds).size).toBe(seeds.length);
  });
});

describe('createPlan: stratified classes', () => {
  const configs: [string, Partial<Record<ExpressionClass, number>>, number, number][] = [
    ['8 equal classes', Object.fromEntries(AFFECTNET_CLASSES.map((c) => [c, 1])), 1000, 10_500],
    ['3 equal classes', { happy: 1, sad: 1, fear: 1 }, 1000, 20_333],
    ['skewed weights', { neutral: 5, happy: 3, contempt: 0.25, anger: 1.7 }, 997, 9_999],
    ['tiny shards', { happy: 2, sad: 1, surprise: 1 }, 7, 1_001],
    ['one class', { disgust: 1 }, 100, 950],
  ];

  it.each(configs)(
    '%s: every shard is within one sample of the weights and sums exactly',
    (_n, weights, shardSize, target) => {
      const classes = Object.entries(weights).map(([name, weight]) => ({
        name: name as ExpressionClass,
        weight: weight!,
      }));
      const plan = createPlan(planSpec({ classes, shardSize, targetSamples: target }));
      const total = classes.reduce((s, c) => s + c.weight, 0);
      for (const shard of plan.shards()) {
        const counts = histogram(plan.planShard(shard.index));
        expect(counts.reduce((a, b) => a + b, 0)).toBe(shard.sampleCount);
        AFFECTNET_CLASSES.forEach((name, c) => {
          const quota = ((weights[name] ?? 0) / total) * shard.sampleCount;
          expect(Math.abs(counts[c]! - quota)).toBeLessThan(1);
        });
        expect(Object.values(plan.classCounts(shard.index))).toEqual(counts);
      }
    },
  );

  it('keeps whole-run totals within a few samples of the weights, not one sample per shard', () => {
    // Plain largest remainder would give the same class the spare sample in all 1439 shards.
    const classes = (['happy', 'sad', 'fear'] as const).map((name) => ({ name, weight: 1 }));
    const plan = createPlan(planSpec({ classes, targetSamples: 1_438_255 }));
    const totals = AFFECTNET_CLASSES.map(() => 0);
    for (const shard of plan.shards()) {
      Object.values(plan.classCounts(shard.index)).forEach((n, c) => {
        totals[c]! += n;
      });
    }
    for (const c of [1, 2, 4]) expect(Math.abs(totals[c]! - 1_438_255 / 3)).toBeLessThanOrEqual(5);
  });

  it('shuffles the class order within a shard rather than grouping classes', () => {
    const classes = plan8()
      .planShard(0)
      .map((r) => r.classIndex);
    const runs = classes.filter((c, i) => i > 0 && c !== classes[i - 1]).length;
    expect(runs).toBeGreaterThan(700); // ~875 class changes expected for a random order of 8 classes
  });

  it('apportion gives floor or ceil of each quota and fills n exactly for any offset', () => {
    const weights = [0.3, 0, 2, 1.1, 0.7];
    for (const n of [1, 2, 13, 999]) {
      for (const offset of [0, 0.25, 0.5, 0.999999]) {
        const counts = apportion(weights, n, offset);
        expect(counts.reduce((a, b) => a + b, 0)).toBe(n);
        counts.forEach((k, c) => {
          const quota = (weights[c]! / 4.1) * n;
          expect(k === Math.floor(quota) || k === Math.ceil(quota)).toBe(true);
        });
        expect(counts[1]).toBe(0);
      }
    }
  });
});

function plan8() {
  return createPlan(planSpec());
}

describe('createPlan: AUs', () => {
  const requests = [0, 1, 2].flatMap((i) => plan8().planShard(i));

  it('gives every request a full AU vector with intensities in 0..5', () => {
    for (const r of requests) {
      expect(Object.keys(r.aus)).toEqual([...AU_IDS]);
      for (const v of Object.values(r.aus)) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(AU_MAX_INTENSITY);
      }
    }
  });

  it("sets every EMFACS prototype AU of the sample's class clearly (>= 2)", () => {
    for (const r of requests) {
      for (const au of EMFACS_PROTOTYPES[r.className]) expect(r.aus[au]).toBeGreaterThanOrEqual(2);
    }
  });

  it('keeps neutral faces at ~0 and AU43 small everywhere', () => {
    const neutral = requests.filter((r) => r.className === 'neutral');
    expect(neutral.length).toBeGreaterThan(100);
    for (const r of neutral) for (const v of Object.values(r.aus)) expect(v).toBeLessThanOrEqual(0.5);
    for (const r of requests) expect(r.aus.AU43).toBeLessThanOrEqual(0.8);
  });

  it('parts the lips whenever the jaw drops', () => {
    for (const r of requests) if (r.aus.AU26! > 0) expect(r.aus.AU25).toBeGreaterThanOrEqual(1);
  });

  it('adds natural companions: AU10 with some disgust, AU17 with some sad faces', () => {
    const share = (cls: ExpressionClass, au: 'AU10' | 'AU17') => {
      const of = requests.filter((r) => r.className === cls);
      return of.filter((r) => r.aus[au]! > 0).length / of.length;
    };
    expect(share('disgust', 'AU10')).toBeGreaterThan(0.4);
    expect(share('sad', 'AU17')).toBeGreaterThan(0.3);
    expect(share('surprise', 'AU10')).toBe(0);
  });

  it('makes contempt unilateral with one seeded side for AU12 and AU14, and no side elsewhere', () => {
    const sides = new Set<string>();
    for (const r of requests) {
      if (r.className === 'contempt') {
        expect(r.auSide.AU12).toBeDefined();
        expect(r.auSide.AU14).toBe(r.auSide.AU12);
        sides.add(r.auSide.AU12!);
      } else {
        expect(r.auSide).toEqual({});
      }
    }
    expect([...sides].sort()).toEqual(['left', 'right']);
  });
});

describe('createPlan: identities and prompts', () => {
  const requests = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((i) =>
    createPlan(planSpec({ targetSamples: 8000 })).planShard(i),
  );

  it('keeps head pose within |yaw| <= 15, |pitch| <= 10, |roll| <= 8 degrees', () => {
    for (const { identity } of requests) {
      expect(Math.abs(identity.headPose.yaw)).toBeLessThanOrEqual(HEAD_POSE_LIMITS.yaw);
      expect(Math.abs(identity.headPose.pitch)).toBeLessThanOrEqual(HEAD_POSE_LIMITS.pitch);
      expect(Math.abs(identity.headPose.roll)).toBeLessThanOrEqual(HEAD_POSE_LIMITS.roll);
    }
  });

  it('balances age band, gender presentation and skin tone across a run', () => {
    const balanced = (values: readonly unknown[], categories: number) => {
      const counts = new Map<unknown, number>();
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      expect(counts.size).toBe(categories);
      for (const n of counts.values())
        expect(Math.abs(n / values.length - 1 / categories)).toBeLessThan(0.2 / categories);
    };
    balanced(
      requests.map((r) => r.identity.ageBand),
      4,
    );
    balanced(
      requests.map((r) => r.identity.gender),
      3,
    );
    balanced(
      requests.map((r) => r.identity.skinTone),
      6,
    );
    balanced(
      requests.map((r) => r.identity.background),
      6,
    );
  });

  it('gives facial hair only to masculine or androgynous presentations', () => {
    for (const { identity } of requests)
      if (identity.gender === 'feminine') expect(identity.facialHair).toBe('none');
    expect(requests.some((r) => r.identity.facialHair === 'beard')).toBe(true);
  });

  it('describes identity, expression with its AUs, light and background in the prompt', () => {
    const happy = requests.find(
      (r) => r.className === 'happy' && r.identity.glasses && r.identity.gender === 'feminine',
    )!;
    expect(happy.prompt).toMatch(/^a photo of an? (young |middle-aged |elderly )?woman with /);
    expect(happy.prompt).toContain('wearing glasses');
    expect(happy.prompt).toContain('looking happy (cheeks raised, lip corners pulled up');
    expect(happy.prompt).toContain(`${happy.identity.eyeColor} eyes`);
    expect(happy.prompt).toMatch(/light (from the (front|left|right)|from above), .*(background|backdrop)$/);
    const contempt = requests.find((r) => r.className === 'contempt')!;
    expect(contempt.prompt).toContain(`looking contemptuous (${contempt.auSide.AU12} lip corner pulled up`);
    const neutral = requests.find((r) => r.className === 'neutral')!;
    expect(neutral.prompt).toContain('with a neutral, relaxed expression');
  });

  it('is accepted by SampleRequestSchema for every planned request', () => {
    for (const r of requests) expect(() => SampleRequestSchema.parse(r)).not.toThrow();
  });
});

describe('createPlan: deficit rounds', () => {
  it('plans exactly the per-class counts asked for, with keys after every earlier round', () => {
    const plan = plan8();
    const round1 = plan.planRound(0, 1, { classes: { happy: 5, contempt: 2 } });
    expect(histogram(round1)).toEqual([0, 5, 0, 0, 0, 0, 0, 2]);
    expect(round1.every((r) => r.round === 1 && r.index >= 1000)).toBe(true);
    const round2 = plan.planRound(0, 2, { count: 40 });
    const lastOfRound1 = 1000 + plan.roundCapacity(1) - 1;
    expect(round2.every((r) => r.index > lastOfRound1)).toBe(true);
    expect(histogram(round2)).toEqual(AFFECTNET_CLASSES.map(() => 5));
  });

  it('splits a count over the listed classes by their weights', () => {
    const classes = [
      { name: 'happy' as const, weight: 3 },
      { name: 'sad' as const, weight: 1 },
      { name: 'fear' as const, weight: 1 },
    ];
    const round = createPlan(planSpec({ classes })).planShard(1, 1, { count: 40, classes: ['happy', 'sad'] });
    expect(histogram(round)).toEqual([0, 30, 10, 0, 0, 0, 0, 0]);
  });

  it('draws fresh samples: deficit requests differ from round 0 yet repeat exactly when re-planned', () => {
    const plan = plan8();
    const round0 = plan.planShard(0);
    const round1 = plan.planShard(0, 1, { count: 100 });
    const seeds0 = new Set(round0.map((r) => r.generatorSeed));
    expect(round1.filter((r) => seeds0.has(r.generatorSeed))).toEqual([]);
    expect(plan8().planShard(0, 1, { count: 100 })).toEqual(round1);
  });

  it('never repeats a key across shards and rounds', () => {
    const plan = createPlan(planSpec({ shardSize: 50, targetSamples: 150 }));
    const keys: string[] = [];
    for (let shard = 0; shard < 3; shard++) {
      keys.push(...plan.planShard(shard).map((r) => r.key));
      for (let round = 1; round <= plan.maxRounds; round++) {
        const requests = plan.planRound(shard, round, { count: plan.roundCapacity(round) });
        expect(requests.every((r) => SampleRequestSchema.safeParse(r).success)).toBe(true);
        keys.push(...requests.map((r) => r.key));
      }
    }
    expect(keys).toHaveLength(3 * (50 + 3 * 200));
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('refuses requests it cannot plan, naming the argument', () => {
    const plan = plan8();
    expect(planError(() => plan.planShard(0, 0, { count: 5 })).field).toBe('round');
    expect(planError(() => plan.planShard(0, 1)).field).toBe('round');
    expect(planError(() => plan.planRound(0, 4, { count: 5 })).field).toBe('round');
    expect(planError(() => plan.planRound(0, 1, { count: 4001 })).field).toBe('count');
    expect(planError(() => plan.planRound(0, 1, {})).field).toBe('count');
    expect(planError(() => plan.planRound(0, 1, { count: 3, classes: { happy: 2 } })).field).toBe('count');
    const subset = createPlan(planSpec({ classes: [{ name: 'happy', weight: 1 }] }));
    expect(planError(() => subset.planRound(0, 1, { count: 3, classes: ['sad'] })).field).toBe('classes');
    expect(planError(() => subset.planRound(0, 1, { classes: { sad: 1 } })).field).toBe('classes');
  });
});
