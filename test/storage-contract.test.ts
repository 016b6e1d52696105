import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FileObjectStore,
  InvalidKeyError,
  InvalidRangeError,
  ObjectNotFoundError,
  type ObjectStore,
  openStore,
  type S3ObjectStore,
} from '../storage';
import { withPartCache } from '../storage/part-cache';
import { testStack } from './support/stack';

const MiB = 1024 * 1024;

interface Backend {
  name: string;
  open(): Promise<ObjectStore>;
  close(store: ObjectStore): Promise<void>;
  /** Number of multipart parts the stored object was assembled from (undefined: not multipart). */
  partsOf?(store: ObjectStore, key: string): Promise<number | undefined>;
}

const cacheRoots = new Map<ObjectStore, string>();

const backends: Backend[] = [
  {
    name: 'S3ObjectStore',
    async open() {
      const { s3 } = testStack();
      return openStore(`s3://${s3.bucket}/contract-${randomUUID()}`, {
        endpoint: s3.endpoint,
        region: s3.region,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        partSize: 5 * MiB,
      });
    },
    async close(store) {
      await store.deletePrefix('');
      (store as S3ObjectStore).destroy();
    },
    async partsOf(store, key) {
      const { s3 } = testStack();
      const client = new S3Client({
        endpoint: s3.endpoint,
        region: s3.region,
        forcePathStyle: true,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      });
      const s3store = store as S3ObjectStore;
      const out = await client.send(
        new HeadObjectCommand({ Bucket: s3store.bucket, Key: s3store.prefix + key }),
      );
      client.destroy();
      // A multipart object's ETag is "<md5 of part md5s>-<part count>".
      const match = /-(\d+)"?$/.exec(out.ETag ?? '');
      return match ? Number(match[1]) : undefined;
    },
  },
  {
    name: 'FileObjectStore',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'synfarm store '));
      return openStore(pathToFileURL(join(dir, 'out')).href);
    },
    async close(store) {
      await rm(join((store as FileObjectStore).root, '..'), { recursive: true, force: true });
    },
  },
  {
    // The worker's part cache must keep every guarantee of the store it wraps: a small budget, so
    // the contract's large objects exercise both the cached and the pass-through paths.
    name: 'withPartCache(FileObjectStore)',
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'synfarm store '));
      const inner = openStore(pathToFileURL(join(dir, 'out')).href) as FileObjectStore;
      const store = withPartCache(inner, { maxBytes: MiB, cacheable: () => true });
      cacheRoots.set(store, inner.root);
      return store;
    },
    async close(store) {
      await rm(join(cacheRoots.get(store)!, '..'), { recursive: true, force: true });
    },
  },
];

/** Deterministic bytes: byte i of the object is a function of (i, seed), so any slice can be checked. */
function pattern(start: number, length: number, seed = 7): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = ((start + i) * 131 + seed + ((start + i) >> 13)) & 255;
  return out;
}

async function* chunks(total: number, chunkSize = 64 * 1024, seed = 7): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < total; offset += chunkSize) {
    yield pattern(offset, Math.min(chunkSize, total - offset), seed);
  }
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

async function collect(stream: Readable): Promise<Uint8Array> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(Buffer.from(part));
  return new Uint8Array(Buffer.concat(parts));
}

async function keys(store: ObjectStore, prefix: string): Promise<string[]> {
  const out: string[] = [];
  for await (const info of store.list(prefix)) out.push(info.key);
  return out;
}

/** Reads a publicUrl the way a consumer without synfarm would. */
async function readUrl(url: string): Promise<Uint8Array> {
  if (url.startsWith('file:')) return new Uint8Array(await readFile(fileURLToPath(url)));
  const response = await fetch(url);
  expect(response.status).toBe(200);
  return new Uint8Array(await response.arrayBuffer());
}

describe.each(backends)('ObjectStore contract: $name', (backend) => {
  let store: ObjectStore;
  beforeAll(async () => {
    store = await backend.open();
  });
  afterAll(async () => {
    if (store) await backend.close(store);
  });

  it('returns exactly the bytes put, binary and UTF-8 text alike', async () => {
    const binary = pattern(0, 1000);
    await store.put('rw/binary.bin', binary);
    await store.put('rw/text.json', '{"label":"happy","é":"ü"}', { contentType: 'application/json' });
    expect(await store.get('rw/binary.bin')).toEqual(binary);
    expect(new TextDecoder().decode(await store.get('rw/text.json'))).toBe('{"label":"happy","é":"ü"}');
  });

  it('replaces an object when the same key is put again', async () => {
    await store.put('rw/replace', 'first version');
    await store.put('rw/replace', 'second');
    expect(new TextDecoder().decode(await store.get('rw/replace'))).toBe('second');
    expect(await store.head('rw/replace')).toEqual({ key: 'rw/replace', size: 6 });
  });

  it('stores an empty object', async () => {
    await store.put('rw/empty', new Uint8Array());
    expect(await store.get('rw/empty')).toEqual(new Uint8Array());
    expect(await store.head('rw/empty')).toEqual({ key: 'rw/empty', size: 0 });
  });

  it('throws ObjectNotFoundError naming the key when getting a missing object', async () => {
    const error = await store.get('rw/never-written').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ObjectNotFoundError);
    expect(error).toMatchObject({ code: 'object-not-found', key: 'rw/never-written' });
    await expect(store.getStream('rw/never-written')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('heads an object to its size, and a missing key or a mere folder to null', async () => {
    await store.put('head/dir/leaf', pattern(0, 321));
    expect(await store.head('head/dir/leaf')).toEqual({ key: 'head/dir/leaf', size: 321 });
    expect(await store.head('head/missing')).toBeNull();
    expect(await store.head('head/dir')).toBeNull();
  });

  it('lists keys in UTF-8 byte order across folders, whatever the write order', async () => {
    const written = ['b', 'a/b', 'a-c', 'a0', 'a/c/d', 'ab', 'A', 'z', 'é', '😀', '～', 'a/b0', 'a/b/c'];
    for (const key of written.filter((k) => k !== 'a/b')) await store.put(`order/${key}`, key);
    // 'a/b' cannot coexist with 'a/b/c' on a posix-backed store; keep the rest of the tree.
    const expected = [
      'order/A',
      'order/a-c',
      'order/a/b/c',
      'order/a/b0',
      'order/a/c/d',
      'order/a0',
      'order/ab',
      'order/b',
      'order/z',
      'order/é',
      'order/～',
      'order/😀',
    ];
    expect(await keys(store, 'order/')).toEqual(expected);
  });

  it('lists only keys that start with the prefix, even mid-name, with their sizes', async () => {
    await store.put('pfx/shards/shard-000001.tar', pattern(0, 10));
    await store.put('pfx/shards/shard-000001.json', pattern(0, 3));
    await store.put('pfx/shards/shard-000002.tar', pattern(0, 20));
    await store.put('pfx/shards/shard-000010.tar', pattern(0, 5));
    await store.put('pfx/shardsX', pattern(0, 1));
    const listed: { key: string; size: number }[] = [];
    for await (const info of store.list('pfx/shards/shard-00000')) listed.push(info);
    expect(listed).toEqual([
      { key: 'pfx/shards/shard-000001.json', size: 3 },
      { key: 'pfx/shards/shard-000001.tar', size: 10 },
      { key: 'pfx/shards/shard-000002.tar', size: 20 },
    ]);
    expect(await keys(store, 'pfx/shards')).toHaveLength(5);
    expect(await keys(store, 'pfx/nothing-here/')).toEqual([]);
  });

  it('deletes one key, and deleting a missing key is a no-op', async () => {
    await store.put('del/one', 'x');
    await store.put('del/two', 'y');
    await store.delete('del/one');
    await store.delete('del/never-there');
    expect(await store.head('del/one')).toBeNull();
    expect(await keys(store, 'del/')).toEqual(['del/two']);
  });

  it('deletePrefix removes exactly the keys under the prefix and counts them', async () => {
    for (const key of [
      'dp/run/staging/p1',
      'dp/run/staging/sub/p2',
      'dp/run/staging/p3',
      'dp/run/stagingX',
    ]) {
      await store.put(key, key);
    }
    expect(await store.deletePrefix('dp/run/staging/')).toBe(3);
    expect(await keys(store, 'dp/')).toEqual(['dp/run/stagingX']);
    expect(await store.deletePrefix('dp/run/staging/')).toBe(0);
  });

  it('putStream stores a 12.5 MiB stream byte for byte, in several 5 MiB parts on S3', async () => {
    const size = 12.5 * MiB;
    const result = await store.putStream('big/shard-000001.tar', chunks(size), {
      contentType: 'application/x-tar',
    });
    expect(result).toEqual({ bytes: size });
    expect(await store.head('big/shard-000001.tar')).toEqual({ key: 'big/shard-000001.tar', size });
    expect(sha256(await store.get('big/shard-000001.tar'))).toBe(sha256(pattern(0, size)));
    if (backend.partsOf) expect(await backend.partsOf(store, 'big/shard-000001.tar')).toBe(3);
  });

  it('putStream accepts a Node Readable, including one smaller than a part', async () => {
    const body = Readable.from([Buffer.from('hello '), Buffer.from('world')]);
    expect(await store.putStream('big/small.txt', body)).toEqual({ bytes: 11 });
    expect(new TextDecoder().decode(await store.get('big/small.txt'))).toBe('hello world');
  });

  it('putStream keeps a new key invisible, and an old version whole, until it resolves', async () => {
    await store.put('atomic/shard.tar', 'old version');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let arrivals = 0;
    let bothAtGate!: () => void;
    const atGate = new Promise<void>((resolve) => {
      bothAtGate = resolve;
    });
    async function* body(seed: number) {
      yield* chunks(6 * MiB, 64 * 1024, seed);
      if (++arrivals === 2) bothAtGate();
      await gate;
      yield* chunks(MiB, 64 * 1024, seed);
    }
    const create = store.putStream('atomic/new.tar', body(1));
    const replace = store.putStream('atomic/shard.tar', body(2));
    await atGate;
    expect(await store.head('atomic/new.tar')).toBeNull();
    expect(await keys(store, 'atomic/')).toEqual(['atomic/shard.tar']);
    expect(new TextDecoder().decode(await store.get('atomic/shard.tar'))).toBe('old version');
    release();
    await Promise.all([create, replace]);
    expect(await store.head('atomic/new.tar')).toEqual({ key: 'atomic/new.tar', size: 7 * MiB });
    expect(await store.head('atomic/shard.tar')).toEqual({ key: 'atomic/shard.tar', size: 7 * MiB });
  });

  it('putStream whose body fails midway rejects and leaves no object behind', async () => {
    async function* failing() {
      yield* chunks(6 * MiB);
      throw new Error('generator crashed');
    }
    await expect(store.putStream('broken/shard.tar', failing())).rejects.toThrow();
    expect(await store.head('broken/shard.tar')).toBeNull();
    expect(await keys(store, 'broken/')).toEqual([]);
  });

  it('getStream reads whole objects and inclusive byte ranges, clamping an end past the object', async () => {
    const data = pattern(0, 5000);
    await store.put('range/obj', data);
    expect(await collect(await store.getStream('range/obj'))).toEqual(data);
    expect(await collect(await store.getStream('range/obj', { start: 0, end: 0 }))).toEqual(data.slice(0, 1));
    expect(await collect(await store.getStream('range/obj', { start: 100, end: 1123 }))).toEqual(
      data.slice(100, 1124),
    );
    expect(await collect(await store.getStream('range/obj', { start: 4990 }))).toEqual(data.slice(4990));
    expect(await collect(await store.getStream('range/obj', { start: 4000, end: 99999 }))).toEqual(
      data.slice(4000),
    );
  });

  it('getStream rejects a range that starts past the end or is malformed with InvalidRangeError', async () => {
    await store.put('range/short', 'abc');
    await expect(store.getStream('range/short', { start: 3 })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(store.getStream('range/short', { start: -1 })).rejects.toBeInstanceOf(InvalidRangeError);
    await expect(store.getStream('range/short', { start: 2, end: 1 })).rejects.toBeInstanceOf(
      InvalidRangeError,
    );
  });

  it('putIfAbsent writes only the first time and never replaces the existing object', async () => {
    expect(await store.putIfAbsent('once/spec.json', 'first')).toBe(true);
    expect(await store.putIfAbsent('once/spec.json', 'second')).toBe(false);
    expect(new TextDecoder().decode(await store.get('once/spec.json'))).toBe('first');
  });

  /**
   * Exactly one winner holds for the file store and for AWS S3, whose conditional writes are
   * atomic. versitygw v1.7.0 (the S3 server here) checks the condition before it writes, not
   * atomically: once, two of six concurrent writers won. The commit protocol needs only what
   * holds everywhere: a writer told "won" wrote the stored body, and a refused one did not.
   * Sidecars are deterministic (every writer's bytes are the same), and index merges read back.
   */
  const atomicConditions = backend.name !== 'S3ObjectStore';

  it("putIfAbsent: the stored body is a winner's, and only one wins where conditions are atomic", async () => {
    const writers = Array.from({ length: 6 }, (_, i) => store.putIfAbsent('once/race', `writer ${i}`));
    const results = await Promise.all(writers);
    const winners = results.flatMap((won, i) => (won ? [`writer ${i}`] : []));
    expect(winners.length).toBeGreaterThanOrEqual(1);
    if (atomicConditions) expect(winners).toHaveLength(1);
    expect(winners).toContain(new TextDecoder().decode(await store.get('once/race')));
  });

  it('putIfMatch writes only over the version it read, or only when absent with a null etag', async () => {
    const text = async (key: string) => new TextDecoder().decode(await store.get(key));
    expect(await store.putIfMatch('cas/index.json', 'v1', null)).toBe(true);
    expect(await store.putIfMatch('cas/index.json', 'v1 again', null)).toBe(false);
    const first = await store.getVersioned('cas/index.json');
    expect(new TextDecoder().decode(first.body)).toBe('v1');
    expect(await store.putIfMatch('cas/index.json', 'v2', first.etag)).toBe(true);
    // The version read before v2 is stale now: the write is refused and v2 stays.
    expect(await store.putIfMatch('cas/index.json', 'stale', first.etag)).toBe(false);
    expect(await text('cas/index.json')).toBe('v2');
    const second = await store.getVersioned('cas/index.json');
    expect(second.etag).not.toBe(first.etag);
    await store.delete('cas/index.json');
    expect(await store.putIfMatch('cas/index.json', 'resurrected', second.etag)).toBe(false);
    await expect(store.head('cas/index.json')).resolves.toBeNull();
    await expect(store.getVersioned('cas/index.json')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it("putIfMatch: the stored body is a winner's among writers holding the same version", async () => {
    await store.put('cas/race', 'base');
    const { etag } = await store.getVersioned('cas/race');
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.putIfMatch('cas/race', `writer ${i}`, etag)),
    );
    const winners = results.flatMap((won, i) => (won ? [`writer ${i}`] : []));
    expect(winners.length).toBeGreaterThanOrEqual(1);
    if (atomicConditions) expect(winners).toHaveLength(1);
    expect(winners).toContain(new TextDecoder().decode(await store.get('cas/race')));
  });

  it('publicUrl gives a URL that reads back the same bytes without synfarm', async () => {
    const data = pattern(0, 70_000, 3);
    await store.put('public/shard 1+é.tar', data);
    const url = await store.publicUrl('public/shard 1+é.tar', { expiresInSeconds: 600 });
    expect(url).toMatch(/^(https?|file):\/\//);
    expect(await readUrl(url)).toEqual(data);
  });

  it('rejects keys that are empty, absolute, dotted, doubled or reserved, writing nothing', async () => {
    for (const key of [
      '',
      '/abs',
      'a//b',
      '../escape',
      'a/../b',
      './a',
      'folder/',
      '.synfarm-tmp/x',
      'a\\b',
    ]) {
      await expect(store.put(key, 'x'), key).rejects.toBeInstanceOf(InvalidKeyError);
    }
    await expect(keys(store, '../')).rejects.toBeInstanceOf(InvalidKeyError);
    for (const key of ['abs', 'a/b', 'b', 'a', 'x']) expect(await store.head(key), key).toBeNull();
  });

  it('never lists its own staging files, even while a write is in progress', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedGate!: () => void;
    const atGate = new Promise<void>((resolve) => {
      reachedGate = resolve;
    });
    async function* body() {
      yield pattern(0, 1000);
      reachedGate();
      await gate;
    }
    const upload = store.putStream('staging-check/x', body());
    await atGate;
    const all = await keys(store, '');
    release();
    await upload;
    expect(all.filter((k) => k.includes('synfarm') || k.includes('staging-check'))).toEqual([]);
  });
});

describe('FileObjectStore on disk', () => {
  it('leaves no temp file behind after a failed stream', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'synfarm-fs-'));
    const store = new FileObjectStore(dir);
    async function* failing() {
      yield pattern(0, 100);
      throw new Error('boom');
    }
    await expect(store.putStream('x/y', failing())).rejects.toThrow('boom');
    expect(await readdir(join(dir, '.synfarm-tmp'))).toEqual([]);
    await rm(dir, { recursive: true, force: true });
  });
});
