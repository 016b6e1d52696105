import { AFFECTNET_CLASSES, type ExpressionClass } from '../plan/expressions';
import { createPlan, type Plan } from '../plan/plan';
import type { SampleRequest } from '../plan/request';
import type { runKeys } from '../run/layout';
import { RunObjects } from '../run/objects';
import type { Spec } from '../spec';
import type { ObjectStore } from '../storage/object-store';
import type { ActivityDeps } from './deps';
import type { RunRef } from './types';

export interface RunContext {
  spec: Spec;
  plan: Plan;
  store: ObjectStore;
  /** Every read and write of the run's objects goes through here. */
  objects: RunObjects;
  keys: ReturnType<typeof runKeys>;
  /** Round-0 samples per class index (AffectNet order) of a shard: the counts commit must fill. */
  shardClassCounts(shard: number): number[];
  /** Round 0 as planned, or a deficit round for the given per-class-index counts. */
  planRound(shard: number, round: number, classCounts?: readonly number[]): SampleRequest[];
}

function contextFor(spec: Spec, objects: RunObjects): RunContext {
  const plan = createPlan(spec);
  return {
    spec,
    plan,
    store: objects.store,
    objects,
    keys: objects.keys,
    shardClassCounts: (shard) => {
      const counts = plan.classCounts(shard);
      return AFFECTNET_CLASSES.map((name) => counts[name] ?? 0);
    },
    planRound: (shard, round, classCounts) => {
      if (round === 0) return plan.planShard(shard, 0);
      const classes: Partial<Record<ExpressionClass, number>> = {};
      (classCounts ?? []).forEach((n, i) => {
        if (n > 0) classes[AFFECTNET_CLASSES[i]!] = n;
      });
      if (Object.keys(classes).length === 0) return [];
      return plan.planRound(shard, round, { classes });
    },
  };
}

/**
 * spec.json is written once at launch and never changes, so a worker reads it once per run
 * and keeps the resolved spec and plan for every later task of that run.
 */
export function createRunContexts(deps: ActivityDeps) {
  const cache = new Map<string, Promise<RunContext>>();
  return (ref: RunRef): Promise<RunContext> => {
    const id = `${ref.outputUrl}|${ref.runId}`;
    let ctx = cache.get(id);
    if (!ctx) {
      ctx = (async () => {
        const objects = new RunObjects(deps.openStore(ref.outputUrl), ref.runId);
        return contextFor(await objects.spec(), objects);
      })();
      ctx.catch(() => cache.delete(id));
      cache.set(id, ctx);
    }
    return ctx;
  };
}
