import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { CommitResult, RunRef, ShardRef, StageTimeouts } from '../activities/types';
import type { TaskQueues } from './task-queues';

/**
 * The dataset and shard workflows' public surface: inputs, results, signals and queries. The
 * client imports these (and the workflow functions) as typed references, never their names.
 * Signals and queries address the workflow id, so they reach whichever run of the chain is
 * current after a continue-as-new.
 */

// ---------------------------------------------------------------- dataset workflow

export interface DatasetWorkflowInput extends RunRef {
  queues: TaskQueues;
  /** How many shard workflows run at once; adjustable while running. */
  window: number;
  timeouts: StageTimeouts;
  /** Hand-over from the previous run of this execution chain (continue-as-new). */
  carried?: CarriedState;
}

/** Counts and settings a continue-as-new hands to the next run; never per-sample data. */
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

export const progressQuery = defineQuery<Progress>('progress');
/** Start no new shards; running ones finish. */
export const pauseSignal = defineSignal('pause');
/** Undo `pauseSignal` (the `resume` command is another thing: it restarts a stopped run). */
export const unpauseSignal = defineSignal('unpause');
export const setWindowSignal = defineSignal<[number]>('setWindow');

// ---------------------------------------------------------------- shard workflow

export interface ShardWorkflowInput extends ShardRef {
  queues: TaskQueues;
  /** Deficit rounds allowed after round 0 (spec `filter.maxRounds`). */
  maxRounds: number;
  timeouts: StageTimeouts;
}

export interface ShardWorkflowResult extends CommitResult {
  rounds: number;
}

/** Child ids derive from the run id, so two executions of one shard cannot exist at once. */
export function shardWorkflowId(runId: string, shard: number): string {
  return `${runId}/shard-${shard}`;
}
