import { ActivityCancellationType, log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { ShardRef } from '../activities/types';
import type { ShardWorkflowInput, ShardWorkflowResult } from './api';

export type { ShardWorkflowInput, ShardWorkflowResult } from './api';

/** Bad input fails at once: retrying a missing model file or an invalid spec cannot help. */
const NON_RETRYABLE = ['InvalidInput'];

function stageActivities(input: ShardWorkflowInput) {
  const retry = {
    initialInterval: '1s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 8,
    nonRetryableErrorTypes: NON_RETRYABLE,
  };
  const heartbeatTimeout = `${input.timeouts.heartbeatSeconds}s`;
  // Wait for a cancelled stage to stop (at its next checkpoint) before the shard closes, so a
  // resumed run never races a stage of the cancelled one still writing to staging.
  const cancellationType = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED;
  const startToCloseTimeout = `${input.timeouts.stageStartToCloseSeconds}s`;
  const gpu = proxyActivities<Activities>({
    taskQueue: input.queues.gpu,
    startToCloseTimeout,
    heartbeatTimeout,
    cancellationType,
    retry,
  });
  const cpu = proxyActivities<Activities>({
    taskQueue: input.queues.cpu,
    startToCloseTimeout,
    heartbeatTimeout,
    cancellationType,
    retry,
  });
  return { generate: gpu.generate, calibrate: gpu.calibrate, filter: cpu.filter, commit: cpu.commit };
}

/**
 * One shard: generate -> calibrate -> filter, repeated for the deficit while the filter keeps
 * fewer than planned (bounded by `maxRounds`), then commit. Every stage is idempotent and
 * resumes from what it finds in storage, so a replay, a retry or a re-run of this workflow
 * after a crash never duplicates or loses a sample. Only counts travel through history.
 */
export async function shardWorkflow(input: ShardWorkflowInput): Promise<ShardWorkflowResult> {
  const { generate, calibrate, filter, commit } = stageActivities(input);
  const ref: ShardRef = { outputUrl: input.outputUrl, runId: input.runId, shard: input.shard };
  let classCounts: number[] | undefined;
  let round = 0;
  for (; round <= input.maxRounds; round++) {
    await generate({ ...ref, round, classCounts });
    await calibrate({ ...ref, round, classCounts });
    const outcome = await filter({ ...ref, round, classCounts });
    const missing = outcome.deficitByClass.reduce((a, b) => a + b, 0);
    if (missing === 0) break;
    if (round < input.maxRounds) {
      log.info('shard short after filter; planning another round', { shard: input.shard, round, missing });
    }
    classCounts = outcome.requestByClass ?? outcome.deficitByClass;
  }
  // A shard still short after the last round commits what it has; the sidecar records the
  // shortfall so it is visible in status and the manifest rather than hidden.
  const result = await commit(ref);
  return { ...result, rounds: Math.min(round, input.maxRounds) + 1 };
}
