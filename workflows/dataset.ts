import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  continueAsNew,
  isCancellation,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { RunRef } from '../activities/types';
import {
  type DatasetResult,
  type DatasetWorkflowInput,
  type Progress,
  pauseSignal,
  progressQuery,
  type ShardWorkflowResult,
  setWindowSignal,
  shardWorkflowId,
  unpauseSignal,
} from './api';
import { initialState, nextInput } from './handover';
import { IndexWriter } from './index-writer';
import { addCounts, progressOf } from './progress';
import { shardWorkflow } from './shard';
import { BATCH_STARTS_PATCH, ShardWindow, startOrUndefined } from './window';

export type { CarriedState, DatasetResult, DatasetWorkflowInput, Progress } from './api';
export { pauseSignal, progressQuery, setWindowSignal, shardWorkflowId, unpauseSignal } from './api';

/**
 * A whole run: reconciles the run index with storage (so a resume or a continue-as-new only
 * runs what is missing), then keeps `window` shard workflows in flight — a sliding window, not
 * fixed batches. Each child's result is handed to the index writer, the run index's only
 * writer; at the end the run is finished (report, `_SUCCESS`) when the index is complete.
 *
 * Before history grows large it stops starting children, lets the in-flight ones finish and
 * their entries be written, and continues as new: nothing is in flight across the hand-over,
 * so no shard can be lost or started twice.
 */
export async function datasetWorkflow(input: DatasetWorkflowInput): Promise<DatasetResult> {
  const ref: RunRef = { outputUrl: input.outputUrl, runId: input.runId };
  const cpu = proxyActivities<Activities>({
    taskQueue: input.queues.cpu,
    startToCloseTimeout: '5m',
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const state = initialState(input, Date.now());
  let phase: Progress['state'] = 'running';
  let described: { shardCount: number; targetSamples: number } | undefined;
  let committedAtStart = 0;
  let window: ShardWindow | undefined;

  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(unpauseSignal, () => {
    state.paused = false;
  });
  setHandler(setWindowSignal, (size: number) => {
    if (Number.isInteger(size) && size >= 1) state.window = size;
  });
  // Registered before the first activity so a status call never finds no handler.
  setHandler(progressQuery, () =>
    progressOf({
      runId: input.runId,
      described,
      state,
      committedAtStart,
      running: window?.running ?? 0,
      pending: window?.remaining ?? 0,
      phase,
      nowMs: Date.now(),
      historyLength: workflowInfo().historyLength,
    }),
  );

  const plan = await cpu.describeRun(ref);
  const committedBefore = await cpu.syncRunIndex(ref);
  described = plan;
  committedAtStart = committedBefore.length - state.shardsCommitted;
  const done = new Set(committedBefore);
  const failedShards = new Set(state.failed.map((f) => f.shard));
  const pending: number[] = [];
  for (let s = 0; s < plan.shardCount; s++) if (!done.has(s) && !failedShards.has(s)) pending.push(s);

  const index = new IndexWriter((entries) => cpu.recordShards(ref, entries));
  const onShardDone = (result: ShardWorkflowResult) => {
    // A child runs only for a shard missing when this run listed them, so even an
    // `alreadyCommitted` result (a commit retried after its sidecar was written) is new here.
    state.shardsCommitted++;
    state.samplesCommitted += result.samples;
    state.shortfall += result.shortfall;
    addCounts(state.rejectsByReason, result.rejectsByReason);
    const { alreadyCommitted: _, rounds: __, ...entry } = result;
    index.add(entry);
  };
  window = new ShardWindow(
    input.runId,
    pending,
    state,
    {
      start: (shard) =>
        startOrUndefined(() =>
          startChild(shardWorkflow, {
            workflowId: shardWorkflowId(input.runId, shard),
            taskQueue: input.queues.workflows,
            args: [
              { ...ref, shard, queues: input.queues, maxRounds: plan.maxRounds, timeouts: input.timeouts },
            ],
            cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
            parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          }),
        ),
      done: onShardDone,
    },
    patched(BATCH_STARTS_PATCH),
  );

  let draining = false;
  try {
    while (window.remaining > 0 && (await window.slot())) {
      if (workflowInfo().continueAsNewSuggested) {
        draining = true;
        phase = 'draining';
        break;
      }
      await window.startNext();
    }
    await window.drained();
  } catch (err) {
    if (isCancellation(err)) {
      // Let every child observe the cancellation and stop its activities before we close.
      const w = window;
      await CancellationScope.nonCancellable(() => w.drained());
    }
    throw err;
  }
  await index.flushed();

  if (window.badInput !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `run ${input.runId} stopped on bad input: ${window.badInput}`,
      'InvalidInput',
    );
  }
  if (draining) await continueAsNew<typeof datasetWorkflow>(nextInput(input, state));

  phase = 'finishing';
  const finished = await cpu.finishRun(ref);
  if (state.failed.length > 0) {
    const list = state.failed.map((f) => `${f.shard}: ${f.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(
      `${state.failed.length} of ${plan.shardCount} shards failed (${list}); fix the cause, then run: synfarm resume ${input.runId}`,
      'ShardsFailed',
    );
  }
  if (!finished.complete) {
    throw ApplicationFailure.nonRetryable(
      `${plan.shardCount - finished.shards} of ${plan.shardCount} shards are not committed although none failed; run: synfarm resume ${input.runId}`,
      'ShardsMissing',
    );
  }
  return {
    runId: input.runId,
    shards: finished.shards,
    samples: finished.samples,
    shortfall: state.shortfall,
    rejectsByReason: state.rejectsByReason,
    continuedAsNew: state.continuedAsNew,
  };
}
