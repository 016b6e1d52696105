import type { CarriedState, Progress } from './api';

/** What the dataset workflow knows at a query: plain counts, so progress is a pure function. */
export interface ProgressInputs {
  runId: string;
  described: { shardCount: number; targetSamples: number } | undefined;
  state: CarriedState;
  /** Shards committed before this execution chain began (not work done by it). */
  committedAtStart: number;
  running: number;
  pending: number;
  phase: Progress['state'];
  nowMs: number;
  historyLength: number;
}

export function progressOf(p: ProgressInputs): Progress {
  const plan = p.described ?? { shardCount: 0, targetSamples: 0 };
  const committed = p.committedAtStart + p.state.shardsCommitted;
  const elapsed = Math.max(1, (p.nowMs - p.state.startedAtMs) / 1000);
  const rate = p.state.samplesCommitted / elapsed;
  const remainingShards = plan.shardCount - committed - p.state.failed.length;
  const remainingSamples = Math.round((remainingShards * plan.targetSamples) / Math.max(1, plan.shardCount));
  return {
    runId: p.runId,
    state: p.described === undefined ? 'starting' : p.state.paused ? 'paused' : p.phase,
    shards: {
      planned: plan.shardCount,
      committed,
      running: p.running,
      failed: p.state.failed.length,
      pending: p.pending,
    },
    samples: {
      planned: plan.targetSamples,
      committed: p.state.samplesCommitted,
      shortfall: p.state.shortfall,
    },
    rejectsByReason: p.state.rejectsByReason,
    window: p.state.window,
    rate,
    etaSeconds: rate > 0 ? remainingSamples / rate : null,
    failed: p.state.failed,
    continuedAsNew: p.state.continuedAsNew,
    historyLength: p.historyLength,
  };
}

export function addCounts(into: Record<string, number>, add: Record<string, number>): void {
  for (const [k, v] of Object.entries(add)) into[k] = (into[k] ?? 0) + v;
}
