import { randomBytes } from 'node:crypto';
import {
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { openStore } from '../storage';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';
import { compare, type Figures } from './compare';
import { benchStack } from './stack';

const SAMPLES = 1000;
/** The store's defaults, written out because the plain multipart side must match them. */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;

async function distinctJpegs(n: number): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const px = Buffer.alloc(112 * 112 * 3);
      for (let p = 0; p < px.length; p++) px[p] = (p * 5 + i * 37 + (p % 11) * 13) % 256;
      return new Uint8Array(
        await sharp(px, { raw: { width: 112, height: 112, channels: 3 } })
          .jpeg()
          .toBuffer(),
      );
    }),
  );
}

/**
 * The SDK's own multipart upload of bytes already in memory: parts of `partSize`, `queueSize` in
 * flight, each hashed by the SDK as usual. The same work as the store's multipart upload minus
 * packing, so it isolates what multipart itself costs on this server.
 */
async function plainMultipart(client: S3Client, bucket: string, key: string, bytes: Uint8Array) {
  // Parts checksummed with CRC32 and the upload declaring it, as the store's multipart does.
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ChecksumAlgorithm: 'CRC32' }),
  );
  const parts: CompletedPart[] = [];
  const inFlight = new Set<Promise<void>>();
  for (let at = 0, n = 1; at < bytes.length; at += PART_SIZE, n++) {
    const PartNumber = n;
    const Body = bytes.subarray(at, Math.min(bytes.length, at + PART_SIZE));
    const sent = client
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber, Body }))
      .then(({ ETag, ChecksumCRC32 }) => {
        parts.push({ PartNumber, ETag, ChecksumCRC32 });
      })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
    while (inFlight.size >= QUEUE_SIZE) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  parts.sort((a, b) => a.PartNumber! - b.PartNumber!);
  await client.send(
    new CompleteMultipartUploadCommand({
      Bucket: bucket,
      Key: key,
      UploadId,
      MultipartUpload: { Parts: parts },
    }),
  );
}

/**
 * Shard pack + streaming upload against a plain single-object upload of the very same bytes,
 * interleaved in one command: the ratio is what streaming the tar (packing, hashing, multipart)
 * costs over moving the bytes. Two shard sizes of 112-px JPEG samples: about 10 MB (one part
 * at the default 16 MiB part size, so one PutObject) and about 43 MB (a real multipart upload
 * of 3 parts). Both sides write to the same store with the same client settings; the pack side
 * hands the store the tar's SHA-256 as the commit does, which a one-part upload sends as its
 * checksum instead of hashing the bytes again. The multipart case has a second baseline, the
 * SDK's multipart upload of the same bytes with the same part size and parts in flight: a plain
 * PutObject is not the same work there (the server assembles the parts at completion), so the
 * two ratios separate what multipart costs from what packing and streaming cost.
 */
export async function benchS3Upload(): Promise<Figures> {
  const stack = await benchStack();
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const store = openStore(`s3://${stack.bucket}/${prefix}`, {
    ...stack.s3,
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
  });
  const client = new S3Client({
    region: stack.s3.region,
    endpoint: stack.s3.endpoint,
    forcePathStyle: true,
    credentials: stack.s3.credentials,
  });
  const images = await distinctJpegs(16);
  const samples = function* (count: number): Generator<Sample> {
    for (let i = 0; i < count; i++) {
      yield {
        __key__: `000000_${String(i).padStart(6, '0')}`,
        jpg: images[i % 16]!,
        json: `{"i":${i}}`,
        cls: String(i % 8),
      };
    }
  };
  const figures: Figures = {};
  try {
    for (const [name, count] of [
      ['s3_upload_10mb', SAMPLES],
      ['s3_upload_43mb_multipart', 4 * SAMPLES],
    ] as const) {
      let bytes = 0;
      const packUpload = async () => {
        const digest = new StreamDigest();
        await store.putStream(`${name}.tar`, digestingStream(writeTar(samples(count)), digest), {
          sha256: digest.ended,
        });
        bytes = digest.bytes;
      };
      await packUpload();
      const tar = await store.get(`${name}.tar`);
      Object.assign(
        figures,
        { [`${name}.samples`]: count, [`${name}.megabytes`]: tar.length / 1e6 },
        await compare({
          name,
          sides: [
            { name: 'pack_upload', run: packUpload },
            { name: 'plain_put', run: () => store.put(`${name}-plain.tar`, tar) },
            ...(tar.length > PART_SIZE
              ? [
                  {
                    name: 'plain_multipart',
                    run: () => plainMultipart(client, stack.bucket, `${prefix}/${name}-mp.tar`, tar),
                  },
                ]
              : []),
          ],
          repetitions: 5,
          warmups: 1,
          work: { count: tar.length / 1e6, unit: 'MB' },
        }),
      );
      if (bytes !== tar.length) throw new Error(`packed ${bytes} bytes, read back ${tar.length}`);
    }
    return figures;
  } finally {
    client.destroy();
    await store.deletePrefix('');
  }
}
