import type { CarriedState, DatasetWorkflowInput } from './api';

/**
 * Continue-as-new hand-over. The window is drained first (nothing in flight), so only counts
 * cross: the next run re-reads committed shards through the run index activity, which is also
 * where a shard committed but not yet indexed is picked up.
 */
export function initialState(input: DatasetWorkflowInput, nowMs: number): CarriedState {
  const c = input.carried;
  if (c) return { ...c, failed: [...c.failed], rejectsByReason: { ...c.rejectsByReason } };
  return {
    startedAtMs: nowMs,
    window: input.window,
    paused: false,
    failed: [],
    samplesCommitted: 0,
    shardsCommitted: 0,
    shortfall: 0,
    rejectsByReason: {},
    continuedAsNew: 0,
  };
}

export function nextInput(input: DatasetWorkflowInput, state: CarriedState): DatasetWorkflowInput {
  return { ...input, carried: { ...state, continuedAsNew: state.continuedAsNew + 1 } };
}
