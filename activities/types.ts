import type { IndexEntry } from '../run/manifest';

/**
 * What crosses the workflow/activity boundary: references and counts only. Images, labels and
 * per-sample decisions stay in the object store; these shapes must stay small at any scale.
 */

/** Identifies a run's objects: the store URL (`s3://bucket/prefix` or `file://`) and the run id. */
export interface RunRef {
  outputUrl: string;
  runId: string;
}

export interface ShardRef extends RunRef {
  shard: number;
}

/** How many more samples of which classes a round should plan (class index -> count). */
export interface RoundRequest extends ShardRef {
  round: number;
  /** Per-class counts for round >= 1; round 0 plans the shard as the plan says. */
  classCounts?: number[];
}

export interface StageResult {
  parts: number;
  samples: number;
  /** Parts found already stored (a retry resumed after them). */
  resumedParts: number;
}

/**
 * What the shard workflow learns of a commit: the sidecar's counts (which are also the run
 * index's entry for the shard, so the dataset workflow can write the index without reading it).
 */
export interface CommitResult extends IndexEntry {
  /** True when the shard was already committed and its checksum verified. */
  alreadyCommitted: boolean;
}

export interface RunPlanSummary {
  runId: string;
  shardCount: number;
  targetSamples: number;
  maxRounds: number;
}

/** Filter outcome for one round, with what the next round must make up. */
export interface RoundOutcome {
  round: number;
  kept: number;
  rejected: number;
  /** Still missing per class index after this round (0 everywhere = shard is full). */
  deficitByClass: number[];
  /**
   * What the next round should generate per class: the deficit scaled up by each class's yield
   * so far (run/assembly.ts nextRoundRequest). Absent in outcomes recorded before it existed.
   */
  requestByClass?: number[];
  rejectsByReason: Record<string, number>;
}

/** Knobs a run (or a test) sets for the activity timeouts; seconds. */
export interface StageTimeouts {
  heartbeatSeconds: number;
  stageStartToCloseSeconds: number;
}
