import { writeRunReports } from '../report';
import { failFastOnBadInput } from './failures';
import { listCommitted, refreshManifest } from './manifest';
import type { RunContext } from './run-context';
import type { RunPlanSummary, RunRef } from './types';

/**
 * Run-level steps of the dataset workflow. `describeRun` is also the run's input check: a
 * missing or invalid spec.json fails here, once, non-retryably, before any shard starts.
 */
export function createRunActivities(runContext: (r: RunRef) => Promise<RunContext>) {
  return {
    async describeRun(ref: RunRef): Promise<RunPlanSummary> {
      return failFastOnBadInput(async () => {
        const { spec } = await runContext(ref);
        return {
          runId: spec.runId,
          shardCount: spec.shardCount,
          targetSamples: spec.targetSamples,
          maxRounds: spec.filter.maxRounds,
        };
      });
    },

    async listCommittedShards(ref: RunRef): Promise<number[]> {
      return failFastOnBadInput(async () => {
        const ctx = await runContext(ref);
        return (await listCommitted(ctx)).map((s) => s.shard).sort((a, b) => a - b);
      });
    },

    /** Final manifest; `_SUCCESS` only when every planned shard is committed. */
    async writeManifest(ref: RunRef): Promise<{ shards: number; samples: number; complete: boolean }> {
      return failFastOnBadInput(async () => {
        const ctx = await runContext(ref);
        const manifest = await refreshManifest(ctx, { final: true });
        const complete = manifest.state === 'complete';
        if (complete) {
          // Every shard committed: nothing under staging is needed any more. A stage attempt that
          // timed out but kept running may have written a part after its shard's commit.
          await ctx.store.deletePrefix(ctx.keys.stagingPrefix);
          await writeRunReports(ctx.store, ref.runId, { html: true });
          await ctx.store.put(
            ctx.keys.success,
            `${JSON.stringify({ runId: ref.runId, shards: manifest.totals.shards, samples: manifest.totals.samples })}\n`,
          );
        }
        return { shards: manifest.totals.shards, samples: manifest.totals.samples, complete };
      });
    },
  };
}
