import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import type { StoreOptions } from '../storage';
import { ConsumerOptionError, ResumeMismatchError } from './errors';
import { type EpochPlan, encodeShardSet, planEpoch, selectShards, validateTopology } from './plan';
import { openRun, type RunHandle, refreshRun } from './run';
import { emptyStats, type Positioned, type ReadStats, type RunSample, readSegments } from './shard-reader';
import { hashWords, permutation, STREAM } from './shuffle';

/**
 * Where a reader stands: enough to restart its stream at the exact next sample. `consumed` counts
 * stream positions of the current epoch (yielded samples plus any skipped as corrupt); `shards` is
 * the epoch's shard set, so a resume on a run that committed more shards since replays the same epoch;
 * `shuffle`, `bufferSize` and `remainder` are carried because they shape the order too.
 */
export const ReaderStateSchema = z.object({
  epoch: z.int().min(0),
  consumed: z.int().min(0),
  seed: z.int(),
  rank: z.int().min(0),
  worldSize: z.int().min(1),
  worker: z.int().min(0),
  numWorkers: z.int().min(1),
  shuffle: z.boolean().optional(),
  bufferSize: z.int().min(1).optional(),
  remainder: z.enum(['drop', 'pad']).optional(),
  shards: z.string().optional(),
});
export type ReaderState = z.infer<typeof ReaderStateSchema>;

export interface ReadRunOptions {
  /** An open run, or where to open it. */
  run?: RunHandle;
  outputUrl?: string;
  runId?: string;
  storeOptions?: StoreOptions;

  /** Any safe integer; with `epoch`, fixes every order. Default 0. */
  seed?: number;
  /** First epoch to read (ignored when resuming: the state says). Default 0. */
  epoch?: number;
  /** Epochs to read before the stream ends. Default 1. */
  epochs?: number;
  rank?: number;
  worldSize?: number;
  worker?: number;
  numWorkers?: number;
  /** Shuffle shard order and samples (bounded windows). Default true. */
  shuffle?: boolean;
  /**
   * Samples per shuffle window: each window of a reader's stream is read whole, then emitted in a
   * permuted order keyed by (seed, epoch, topology, window), so resuming recomputes it exactly.
   * Memory is one window of undecoded samples. Default 1000; 1 turns sample shuffling off.
   */
  bufferSize?: number;
  remainder?: 'drop' | 'pad';
  /** Restart exactly after the last sample this state saw. */
  resume?: ReaderState;
  verify?: boolean;
  onCorrupt?: 'fail' | 'skip';
  /**
   * Follow a running run: shards are read as their sidecars appear, and the stream ends once
   * `_SUCCESS` exists and every shard committed before it was read. Shards are dealt to readers by
   * index (`shard mod (worldSize * numWorkers)`), so counts per rank are not equal in this mode, and
   * it reads one pass (no epochs, no resume).
   */
  live?: boolean;
  /** Live mode: wait between listings. Default 2000 ms. */
  pollMs?: number;
  signal?: AbortSignal;
}

const OptionsSchema = z.object({
  seed: z.int().default(0),
  epoch: z.int().min(0).default(0),
  epochs: z.int().min(1).default(1),
  rank: z.int().default(0),
  worldSize: z.int().default(1),
  worker: z.int().default(0),
  numWorkers: z.int().default(1),
  shuffle: z.boolean().default(true),
  bufferSize: z.int().min(1).max(1_000_000).default(1000),
  remainder: z.enum(['drop', 'pad']).default('pad'),
  verify: z.boolean().default(false),
  onCorrupt: z.enum(['fail', 'skip']).default('fail'),
  live: z.boolean().default(false),
  pollMs: z.int().min(1).default(2000),
});
type Resolved = z.output<typeof OptionsSchema>;

/** A run's samples as an async iterable that knows its own position (`state()`) and `stats`. */
export class RunReader implements AsyncIterable<RunSample> {
  readonly stats: ReadStats = emptyStats();
  readonly options: Resolved;
  #state: ReaderState;
  #started = false;

  constructor(private readonly source: ReadRunOptions) {
    const parsed = OptionsSchema.safeParse(source);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ConsumerOptionError(issue?.path.join('.') || '(options)', issue?.message ?? 'invalid');
    }
    this.options = parsed.data;
    validateTopology(this.options);
    const o = this.options;
    if (source.resume) {
      // A saved state comes from outside (a checkpoint file): a bad one is a typed option error.
      const checked = ReaderStateSchema.safeParse(source.resume);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new ConsumerOptionError(
          ['resume', ...(issue?.path ?? [])].join('.'),
          `${issue?.message ?? 'invalid'}: pass the state() of an earlier reader of this run, unchanged`,
        );
      }
      const saved = checked.data;
      const fields = [
        'seed',
        'rank',
        'worldSize',
        'worker',
        'numWorkers',
        'shuffle',
        'bufferSize',
        'remainder',
      ];
      for (const field of fields as (keyof ReaderState & keyof Resolved)[]) {
        if (saved[field] === undefined) continue;
        if (source[field] !== undefined && saved[field] !== o[field])
          throw new ResumeMismatchError(field, saved[field], o[field]);
        Object.assign(o, { [field]: saved[field] });
      }
      if (o.live) throw new ConsumerOptionError('resume', 'live mode reads one pass and cannot resume');
      this.#state = { ...saved };
    } else {
      this.#state = {
        epoch: o.epoch,
        consumed: 0,
        seed: o.seed,
        rank: o.rank,
        worldSize: o.worldSize,
        worker: o.worker,
        numWorkers: o.numWorkers,
        shuffle: o.shuffle,
        bufferSize: o.bufferSize,
        remainder: o.remainder,
      };
    }
  }

  /** A copy of the position after the last yielded sample; save it to resume there. */
  state(): ReaderState {
    return { ...this.#state };
  }

  /** The plan of an epoch for this reader (how many samples, which shards), without reading. */
  async plan(epoch = this.#state.epoch): Promise<EpochPlan> {
    const run = await this.#run();
    return planEpoch(run.shards, { ...this.options, epoch });
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<RunSample> {
    if (this.#started) throw new ConsumerOptionError('readRun', 'a reader can be iterated only once');
    this.#started = true;
    const run = await this.#run();
    if (this.options.live) {
      yield* this.#live(run);
      return;
    }
    const first = this.#state.epoch;
    for (let epoch = first; epoch < first + this.options.epochs; epoch++) {
      const saved = epoch === first ? this.#state.shards : undefined;
      const shards = saved === undefined ? run.shards : selectShards(run.shards, saved);
      const consumed = epoch === first ? this.#state.consumed : 0;
      const { shards: _, ...rest } = this.#state;
      this.#state = { ...rest, epoch, consumed, shards: encodeShardSet(shards.map((s) => s.shard)) };
      yield* this.#epoch(run, planEpoch(shards, { ...this.options, epoch }), epoch, consumed);
    }
    const { shards: _, ...rest } = this.#state;
    this.#state = { ...rest, epoch: first + this.options.epochs, consumed: 0 };
  }

  async #run(): Promise<RunHandle> {
    if (this.source.run) return this.source.run;
    const { outputUrl, runId } = this.source;
    if (!outputUrl || !runId) throw new ConsumerOptionError('run', 'give either run, or outputUrl and runId');
    const run = await openRun(outputUrl, runId, this.source.storeOptions ?? {});
    this.source.run = run;
    return run;
  }

  /** Windows of `bufferSize` positions, each read whole, then emitted in its keyed permutation. */
  async *#epoch(run: RunHandle, plan: EpochPlan, epoch: number, consumed: number): AsyncGenerator<RunSample> {
    const o = this.options;
    const size = o.shuffle ? o.bufferSize : 1;
    if (consumed >= plan.length) return;
    const firstWindow = Math.floor(consumed / size);
    const source = readSegments(run, plan.segments(firstWindow * size), {
      verify: o.verify,
      onCorrupt: o.onCorrupt,
      signal: this.source.signal,
      stats: this.stats,
    });
    try {
      for (let window = firstWindow; window * size < plan.length; window++) {
        const base = window * size;
        const count = Math.min(size, plan.length - base);
        const entries: Positioned[] = [];
        while (entries.length < count) {
          const next = await source.next();
          if (next.done)
            throw new Error(`reader ended at position ${base + entries.length} of ${plan.length}`);
          entries.push(next.value);
        }
        const order =
          size > 1
            ? permutation(
                count,
                hashWords(o.seed, epoch, o.rank, o.worldSize, o.worker, o.numWorkers, window, STREAM.window),
              )
            : [0];
        for (let k = window === firstWindow ? consumed - base : 0; k < count; k++) {
          this.source.signal?.throwIfAborted();
          const { sample } = entries[order[k] as number] as Positioned;
          this.#state = { ...this.#state, consumed: base + k + 1 };
          if (sample === null) continue;
          this.stats.samplesYielded++;
          yield sample;
        }
      }
    } finally {
      await source.return(undefined);
    }
  }

  async *#live(initial: RunHandle): AsyncGenerator<RunSample> {
    const o = this.options;
    const readers = o.worldSize * o.numWorkers;
    const me = o.rank * o.numWorkers + o.worker;
    const seen = new Set<number>();
    let run = initial;
    for (;;) {
      // _SUCCESS is checked before listing: every shard committed before it is then in the listing.
      const complete = run.complete;
      const fresh = run.shards.filter((s) => !seen.has(s.shard));
      for (const s of fresh) seen.add(s.shard);
      const mine = fresh.filter((s) => s.shard % readers === me);
      for (const shard of mine) {
        const order = o.shuffle
          ? permutation(shard.samples, hashWords(o.seed, o.epoch, shard.shard, STREAM.live))
          : null;
        const entries: Positioned[] = [];
        const segment = { shard, from: 0, to: shard.samples, position: 0 };
        const common = { verify: o.verify, onCorrupt: o.onCorrupt, signal: this.source.signal };
        const stream = readSegments(run, [segment], { ...common, stats: this.stats });
        if (order === null) {
          for await (const entry of stream) yield* this.#emit(entry);
          continue;
        }
        for await (const entry of stream) entries.push(entry);
        for (const i of order) yield* this.#emit(entries[i] as Positioned);
      }
      if (complete) return;
      if (fresh.length === 0) await sleep(o.pollMs, undefined, { signal: this.source.signal });
      run = await refreshRun(run);
    }
  }

  *#emit(entry: Positioned): Generator<RunSample> {
    this.source.signal?.throwIfAborted();
    this.#state = { ...this.#state, consumed: this.#state.consumed + 1 };
    if (entry.sample === null) return;
    this.stats.samplesYielded++;
    yield entry.sample;
  }
}

/**
 * Streams a run's committed samples into training. Every rank gets the same number of samples per
 * epoch (see EpochPlan and `remainder`), no sample twice within an epoch besides padding, in an
 * order fixed by (seed, epoch); `state()` after any sample restarts there via `resume`.
 */
export function readRun(options: ReadRunOptions): RunReader {
  return new RunReader(options);
}
