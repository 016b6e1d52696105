import { failFastOnBadInput } from './failures';
import type { RunContext } from './run-context';
import type { RunPlanSummary, RunRef } from './types';

/**
 * The run's shape for the dataset workflow, and its input check: a missing or invalid
 * spec.json fails here, once, non-retryably, before any shard starts.
 */
export function createDescribeRun(runContext: (r: RunRef) => Promise<RunContext>) {
  return async function describeRun(ref: RunRef): Promise<RunPlanSummary> {
    return failFastOnBadInput(async () => {
      const { spec } = await runContext(ref);
      return {
        runId: spec.runId,
        shardCount: spec.shardCount,
        targetSamples: spec.targetSamples,
        maxRounds: spec.filter.maxRounds,
      };
    });
  };
}
