import { createActivities } from '../activities';
import { runKeys } from '../run/layout';
import type { IndexEntry } from '../run/manifest';
import { type Spec, specToJson } from '../spec';
import type { StoreOptions } from '../storage';
import { inActivity } from '../test/support/in-activity';
import { createWorkerDeps } from '../workers/deps';

/**
 * The farm-overhead bench's baseline: a run done by a bare in-process loop that does exactly what
 * the farm does, minus Temporal. The same activities with the same worker dependencies (stores,
 * part cache, models), so every stage writes and reads what the farm's stages write and read:
 * spec, staged parts, labels, decisions, tar, sidecar, run index, manifest. The same parallelism:
 * `window` shards at a time, each through the shard workflow's rounds, one index writer.
 */
export function createBareFarm(s3: StoreOptions) {
  const deps = createWorkerDeps({ s3 });
  const acts = createActivities(deps);
  const run = <T>(fn: () => Promise<T>) => inActivity(fn);

  return async function bareRun(spec: Spec, window: number): Promise<void> {
    const store = deps.openStore(spec.output);
    await store.putIfAbsent(runKeys(spec.runId).spec, specToJson(spec), { contentType: 'application/json' });
    const ref = { outputUrl: spec.output, runId: spec.runId };
    const plan = await run(() => acts.describeRun(ref));
    const done = new Set(await run(() => acts.syncRunIndex(ref)));

    // One writer of the run index, batching what arrives while it writes (workflows/index-writer.ts).
    let queued: IndexEntry[] = [];
    let writing: Promise<void> = Promise.resolve();
    const record = (entry: IndexEntry) => {
      queued.push(entry);
      writing = writing.then(async () => {
        if (queued.length === 0) return;
        const batch = queued;
        queued = [];
        await run(() => acts.recordShards(ref, batch));
      });
    };

    const shardLoop = async (shard: number) => {
      const sref = { ...ref, shard };
      let classCounts: number[] | undefined;
      for (let round = 0; round <= plan.maxRounds; round++) {
        await run(() => acts.generate({ ...sref, round, classCounts }));
        await run(() => acts.calibrate({ ...sref, round, classCounts }));
        const outcome = await run(() => acts.filter({ ...sref, round, classCounts }));
        if (outcome.deficitByClass.reduce((a, b) => a + b, 0) === 0) break;
        classCounts = outcome.requestByClass ?? outcome.deficitByClass;
      }
      const { alreadyCommitted: _, ...entry } = await run(() => acts.commit(sref));
      record(entry);
    };

    const pending = Array.from({ length: plan.shardCount }, (_, i) => i).filter((s) => !done.has(s));
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(window, pending.length) }, async () => {
        while (next < pending.length) await shardLoop(pending[next++]!);
      }),
    );
    await writing;
    await run(() => acts.finishRun(ref));
  };
}
