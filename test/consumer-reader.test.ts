import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CommittedShard,
  openRun,
  planEpoch,
  type ReaderState,
  type ReadRunOptions,
  type RunHandle,
  readRun,
  syntheticImages,
  writeSyntheticRun,
} from '../consumer';
import { type ObjectStore, openStore } from '../storage';
import { s3Options, uniqueId } from './support/farm';
import { testStack } from './support/stack';

/**
 * The reader over a synthetic run in the farm's layout on the real local S3: shard sizes differ
 * (7, 5, 9, 3, 6, 8 = 38 samples) so that neither shard counts nor the total divide evenly.
 */
const COUNTS = [7, 5, 9, 3, 6, 8];
const TOTAL = 38;

let store: ObjectStore;
let run: RunHandle;
let images: Uint8Array[];

beforeAll(async () => {
  const { s3 } = testStack();
  store = openStore(`s3://${s3.bucket}/consumer-tests`, s3Options());
  images = await syntheticImages(4, 16);
  const runId = uniqueId('reader');
  await writeSyntheticRun(store, runId, COUNTS, { images });
  run = await openRun(store.url, runId, s3Options());
});

async function keysOf(options: ReadRunOptions): Promise<string[]> {
  const keys: string[] = [];
  for await (const sample of readRun({ run, ...options })) keys.push(sample.__key__);
  return keys;
}

/** Every (rank, worker) reader of one epoch, as a map rank -> keys. */
async function readAllRanks(options: ReadRunOptions & { worldSize: number; numWorkers: number }) {
  const perRank: string[][] = [];
  for (let rank = 0; rank < options.worldSize; rank++) {
    const keys: string[] = [];
    for (let worker = 0; worker < options.numWorkers; worker++)
      keys.push(...(await keysOf({ ...options, rank, worker })));
    perRank.push(keys);
  }
  return perRank;
}

const allKeys = () =>
  COUNTS.flatMap((n, shard) =>
    Array.from({ length: n }, (_, i) => `${String(shard).padStart(6, '0')}_${String(i).padStart(6, '0')}`),
  );

describe('consumer reader: splitting across ranks and workers', () => {
  it('4 ranks x 2 workers with padding: equal counts per rank, every sample once, the pad repeats the epoch start', async () => {
    const options = { worldSize: 4, numWorkers: 2, seed: 7, bufferSize: 5 };
    const perRank = await readAllRanks(options);
    expect(perRank.map((keys) => keys.length)).toEqual([10, 10, 10, 10]);
    const seen = perRank.flat();
    expect(new Set(seen)).toEqual(new Set(allKeys()));
    // 40 - 38 = 2 padded positions, filled from the start of the epoch's global order.
    const plan = planEpoch(run.shards, {
      ...options,
      rank: 0,
      worker: 0,
      epoch: 0,
      shuffle: true,
      remainder: 'pad',
    });
    const first = plan.order[0] as CommittedShard;
    const counts = new Map<string, number>();
    for (const key of seen) counts.set(key, (counts.get(key) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
    expect(twice.sort()).toEqual(
      [0, 1].map((i) => `${String(first.shard).padStart(6, '0')}_${String(i).padStart(6, '0')}`),
    );
  });

  it("remainder 'drop': equal counts, no sample twice, only the total's remainder left out", async () => {
    const perRank = await readAllRanks({ worldSize: 4, numWorkers: 2, seed: 7, remainder: 'drop' });
    expect(perRank.map((keys) => keys.length)).toEqual([9, 9, 9, 9]);
    const seen = perRank.flat();
    expect(new Set(seen).size).toBe(36);
    expect(allKeys()).toEqual(expect.arrayContaining(seen));
  });

  it('a rank opens only the shards that hold its samples', async () => {
    const reader = readRun({ run, worldSize: 4, rank: 1, seed: 3 });
    const plan = await reader.plan();
    const needed = new Set(plan.segments().map((s) => s.shard.shard));
    for await (const _ of reader);
    expect(needed.size).toBeLessThan(COUNTS.length);
    expect(reader.stats.shardsOpened).toBe(plan.segments().length);
  });
});

describe('consumer reader: deterministic shuffle', () => {
  it('the same seed and epoch give the same order; another seed or epoch another order', async () => {
    const a = await keysOf({ seed: 1, bufferSize: 8 });
    expect(await keysOf({ seed: 1, bufferSize: 8 })).toEqual(a);
    expect(new Set(a)).toEqual(new Set(allKeys()));
    const otherSeed = await keysOf({ seed: 2, bufferSize: 8 });
    const otherEpoch = await keysOf({ seed: 1, epoch: 1, bufferSize: 8 });
    expect(otherSeed).not.toEqual(a);
    expect(otherEpoch).not.toEqual(a);
    expect(new Set(otherSeed)).toEqual(new Set(a));
    // Unshuffled reading is shard order then tar order.
    expect(await keysOf({ shuffle: false })).toEqual(allKeys());
  });

  it('two epochs in one stream: each epoch covers the run once, in different orders', async () => {
    const keys = await keysOf({ seed: 5, epochs: 2, bufferSize: 6 });
    expect(keys).toHaveLength(2 * TOTAL);
    const [e0, e1] = [keys.slice(0, TOTAL), keys.slice(TOTAL)];
    expect(new Set(e0)).toEqual(new Set(allKeys()));
    expect(new Set(e1)).toEqual(new Set(allKeys()));
    expect(e1).not.toEqual(e0);
  });
});

describe('consumer reader: resume', () => {
  const base = {
    seed: 11,
    worldSize: 2,
    rank: 1,
    numWorkers: 2,
    worker: 0,
    bufferSize: 4,
    epochs: 2,
  } as const;

  it('an aborted reader restarted from its saved state continues with exactly the next sample', async () => {
    const full = await keysOf(base);
    // Cut points inside a window, on a window edge, and at the epoch boundary.
    for (const cut of [1, 4, 6, full.length / 2, full.length / 2 + 3]) {
      const controller = new AbortController();
      const first: string[] = [];
      let saved: ReaderState | undefined;
      const reader = readRun({ run, ...base, signal: controller.signal });
      await expect(
        (async () => {
          for await (const sample of reader) {
            first.push(sample.__key__);
            saved = reader.state();
            if (first.length === cut) controller.abort(new Error('killed'));
          }
        })(),
      ).rejects.toThrow('killed');
      // The state is plain data: it survives JSON, as a checkpoint file would hold it.
      const state = JSON.parse(JSON.stringify(saved)) as ReaderState;
      const rest = await keysOf({ resume: state, epochs: base.epochs - state.epoch });
      expect([...first, ...rest]).toEqual(full);
    }
  });

  it('a saved state replays its epoch over the same shards even after more shards commit', async () => {
    const reader = readRun({ run, seed: 4, bufferSize: 3 });
    const first: string[] = [];
    for await (const sample of reader) {
      first.push(sample.__key__);
      if (first.length === 10) break;
    }
    const state = reader.state();
    expect(state.shards).toBe('0-5');
    const grown: RunHandle = {
      ...run,
      shards: [...run.shards, { ...(run.shards[0] as CommittedShard), shard: 99 }],
    };
    const rest: string[] = [];
    for await (const sample of readRun({ run: grown, resume: state })) rest.push(sample.__key__);
    expect([...first, ...rest]).toEqual(await keysOf({ seed: 4, bufferSize: 3 }));
  });

  it('a state from another topology is refused', async () => {
    const state: ReaderState = {
      epoch: 0,
      consumed: 3,
      seed: 1,
      rank: 0,
      worldSize: 2,
      worker: 0,
      numWorkers: 1,
    };
    expect(() => readRun({ run, resume: state, worldSize: 4 })).toThrow(/worldSize/);
  });
});
