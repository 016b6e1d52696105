import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { type ChildWorkflowHandle, condition, isCancellation, sleep } from '@temporalio/workflow';
import { type CarriedState, type ShardWorkflowResult, shardWorkflowId } from './api';
import type { shardWorkflow } from './shard';

/** Starts of one shard refused because an earlier execution still runs, before it counts as failed. */
const MAX_START_RETRIES = 30;

/**
 * The `patched()` id of filling the window with concurrent starts (one workflow task for all
 * free slots) instead of one start per workflow task: histories recorded before it replay with
 * single starts.
 */
export const BATCH_STARTS_PATCH = 'window-batch-starts';

/** The innermost failure of a child -> activity -> application failure chain. */
function rootCause(err: unknown): { message: string; type?: string } {
  let e = err as { cause?: unknown; message?: string; type?: string };
  while (e.cause) e = e.cause as typeof e;
  return { message: e.message ?? String(err), type: e.type };
}

export interface WindowHooks {
  /** Starts the shard's child; undefined when an earlier execution of it still runs. */
  start(shard: number): Promise<ChildWorkflowHandle<typeof shardWorkflow> | undefined>;
  done(result: ShardWorkflowResult): void;
}

/**
 * The sliding window of shard workflows: keeps `state.window` children in flight, starting the
 * next as each ends. A child counts as running only once it has started, so a cancellation that
 * lands while a start is in flight leaves no phantom slot to wait for.
 */
export class ShardWindow {
  running = 0;
  private cursor = 0;
  private readonly retries = new Map<number, number>();
  /** Set when a shard failed on bad input: every other shard would fail the same way. */
  badInput: string | undefined;

  constructor(
    private readonly runId: string,
    private readonly pending: number[],
    private readonly state: CarriedState,
    private readonly hooks: WindowHooks,
    /** Start every free slot at once (`patched(BATCH_STARTS_PATCH)`), else one per call. */
    private readonly batchStarts = true,
  ) {}

  get remaining(): number {
    return this.pending.length - this.cursor;
  }

  /** Waits for a free slot (or bad input); false when no slot will be used. */
  async slot(): Promise<boolean> {
    await condition(
      () => this.badInput !== undefined || (!this.state.paused && this.running < this.state.window),
    );
    return this.badInput === undefined;
  }

  /**
   * Starts children for the free slots. Filling a window of 8 one start per workflow task took
   * 8 round trips through the server before every slot worked; now all free slots start in one.
   * Each start is awaited, so a child counts as running only once it has started.
   */
  async startNext(): Promise<void> {
    const free = this.batchStarts ? this.state.window - this.running : 1;
    const shards = this.pending.slice(this.cursor, this.cursor + Math.max(1, free));
    this.cursor += shards.length;
    const started = await Promise.allSettled(shards.map((shard) => this.hooks.start(shard)));
    let refused = false;
    let error: unknown;
    started.forEach((outcome, i) => {
      if (outcome.status === 'rejected') error ??= outcome.reason;
      else if (outcome.value) this.watch(shards[i]!, outcome.value);
      else refused = this.refused(shards[i]!) || refused;
    });
    if (error !== undefined) throw error;
    // An earlier execution is still closing (its parent was terminated, say): try again later.
    if (refused) await sleep('2s');
  }

  private watch(shard: number, child: ChildWorkflowHandle<typeof shardWorkflow>): void {
    this.running++;
    child.result().then(
      (result) => {
        this.running--;
        this.hooks.done(result);
      },
      (err) => {
        this.running--;
        this.failed(shard, err);
      },
    );
  }

  drained(): Promise<void> {
    return condition(() => this.running === 0);
  }

  /**
   * An earlier execution of this shard is still running: put it behind the others rather than
   * running it twice. True while it may still be retried.
   */
  private refused(shard: number): boolean {
    const tries = (this.retries.get(shard) ?? 0) + 1;
    this.retries.set(shard, tries);
    if (tries > MAX_START_RETRIES) {
      this.state.failed.push({
        shard,
        message: `an earlier execution of ${shardWorkflowId(this.runId, shard)} never closed`,
      });
      return false;
    }
    this.pending.push(shard);
    return true;
  }

  private failed(shard: number, err: unknown): void {
    // A shard cancelled on its own (from the UI, say) is not committed: it must not vanish from
    // the count. When the whole run is cancelled, the run fails anyway and this list is moot.
    const root = isCancellation(err) ? { message: 'cancelled', type: 'Cancelled' } : rootCause(err);
    // Messages are cut so a run with many failing shards keeps a small history.
    const message = String(root.message).slice(0, 300);
    this.state.failed.push({ shard, message });
    if (root.type === 'InvalidInput') this.badInput ??= message;
  }
}

/** `startChild`, with "already started" turned into undefined for the window to retry. */
export async function startOrUndefined<T>(start: () => Promise<T>): Promise<T | undefined> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
    throw err;
  }
}
