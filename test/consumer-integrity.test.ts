import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ChecksumMismatchError,
  commitSidecar,
  inspectShard,
  openRun,
  readRun,
  shardUrls,
  syntheticImages,
  syntheticSamples,
  urlTemplate,
  writeShardTar,
  writeSyntheticRun,
} from '../consumer';
import { runKeys } from '../run/layout';
import { type ObjectStore, openStore } from '../storage';
import { readTar, TarFormatError } from '../webdataset';
import { s3Options, uniqueId } from './support/farm';
import { testStack } from './support/stack';

let store: ObjectStore;
let images: Uint8Array[];

beforeAll(async () => {
  const { s3 } = testStack();
  store = openStore(`s3://${s3.bucket}/consumer-tests`, s3Options());
  images = await syntheticImages(4, 16);
});

const keyOf = (shard: number, i: number) => `${String(shard).padStart(6, '0')}_${String(i).padStart(6, '0')}`;

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The same store, counting listings: each live poll lists the shards folder once. */
function countingLists(inner: ObjectStore): { store: ObjectStore; lists: () => number } {
  let lists = 0;
  const store = new Proxy(inner, {
    get(target, property) {
      if (property === 'list') {
        return (prefix: string) => {
          lists++;
          return target.list(prefix);
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return { store, lists: () => lists };
}

describe('consumer live mode', () => {
  it('picks up shards as their sidecars commit, never a tar without its sidecar, and ends at _SUCCESS', async () => {
    const runId = uniqueId('live');
    const keys = runKeys(runId);
    await store.put(keys.spec, '{}');
    await commitSidecar(store, await writeShardTar(store, runId, 0, syntheticSamples(0, 3, images)));
    const counted = countingLists(store);
    const run = await openRun(store.url, runId, s3Options(), { store: counted.store });
    const seen: string[] = [];
    const reading = (async () => {
      for await (const sample of readRun({ run, live: true, pollMs: 25 })) seen.push(sample.__key__);
    })();

    await waitFor(() => seen.length === 3, 'shard 0');
    const tarOnly = await writeShardTar(store, runId, 1, syntheticSamples(1, 4, images));
    const listed = counted.lists();
    await waitFor(() => counted.lists() >= listed + 3, 'three polls');
    expect(seen.filter((k) => k.startsWith('000001_'))).toEqual([]);

    await commitSidecar(store, tarOnly);
    await waitFor(() => seen.length === 7, 'shard 1 after its sidecar');

    await commitSidecar(store, await writeShardTar(store, runId, 2, syntheticSamples(2, 2, images)));
    await writeShardTar(store, runId, 3, syntheticSamples(3, 5, images)); // never committed
    await store.put(keys.success, '{}');
    await reading;

    const expected = [0, 1, 2].flatMap((shard) =>
      Array.from({ length: [3, 4, 2][shard] as number }, (_, i) => keyOf(shard, i)),
    );
    expect([...seen].sort()).toEqual(expected);
  });
});

describe('consumer verify mode', () => {
  let runId: string;
  let headerOffset: number;
  beforeAll(async () => {
    runId = uniqueId('verify');
    await writeSyntheticRun(store, runId, [4, 4, 4, 4], { images });
    const keys = runKeys(runId);
    // Shard 1: one byte of its second member's header flipped.
    const one = new Uint8Array(await store.get(keys.shardTar(1)));
    const members = [];
    for await (const m of readTar([one.slice()])) members.push(m);
    headerOffset = members[1]?.offset as number;
    one[headerOffset + 3] = (one[headerOffset + 3] as number) ^ 0x20;
    await store.put(keys.shardTar(1), one);
    // Shard 2: one byte of an image flipped; the tar still parses.
    const two = new Uint8Array(await store.get(keys.shardTar(2)));
    const firstData = (await readTar([two.slice()]).next()).value?.dataOffset as number;
    two[firstData + 20] = (two[firstData + 20] as number) ^ 0xff;
    await store.put(keys.shardTar(2), two);
    // Shard 3: cut in half.
    const three = await store.get(keys.shardTar(3));
    await store.put(keys.shardTar(3), three.slice(0, 3000));
  });

  it("onCorrupt 'fail': a damaged header is a TarFormatError naming the shard and the header's offset", async () => {
    const run = await openRun(store.url, runId, s3Options());
    const reader = readRun({ run, shuffle: false, verify: true });
    const error = await (async () => {
      for await (const _ of reader);
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TarFormatError);
    expect(error).toMatchObject({ code: 'bad-checksum', offset: headerOffset });
    expect((error as TarFormatError).shard).toMatch(/shard-000001\.tar$/);
    expect(reader.stats.samplesYielded).toBe(4); // shard 0 only, none of shard 1
  });

  it("onCorrupt 'skip': corrupt and truncated shards are counted with name and offset, the rest is read", async () => {
    const run = await openRun(store.url, runId, s3Options());
    const reader = readRun({ run, shuffle: false, verify: true, onCorrupt: 'skip' });
    const seen: string[] = [];
    for await (const sample of reader) seen.push(sample.__key__);
    expect(seen).toEqual([0, 1, 2, 3].map((i) => keyOf(0, i)));
    const bytes2 = run.shards[2]?.bytes;
    expect(reader.stats.corruptShards.map(({ shard, code, offset }) => ({ shard, code, offset }))).toEqual([
      { shard: 1, code: 'bad-checksum', offset: headerOffset },
      { shard: 2, code: 'checksum-mismatch', offset: bytes2 },
      { shard: 3, code: 'truncated', offset: expect.any(Number) },
    ]);
    expect(reader.stats.corruptShards[1]?.url).toMatch(/shard-000002\.tar$/);
    expect(reader.stats.samplesSkipped).toBe(12);
    expect(reader.stats.shardsVerified).toBe(1);
  });

  it('a flipped data byte is caught only by verify: a ChecksumMismatchError for that shard', async () => {
    const run = await openRun(store.url, runId, s3Options());
    const only2 = { ...run, shards: run.shards.filter((s) => s.shard === 2) };
    let plain = 0;
    for await (const _ of readRun({ run: only2 })) plain++;
    expect(plain).toBe(4);
    const error = await (async () => {
      for await (const _ of readRun({ run: only2, verify: true }));
    })().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumMismatchError);
    expect((error as ChecksumMismatchError).shard).toMatch(/shard-000002\.tar$/);
  });

  it('inspectShard: members, samples, class histogram and first labels; matches its sidecar or not', async () => {
    const run = await openRun(store.url, runId, s3Options());
    const good = await inspectShard(run.shards[0]?.url as string, { storeOptions: s3Options(), samples: 2 });
    expect(good.members.map((m) => m.name).slice(0, 3)).toEqual(
      ['cls', 'jpg', 'json'].map((f) => `${keyOf(0, 0)}.${f}`),
    );
    expect(good.samples).toBe(4);
    expect(good.classHistogram).toEqual([1, 1, 1, 1]);
    expect(good.firstSamples).toEqual([
      { key: keyOf(0, 0), fields: ['cls', 'jpg', 'json'], json: { shard: 0, index: 0, calibrated: 0 } },
      { key: keyOf(0, 1), fields: ['cls', 'jpg', 'json'], json: { shard: 0, index: 1, calibrated: 1 } },
    ]);
    expect(good.matchesSidecar).toBe(true);
    const flipped = await inspectShard({ store, key: runKeys(runId).shardTar(2) });
    expect(flipped.matchesSidecar).toBe(false);
    await expect(inspectShard({ store, key: runKeys(runId).shardTar(1) })).rejects.toThrow(TarFormatError);
  });
});

describe('consumer shard URLs', () => {
  let dir: string;
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('lists only committed shards, as s3, pipe (with the custom endpoint) and working presigned URLs', async () => {
    const { s3 } = testStack();
    const runId = uniqueId('urls');
    await writeSyntheticRun(store, runId, [2, 3, 2], { images });
    await writeShardTar(store, runId, 3, syntheticSamples(3, 2, images)); // no sidecar
    const run = await openRun(store.url, runId, s3Options());
    const base = `s3://${s3.bucket}/consumer-tests/${runId}/shards`;
    expect(await shardUrls(run, { scheme: 's3' })).toEqual(
      [0, 1, 2].map((i) => `${base}/shard-00000${i}.tar`),
    );
    expect(await shardUrls(run, { scheme: 'pipe' })).toEqual(
      [0, 1, 2].map((i) => `pipe:aws s3 cp --endpoint-url ${s3.endpoint} ${base}/shard-00000${i}.tar -`),
    );
    expect(await urlTemplate(run, { scheme: 's3' })).toBe(`${base}/shard-{000000..000002}.tar`);
    const presigned = await shardUrls(run, { scheme: 'presigned', expiresInSeconds: 600 });
    expect(presigned).toHaveLength(3);
    for (const [i, url] of presigned.entries()) {
      expect(url).toMatch(/^https?:\/\/.*X-Amz-Signature=/);
      const body = new Uint8Array(await (await fetch(url)).arrayBuffer());
      expect(body).toEqual(await store.get(runKeys(runId).shardTar(i)));
    }
    expect((await urlTemplate(run, { scheme: 'presigned' }))?.split('::')).toHaveLength(3);
  });

  it('a run in a local folder gives plain paths with a brace range', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'synfarm-consumer-'));
    const local = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(local, 'r1', [1, 1], { images });
    const run = await openRun(local.url, 'r1');
    expect(await shardUrls(run, { scheme: 'pipe' })).toEqual(
      [0, 1].map((i) => path.join(dir, 'r1', 'shards', `shard-00000${i}.tar`)),
    );
    expect(await urlTemplate(run)).toBe(path.join(dir, 'r1', 'shards', 'shard-{000000..000001}.tar'));
  });
});
