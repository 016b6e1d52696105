import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import {
  ApplicationFailure,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  sleep,
  startChild,
  workflowInfo,
} from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { RunRef, StageTimeouts } from '../activities/types';
import { type ShardWorkflowResult, shardWorkflow } from './shard';
import type { TaskQueues } from './task-queues';

type Activities = ReturnType<typeof createActivities>;

// ---------------------------------------------------------------- types

export interface DatasetWorkflowInput extends RunRef {
  queues: TaskQueues;
  /** How many shard workflows run at once; adjustable while running. */
  window: number;
  timeouts: StageTimeouts;
  /** Hand-over from the previous run of this execution chain (continue-as-new). */
  carried?: CarriedState;
}

export interface CarriedState {
  startedAtMs: number;
  window: number;
  paused: boolean;
  failed: Array<{ shard: number; message: string }>;
  /** Samples and shards committed by earlier runs of this chain (for rate and totals). */
  samplesCommitted: number;
  shardsCommitted: number;
  shortfall: number;
  rejectsByReason: Record<string, number>;
  continuedAsNew: number;
}

export interface Progress {
  runId: string;
  state: 'starting' | 'running' | 'paused' | 'draining' | 'finishing';
  shards: { planned: number; committed: number; running: number; failed: number; pending: number };
  samples: { planned: number; committed: number; shortfall: number };
  rejectsByReason: Record<string, number>;
  window: number;
  /** Samples committed per second since the run started. */
  rate: number;
  etaSeconds: number | null;
  failed: Array<{ shard: number; message: string }>;
  continuedAsNew: number;
  historyLength: number;
}

export interface DatasetResult {
  runId: string;
  shards: number;
  samples: number;
  shortfall: number;
  rejectsByReason: Record<string, number>;
  continuedAsNew: number;
}

// ---------------------------------------------------------------- signals and queries

export const progressQuery = defineQuery<Progress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
export const setWindowSignal = defineSignal<[number]>('setWindow');

// ---------------------------------------------------------------- helpers

/** Starts of one shard refused because an earlier execution still runs, before it counts as failed. */
const MAX_START_RETRIES = 30;

function addCounts(into: Record<string, number>, add: Record<string, number>): void {
  for (const [k, v] of Object.entries(add)) into[k] = (into[k] ?? 0) + v;
}

/** The innermost failure of a child -> activity -> application failure chain. */
function rootCause(err: unknown): { message: string; type?: string } {
  let e = err as { cause?: unknown; message?: string; type?: string };
  while (e.cause) e = e.cause as typeof e;
  return { message: e.message ?? String(err), type: e.type };
}

export function shardWorkflowId(runId: string, shard: number): string {
  return `${runId}/shard-${shard}`;
}

// ---------------------------------------------------------------- workflow

/**
 * A whole run: lists what is already committed (so a resume or a continue-as-new only runs
 * what is missing), then keeps `window` shard workflows in flight, starting the next as each
 * ends — a sliding window, not fixed batches.
 *
 * Child ids are `<runId>/shard-<n>`, so two executions of one shard cannot exist at once.
 * Before history grows large it stops starting children, lets the in-flight ones finish, and
 * continues as new: nothing is in flight across the hand-over, so no shard can be lost or
 * started twice, and the new run re-lists committed shards from storage, the source of truth.
 * Signals and queries address the workflow id, so they reach whichever run is current.
 */
export async function datasetWorkflow(input: DatasetWorkflowInput): Promise<DatasetResult> {
  const ref: RunRef = { outputUrl: input.outputUrl, runId: input.runId };
  const cpu = proxyActivities<Activities>({
    taskQueue: input.queues.cpu,
    startToCloseTimeout: '5m',
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: ['InvalidInput'] },
  });
  const carried: CarriedState = input.carried ?? {
    startedAtMs: Date.now(),
    window: input.window,
    paused: false,
    failed: [],
    samplesCommitted: 0,
    shardsCommitted: 0,
    shortfall: 0,
    rejectsByReason: {},
    continuedAsNew: 0,
  };
  const state = { ...carried, failed: [...carried.failed], rejectsByReason: { ...carried.rejectsByReason } };
  let running = 0;
  let draining = false;
  let phase: Progress['state'] = 'running';
  let described: { shardCount: number; targetSamples: number } | undefined;
  // Shards committed before this execution chain started count as committed, not as work done now.
  let committedAtStart = 0;
  const pending: number[] = [];
  let cursor = 0;

  setHandler(pauseSignal, () => {
    state.paused = true;
  });
  setHandler(resumeSignal, () => {
    state.paused = false;
  });
  setHandler(setWindowSignal, (size: number) => {
    if (Number.isInteger(size) && size >= 1) state.window = size;
  });

  // Registered before the first activity so a status call never finds no handler; until the
  // run is described it reports `starting` with what it already knows.
  setHandler(progressQuery, (): Progress => {
    const plan = described ?? { shardCount: 0, targetSamples: 0 };
    const committed = committedAtStart + state.shardsCommitted;
    const elapsed = Math.max(1, (Date.now() - state.startedAtMs) / 1000);
    const rate = state.samplesCommitted / elapsed;
    const remainingShards = plan.shardCount - committed - state.failed.length;
    const remainingSamples = Math.round(
      (remainingShards * plan.targetSamples) / Math.max(1, plan.shardCount),
    );
    return {
      runId: input.runId,
      state: described === undefined ? 'starting' : state.paused ? 'paused' : phase,
      shards: {
        planned: plan.shardCount,
        committed,
        running,
        failed: state.failed.length,
        pending: pending.length - cursor,
      },
      samples: {
        planned: plan.targetSamples,
        committed: state.samplesCommitted,
        shortfall: state.shortfall,
      },
      rejectsByReason: state.rejectsByReason,
      window: state.window,
      rate,
      etaSeconds: rate > 0 ? remainingSamples / rate : null,
      failed: state.failed,
      continuedAsNew: state.continuedAsNew,
      historyLength: workflowInfo().historyLength,
    };
  });

  const plan = await cpu.describeRun(ref);
  const committedBefore = await cpu.listCommittedShards(ref);
  described = plan;
  committedAtStart = committedBefore.length - state.shardsCommitted;
  const done = new Set(committedBefore);
  const failedShards = new Set(state.failed.map((f) => f.shard));
  for (let s = 0; s < plan.shardCount; s++) if (!done.has(s) && !failedShards.has(s)) pending.push(s);

  const onShardDone = (result: ShardWorkflowResult) => {
    running--;
    state.shardsCommitted++;
    // A child runs only for a shard that was missing when this run listed them, so even an
    // `alreadyCommitted` result (a commit retried after its sidecar was written) is new here.
    state.samplesCommitted += result.samples;
    state.shortfall += result.shortfall;
    addCounts(state.rejectsByReason, result.rejectsByReason);
  };
  /** Set when a shard failed on bad input: every other shard would fail the same way. */
  let badInput: string | undefined;
  const onShardFailed = (shard: number, err: unknown) => {
    running--;
    // A shard cancelled on its own (from the UI, say) is not committed: it must not vanish from
    // the count. When the whole run is cancelled, the run fails anyway and this list is moot.
    const root = isCancellation(err) ? { message: 'cancelled', type: 'Cancelled' } : rootCause(err);
    // Messages are cut so a run with many failing shards keeps a small history.
    const message = String(root.message).slice(0, 300);
    state.failed.push({ shard, message });
    if (root.type === 'InvalidInput') badInput ??= message;
  };

  const retries = new Map<number, number>();
  const startShard = async (shard: number) => {
    try {
      return await startChild(shardWorkflow, {
        workflowId: shardWorkflowId(input.runId, shard),
        taskQueue: input.queues.workflows,
        args: [{ ...ref, shard, queues: input.queues, maxRounds: plan.maxRounds, timeouts: input.timeouts }],
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      throw err;
    }
  };

  try {
    while (cursor < pending.length) {
      await condition(() => badInput !== undefined || (!state.paused && running < state.window));
      if (badInput !== undefined) break;
      if (workflowInfo().continueAsNewSuggested) {
        draining = true;
        break;
      }
      const shard = pending[cursor++]!;
      running++;
      const child = await startShard(shard);
      if (!child) {
        // An earlier execution of this shard is still closing (its parent was terminated, say):
        // try it again after the others rather than running it twice.
        running--;
        const tries = (retries.get(shard) ?? 0) + 1;
        retries.set(shard, tries);
        if (tries > MAX_START_RETRIES) {
          state.failed.push({
            shard,
            message: `an earlier execution of ${shardWorkflowId(input.runId, shard)} never closed`,
          });
        } else {
          pending.push(shard);
          await sleep('2s');
        }
        continue;
      }
      child.result().then(
        (result) => onShardDone(result),
        (err) => onShardFailed(shard, err),
      );
    }
    if (draining) phase = 'draining';
    await condition(() => running === 0);
  } catch (err) {
    if (isCancellation(err)) {
      // Let every child observe the cancellation and stop its activities before we close.
      await CancellationScope.nonCancellable(() => condition(() => running === 0));
    }
    throw err;
  }

  if (badInput !== undefined) {
    throw ApplicationFailure.nonRetryable(
      `run ${input.runId} stopped on bad input: ${badInput}`,
      'InvalidInput',
    );
  }
  if (draining) {
    await continueAsNew<typeof datasetWorkflow>({
      ...input,
      carried: { ...state, continuedAsNew: state.continuedAsNew + 1 },
    });
  }

  phase = 'finishing';
  const manifest = await cpu.writeManifest(ref);
  if (state.failed.length > 0) {
    const list = state.failed.map((f) => `${f.shard}: ${f.message}`).join('; ');
    throw ApplicationFailure.nonRetryable(
      `${state.failed.length} of ${plan.shardCount} shards failed (${list}); fix the cause, then run: synfarm resume ${input.runId}`,
      'ShardsFailed',
    );
  }
  if (!manifest.complete) {
    // Storage is the truth: success only when every planned shard's sidecar is there.
    throw ApplicationFailure.nonRetryable(
      `${plan.shardCount - manifest.shards} of ${plan.shardCount} shards are not committed although none failed; run: synfarm resume ${input.runId}`,
      'ShardsMissing',
    );
  }
  return {
    runId: input.runId,
    shards: manifest.shards,
    samples: manifest.samples,
    shortfall: state.shortfall,
    rejectsByReason: state.rejectsByReason,
    continuedAsNew: state.continuedAsNew,
  };
}
