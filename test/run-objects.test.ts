import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  commitSidecar,
  openRun,
  readRun,
  ShortShardError,
  syntheticImages,
  syntheticSamples,
  writeShardTar,
  writeSyntheticRun,
} from '../consumer';
import { type Exclusion, RunDedupe } from '../filter/dedupe';
import { type IndexEntry, type Manifest, mergeIndex } from '../run/manifest';
import { RunObjectError, RunObjects } from '../run/objects';
import { openStore } from '../storage';
import { testStack } from './support/stack';

async function localStore() {
  return openStore(pathToFileURL(await mkdtemp(path.join(tmpdir(), 'synfarm-run-'))).href);
}

const META = { runId: 'r', baseUrl: 'file:///x', plannedShards: 3, plannedSamples: 6 };
const entry = (shard: number, samples = 2): IndexEntry => ({
  shard,
  samples,
  bytes: 1000 + shard,
  sha256: String(shard).padStart(64, '0'),
  shortfall: 2 - samples,
  classHistogram: [samples],
  rejectsByReason: { [`r${shard}`]: 1, a: shard },
});

describe('run index merge', () => {
  it('is the same whatever order entries arrive in, and never drops a shard', () => {
    const forward = mergeIndex(mergeIndex(undefined, META, [entry(0), entry(1)]).manifest, META, [entry(2)]);
    const backward = mergeIndex(mergeIndex(undefined, META, [entry(2)]).manifest, META, [entry(1), entry(0)]);
    expect(JSON.stringify(backward.manifest)).toBe(JSON.stringify(forward.manifest));
    expect(forward.manifest.state).toBe('complete');
    // An older, smaller batch merged late changes nothing: the index only moves forward.
    const late = mergeIndex(forward.manifest, META, [entry(0, 1)]);
    expect(late.added).toEqual([]);
    expect(late.manifest).toEqual(forward.manifest);
  });

  it('keeps the smallest duplicate for a key whatever order exclusions come in', () => {
    const a: Exclusion = { key: '000002_000000', duplicateOf: '000001_000000' };
    const b: Exclusion = { key: '000002_000000', duplicateOf: '000000_000003' };
    const one = mergeIndex(mergeIndex(undefined, META, [], [a]).manifest, META, [], [b]).manifest;
    const two = mergeIndex(mergeIndex(undefined, META, [], [b]).manifest, META, [], [a]).manifest;
    expect(one.excluded).toEqual([b]);
    expect(two.excluded).toEqual([b]);
  });
});

describe('run-level dedupe', () => {
  const h = (shard: number, index: number, phash: string) => ({
    key: `${String(shard).padStart(6, '0')}_${String(index).padStart(6, '0')}`,
    phash,
  });
  const shards = [
    { format: 'synfarm-dedupe-v1' as const, shard: 0, hashes: [h(0, 0, 'ffff0000ffff0000')] },
    {
      format: 'synfarm-dedupe-v1' as const,
      shard: 1,
      hashes: [h(1, 0, 'ffff0000ffff0001'), h(1, 1, '0123456789abcdef')],
    },
    { format: 'synfarm-dedupe-v1' as const, shard: 2, hashes: [h(2, 0, 'ffff0000ffff0003')] },
  ];
  const all = (order: number[]) => {
    const d = new RunDedupe(4);
    const out: Exclusion[] = [];
    for (const s of order) out.push(...d.addShard(shards[s]!));
    return out.sort((x, y) => (x.key < y.key ? -1 : 1));
  };

  it('excludes the later key of a cross-shard pair, the same in any arrival order', () => {
    const expected = [
      { key: '000001_000000', duplicateOf: '000000_000000' },
      { key: '000002_000000', duplicateOf: '000000_000000' },
      { key: '000002_000000', duplicateOf: '000001_000000' },
    ];
    expect(all([0, 1, 2])).toEqual(expected.filter((x) => x.duplicateOf === '000000_000000'));
    // Arriving in reverse finds more pairs on the way; merged with min(duplicateOf) the result is equal.
    const merged = (order: number[]) => mergeIndex(undefined, META, [], all(order)).manifest.excluded;
    expect(merged([2, 1, 0])).toEqual(merged([0, 1, 2]));
    expect(merged([1, 2, 0])).toEqual(merged([0, 1, 2]));
  });
});

describe('run objects: one definition of committed, one error for a damaged object', () => {
  it('a damaged sidecar is a RunObjectError naming its key; a tar of another size is damaged, not committed', async () => {
    const store = await localStore();
    const images = await syntheticImages(2, 32);
    for (const shard of [0, 1, 2]) {
      await commitSidecar(store, await writeShardTar(store, 'r', shard, syntheticSamples(shard, 2, images)));
    }
    const objects = new RunObjects(store, 'r');
    await store.put(objects.keys.shardTar(1), 'short');
    let listed = await objects.listShards();
    expect(listed.committed.map((s) => s.shard)).toEqual([0, 2]);
    expect(listed.damaged.map((d) => [d.shard, d.tarBytes])).toEqual([[1, 5]]);

    await store.put(objects.keys.shardSidecar(2), '{"format":"synfarm-shard-v1"');
    const err = await objects.listShards().catch((e) => e);
    expect(err).toBeInstanceOf(RunObjectError);
    expect(err.code).toBe('damaged-run-object');
    expect(err.key).toBe('r/shards/shard-000002.json');
    expect(err.message).toContain('r/shards/shard-000002.json');
    await store.delete(objects.keys.shardSidecar(2));
    listed = await objects.listShards();
    expect(listed.committed.map((s) => s.shard)).toEqual([0]);

    const missing = await new RunObjects(store, 'nope').spec().catch((e) => e);
    expect(missing).toMatchObject({ code: 'run-not-launched', key: 'nope/spec.json' });
  });
});

describe('consumer against the run index', () => {
  it('a valid tar holding fewer samples than its sidecar is a ShortShardError naming the shard', async () => {
    const store = await localStore();
    const images = await syntheticImages(2, 32);
    await writeSyntheticRun(store, 'short', [3, 3], { images });
    const sidecar = await writeShardTar(store, 'short', 1, syntheticSamples(1, 2, images));
    // The sidecar still says 3 samples, with the new tar's size and hash: only the count is wrong.
    const objects = new RunObjects(store, 'short');
    const old = (await objects.sidecar(1))!;
    await store.put(
      objects.keys.shardSidecar(1),
      JSON.stringify({ ...old, bytes: sidecar.bytes, sha256: sidecar.sha256 }),
    );
    const run = await openRun(store.url, 'short');
    const err = await (async () => {
      for await (const _ of readRun({ run, seed: 1, shuffle: false })) {
        // read through
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(ShortShardError);
    expect(err.message).toContain('shard-000001.tar');
    expect(err.message).toContain('2 samples where the sidecar says 3');
  });

  it('the reader skips the keys the run index excludes', async () => {
    const store = await localStore();
    await writeSyntheticRun(store, 'ex', [2, 2], { images: await syntheticImages(2, 32) });
    const objects = new RunObjects(store, 'ex');
    const manifest = (await objects.manifest())!;
    await objects.writeIndex({
      ...manifest,
      excluded: [{ key: '000001_000000', duplicateOf: '000000_000000' }],
    });
    const run = await openRun(store.url, 'ex');
    const keys: string[] = [];
    for await (const s of readRun({ run, seed: 1, shuffle: false })) keys.push(s.__key__);
    expect(keys.sort()).toEqual(['000000_000000', '000000_000001', '000001_000001']);
  });
});

describe('run index writes on real S3 (conditional, never backwards)', () => {
  const s3Objects = async (runId: string) => {
    const { s3 } = testStack();
    const store = await openStore(`s3://${s3.bucket}/index-${randomUUID()}`, {
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    return new RunObjects(store, runId);
  };
  const meta = (objects: RunObjects, plannedShards: number) => ({
    runId: objects.runId,
    baseUrl: objects.store.url,
    plannedShards,
    plannedSamples: plannedShards * 2,
  });
  /** A recordShards-like merge: `entries` unioned into whatever index it is given. */
  const merger = (objects: RunObjects, entries: IndexEntry[], planned: number) => async (prev?: Manifest) =>
    mergeIndex(prev, meta(objects, planned), entries).manifest;
  const wids = async (objects: RunObjects) =>
    (
      JSON.parse(Buffer.from(await objects.store.get(objects.keys.widsIndex)).toString()) as {
        shardlist: { url: string }[];
      }
    ).shardlist.length;

  it('two merges racing with different new shards both end up in the manifest and wids index', async () => {
    const objects = await s3Objects('race');
    await objects.updateIndex(merger(objects, [entry(0)], 4));
    // Both merges read the same version before either writes: one must lose the If-Match race.
    let arrived = 0;
    let release!: () => void;
    const bothRead = new Promise<void>((r) => {
      release = r;
    });
    const calls = [0, 0];
    const racer = (i: number, entries: IndexEntry[]) => async (prev?: Manifest) => {
      calls[i]! += 1;
      if (calls[i] === 1 && ++arrived === 2) release();
      if (calls[i] === 1) await bothRead;
      return merger(objects, entries, 4)(prev);
    };
    await Promise.all([objects.updateIndex(racer(0, [entry(1)])), objects.updateIndex(racer(1, [entry(2)]))]);
    expect(calls.sort()).toEqual([1, 2]); // the loser re-read and re-merged
    const stored = (await objects.manifest())!;
    expect(stored.shards.map((s) => s.shard)).toEqual([0, 1, 2]);
    expect(stored.totals.shards).toBe(3);
    expect(stored.state).toBe('running');
    expect(await wids(objects)).toBe(3);
  });

  it('a stale merge finishing after the index is complete leaves the complete manifest as it is', async () => {
    const objects = await s3Objects('stale');
    await objects.updateIndex(merger(objects, [entry(0)], 3));
    let resume!: () => void;
    const paused = new Promise<void>((r) => {
      resume = r;
    });
    let sawStale!: () => void;
    const staleRead = new Promise<void>((r) => {
      sawStale = r;
    });
    let staleCalls = 0;
    // A timed-out attempt: it read the index holding only shard 0, then stalls.
    const stale = objects.updateIndex(async (prev) => {
      staleCalls += 1;
      if (staleCalls === 1) {
        sawStale();
        await paused;
      }
      return merger(objects, [entry(1)], 3)(prev);
    });
    await staleRead;
    const complete = await objects.updateIndex(merger(objects, [entry(1), entry(2)], 3));
    expect(complete.state).toBe('complete');
    await objects.store.put(objects.keys.success, '{}\n'); // what finishRun writes beside it
    const before = Buffer.from(await objects.store.get(objects.keys.manifest)).toString();
    resume();
    const result = await stale;
    expect(result.state).toBe('complete');
    expect(staleCalls).toBe(1); // re-read the complete index and did not merge into it again
    expect(Buffer.from(await objects.store.get(objects.keys.manifest)).toString()).toBe(before);
    expect(await wids(objects)).toBe(3);
    // And a late attempt arriving now changes nothing either.
    await objects.updateIndex(merger(objects, [entry(0)], 3));
    expect(Buffer.from(await objects.store.get(objects.keys.manifest)).toString()).toBe(before);
  });
});
