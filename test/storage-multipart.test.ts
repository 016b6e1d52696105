import { createHash, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openStore, type S3ObjectStore, type StoreOptions } from '../storage';
import { S3FaultProxy } from './chaos/fault-proxy';
import { testStack } from './support/stack';

const MiB = 1024 * 1024;

/** Deterministic bytes that differ in every part, so a part sent from a reused buffer shows. */
async function* body(total: number, chunkSize: number, seed = 0): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < total; at += chunkSize) {
    const chunk = new Uint8Array(Math.min(chunkSize, total - at));
    for (let i = 0; i < chunk.length; i++) chunk[i] = ((at + i) * 31 + ((at + i) >> 20) + seed) & 255;
    yield chunk;
  }
}

async function bytesOf(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return Buffer.concat(parts);
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * The S3 store's own multipart uploader: it copies the stream into part-sized buffers and reuses
 * them, so these tests check the bytes of uploads long enough to reuse every buffer, and what a
 * part that fails at the server does. TEST DOUBLE: the fault proxy from the chaos suite stands
 * between the store and the real versitygw to lose a part on cue; nothing else can.
 */
describe('S3 multipart upload', () => {
  let proxy: S3FaultProxy;
  const stores: S3ObjectStore[] = [];
  let client: S3Client;

  beforeAll(async () => {
    const { s3 } = testStack();
    proxy = new S3FaultProxy({ upstream: s3.endpoint, port: 0, random: () => 0.5, rate: 0, stallMs: [1, 2] });
    await proxy.start();
    client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      forcePathStyle: true,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
  });
  afterAll(async () => {
    for (const store of stores) {
      await store.deletePrefix('');
      store.destroy();
    }
    client.destroy();
    await proxy.stop();
  });

  function open(options: StoreOptions & { viaProxy?: boolean }): S3ObjectStore {
    const { s3 } = testStack();
    const { viaProxy, ...storeOptions } = options;
    const store = openStore(`s3://${s3.bucket}/multipart-${randomUUID()}`, {
      endpoint: viaProxy ? `http://127.0.0.1:${proxy.address!.port}` : s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      partSize: 5 * MiB,
      ...storeOptions,
    }) as S3ObjectStore;
    stores.push(store);
    return store;
  }

  const unfinishedUploads = async (store: S3ObjectStore) =>
    (await client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: store.prefix })))
      .Uploads ?? [];

  it.each([
    ['one part in flight, 8 parts from 2 buffers', 1, 38 * MiB + 12345, 100_000],
    ['three in flight, a body of exactly 4 parts in large chunks', 3, 20 * MiB, 3 * MiB + 7],
    ['a body smaller than one part, one PutObject', 2, 1234, 1000],
    ['an empty body', 2, 0, 1],
  ])('stores the stream byte for byte: %s', async (_, queueSize, total, chunkSize) => {
    const store = open({ queueSize });
    const { bytes } = await store.putStream('shard.tar', body(total, chunkSize));
    expect(bytes).toBe(total);
    const stored = await store.get('shard.tar');
    expect(stored.length).toBe(total);
    expect(sha256(stored)).toBe(sha256(await bytesOf(body(total, chunkSize))));
    expect(await unfinishedUploads(store)).toEqual([]);
  });

  it("uploads one after another and side by side share the store's part buffers, each storing its own bytes", async () => {
    const store = open({ queueSize: 2 });
    const upload = async (name: string, total: number, seed: number) => {
      await store.putStream(name, body(total, 200_000, seed));
      expect(sha256(await store.get(name))).toBe(sha256(await bytesOf(body(total, 200_000, seed))));
    };
    await upload('first.tar', 17 * MiB, 1);
    await upload('shorter.tar', MiB + 3, 2); // one PutObject from a buffer that held longer data
    await Promise.all([
      upload('a.tar', 12 * MiB, 3),
      upload('b.tar', 11 * MiB + 9, 4),
      upload('c.tar', 7, 5),
    ]);
  });

  it('retries parts that the server answered with faults, and the object is still whole', async () => {
    const store = open({ viaProxy: true, queueSize: 2 });
    proxy.arm(); // each fault once: slowdown, reset, truncate and stall, on parts among others
    try {
      await store.putStream('shard.tar', body(26 * MiB, 64 * 1024));
    } finally {
      proxy.disarm();
    }
    expect(Object.values(proxy.counts.part).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(sha256(await store.get('shard.tar'))).toBe(sha256(await bytesOf(body(26 * MiB, 64 * 1024))));
  });

  it('a part lost for good fails the upload, aborts it on the server and leaves no object', async () => {
    const store = open({ viaProxy: true, maxAttempts: 1, queueSize: 2 });
    proxy.onNextPart(async () => {});
    await expect(store.putStream('shard.tar', body(16 * MiB, 64 * 1024))).rejects.toThrow();
    expect(await store.head('shard.tar')).toBeNull();
    expect(await unfinishedUploads(store)).toEqual([]);
  });

  it('a part lost while the body waits for its next chunk fails the upload at once', async () => {
    const store = open({ viaProxy: true, maxAttempts: 1, queueSize: 3 });
    proxy.onNextPart(async () => {});
    async function* stalled() {
      yield* body(6 * MiB, 64 * 1024);
      await new Promise(() => {}); // the producer hangs; only the lost part can end this upload
    }
    await expect(store.putStream('shard.tar', stalled())).rejects.toThrow();
    expect(await store.head('shard.tar')).toBeNull();
    expect(await unfinishedUploads(store)).toEqual([]);
  });

  it('an abort after the body ended, while its last parts upload, still aborts the upload', async () => {
    const store = open({ viaProxy: true, queueSize: 3 });
    const controller = new AbortController();
    let ended = false;
    async function* whole() {
      yield* body(11 * MiB, 64 * 1024);
      ended = true;
    }
    // The first part is held at the proxy until the body has ended, then the abort comes.
    proxy.onNextPart(async () => {
      await vi.waitFor(() => expect(ended).toBe(true), { timeout: 30_000 });
      controller.abort(new Error('run cancelled'));
    });
    await expect(store.putStream('shard.tar', whole(), { signal: controller.signal })).rejects.toThrow(
      'run cancelled',
    );
    expect(await store.head('shard.tar')).toBeNull();
    expect(await unfinishedUploads(store)).toEqual([]);
  });

  it("one-part bodies sent with the caller's SHA-256 are stored; the server refuses one whose digest disagrees", async () => {
    const store = open({ queueSize: 2 });
    const commands: string[] = [];
    store.observeRequests((command) => commands.push(command));
    const total = 3 * MiB + 17;
    const right = sha256(await bytesOf(body(total, 64 * 1024)));
    const wrong = sha256(await bytesOf(body(total, 64 * 1024, 1)));
    // The first upload goes signed, the later ones unsigned (versitygw confirms checksums).
    for (const name of ['first.tar', 'second.tar']) {
      await store.putStream(name, body(total, 64 * 1024), { sha256: () => right });
      expect(sha256(await store.get(name))).toBe(right);
    }
    expect(commands.filter((c) => c === 'PutObjectCommand')).toHaveLength(2);
    // The digest of other bytes: versitygw checks the body against it and stores nothing.
    await expect(
      store.putStream('other.tar', body(total, 64 * 1024), { sha256: () => wrong }),
    ).rejects.toThrow();
    expect(await store.head('other.tar')).toBeNull();
  });

  describe('one-part bodies with their SHA-256, seen on the wire', () => {
    // TEST DOUBLE: a recorder stands in for S3 to capture signed requests as a store sends them
    // and to answer as servers of other kinds would; a captured request is then replayed to the
    // real versitygw, as an attacker on the path would, unchanged and tampered with.
    type Answer = 'confirm' | 'ignore' | 'deny-unsigned';
    let answer: Answer = 'confirm';
    type Captured = { headers: IncomingHttpHeaders; path: string; body: Buffer };
    const captured: Captured[] = [];
    const recorder = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        captured.push({ headers: req.headers, path: req.url ?? '/', body: Buffer.concat(chunks) });
        const checksum = req.headers['x-amz-checksum-sha256'];
        if (answer === 'deny-unsigned' && req.headers['x-amz-content-sha256'] === 'UNSIGNED-PAYLOAD') {
          res.writeHead(403).end('<Error><Code>AccessDenied</Code></Error>');
          return;
        }
        const echo =
          answer !== 'ignore' && typeof checksum === 'string' ? { 'x-amz-checksum-sha256': checksum } : {};
        res.writeHead(200, { etag: '"recorded"', ...echo }).end();
      });
    });
    beforeAll(() => new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', resolve)));
    afterAll(() => new Promise<void>((resolve) => recorder.close(() => resolve())));

    const data = () => bytesOf(body(MiB + 5, 64 * 1024));
    function recorded(): S3ObjectStore {
      const { s3 } = testStack();
      return openStore(`s3://${s3.bucket}/multipart-${randomUUID()}`, {
        endpoint: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`,
        region: s3.region,
        credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
        maxAttempts: 1,
      }) as S3ObjectStore;
    }
    async function upload(store: S3ObjectStore): Promise<Captured[]> {
      const from = captured.length;
      const bytes = await data();
      await store.putStream('shard.tar', body(MiB + 5, 64 * 1024), { sha256: () => sha256(bytes) });
      for (const sent of captured.slice(from)) expect(sha256(sent.body)).toBe(sha256(bytes));
      return captured.slice(from);
    }
    const payloadHashes = (sent: Captured[]) => sent.map((s) => s.headers['x-amz-content-sha256']);

    it('the first goes signed; to a server that confirms its checksum the next go unsigned, bound to the signature by the checksum', async () => {
      answer = 'confirm';
      const store = recorded();
      const hex = sha256(await data());
      expect(payloadHashes(await upload(store))).toEqual([hex]);
      const [sent] = await upload(store);
      expect(payloadHashes([sent!])).toEqual(['UNSIGNED-PAYLOAD']);
      expect(sent!.headers['x-amz-checksum-sha256']).toBe(Buffer.from(hex, 'hex').toString('base64'));
      store.destroy();

      const { s3 } = testStack();
      const replay = (bodyBytes: Buffer, checksum?: string) =>
        new Promise<number>((resolve, reject) => {
          const { hostname, port } = new URL(s3.endpoint);
          const headers: IncomingHttpHeaders = {
            ...sent!.headers,
            'content-length': String(bodyBytes.length),
          };
          if (checksum) headers['x-amz-checksum-sha256'] = checksum;
          const req = httpRequest({ hostname, port, method: 'PUT', path: sent!.path, headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end(bodyBytes);
        });
      const original = await data();
      const other = Buffer.from(original);
      other[12345] = (other[12345]! + 1) & 255;
      const otherChecksum = Buffer.from(sha256(other), 'hex').toString('base64');
      expect(await replay(other)).toBe(400); // other bytes: the checksum does not match
      expect(await replay(other, otherChecksum)).toBe(403); // their checksum too: the signature breaks
      const Key = `${store.prefix}shard.tar`;
      await expect(client.send(new HeadObjectCommand({ Bucket: store.bucket, Key }))).rejects.toThrow();
      expect(await replay(original)).toBe(200); // the request as sent is accepted
      const stored = await client.send(new GetObjectCommand({ Bucket: store.bucket, Key }));
      expect(sha256(await stored.Body!.transformToByteArray())).toBe(hex);
      await client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key }));
    });

    it('an unsigned upload that is refused or not confirmed goes again signed, and so do the later ones', async () => {
      const hex = sha256(await data());
      for (const turn of ['deny-unsigned', 'ignore'] as const) {
        answer = 'confirm';
        const store = recorded();
        await upload(store);
        answer = turn;
        expect(payloadHashes(await upload(store))).toEqual(['UNSIGNED-PAYLOAD', hex]);
        answer = 'confirm';
        expect(payloadHashes(await upload(store))).toEqual([hex]);
        store.destroy();
      }
    });

    it('a server that never confirms checksums only ever gets signed uploads', async () => {
      answer = 'ignore';
      const store = recorded();
      const hex = sha256(await data());
      expect(payloadHashes([...(await upload(store)), ...(await upload(store))])).toEqual([hex, hex]);
      store.destroy();
    });

    it('with AWS_REQUEST_CHECKSUM_CALCULATION=when_required no checksum is sent, only the signed payload hash', async () => {
      answer = 'confirm';
      vi.stubEnv('AWS_REQUEST_CHECKSUM_CALCULATION', 'when_required');
      try {
        const store = recorded();
        const hex = sha256(await data());
        const sent = [...(await upload(store)), ...(await upload(store))];
        expect(payloadHashes(sent)).toEqual([hex, hex]);
        expect(sent.map((s) => s.headers['x-amz-checksum-sha256'])).toEqual([undefined, undefined]);
        store.destroy();
      } finally {
        vi.unstubAllEnvs();
      }
    });
  });

  it('a body of exactly one part is one PutObject', async () => {
    const store = open({ queueSize: 2 });
    const commands: string[] = [];
    store.observeRequests((command) => commands.push(command));
    await store.putStream('shard.tar', body(5 * MiB, 64 * 1024));
    expect(commands).toEqual(['PutObjectCommand']);
    expect((await store.get('shard.tar')).length).toBe(5 * MiB);
  });
});
