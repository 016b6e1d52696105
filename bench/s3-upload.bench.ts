import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import sharp from 'sharp';
import { openStore } from '../storage';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';
import { benchStack } from './stack';

const SAMPLES = 1000;

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
 * Shard pack + multipart upload of 1,000 112-px JPEG samples to the local S3, next to a plain
 * single-object upload of the very same bytes in the same run: the ratio is what streaming the
 * tar (packing, hashing, multipart) costs over moving the bytes.
 */
export async function benchS3Upload(): Promise<Record<string, number>> {
  const stack = await benchStack();
  const store = openStore(`s3://${stack.bucket}/bench-${randomBytes(4).toString('hex')}`, stack.s3);
  const images = await distinctJpegs(16);
  const samples = function* (): Generator<Sample> {
    for (let i = 0; i < SAMPLES; i++) {
      yield {
        __key__: `000000_${String(i).padStart(6, '0')}`,
        jpg: images[i % 16]!,
        json: `{"i":${i}}`,
        cls: String(i % 8),
      };
    }
  };
  // Warm-up: connections, JIT.
  await store.putStream('warm.tar', Readable.from(writeTar(samples())));

  const digest = new StreamDigest();
  let t = performance.now();
  await store.putStream('shard.tar', Readable.from(digestingStream(writeTar(samples()), digest)));
  const packSeconds = (performance.now() - t) / 1000;

  const bytes = await store.get('shard.tar');
  t = performance.now();
  await store.put('plain.tar', bytes);
  const plainSeconds = (performance.now() - t) / 1000;
  await store.deletePrefix('');
  return {
    samples: SAMPLES,
    megabytes: digest.bytes / 1e6,
    packUploadSeconds: packSeconds,
    packUploadSamplesPerSecond: SAMPLES / packSeconds,
    packUploadMegabytesPerSecond: digest.bytes / 1e6 / packSeconds,
    plainUploadSeconds: plainSeconds,
    plainUploadMegabytesPerSecond: digest.bytes / 1e6 / plainSeconds,
    ratioPackUploadToPlain: packSeconds / plainSeconds,
  };
}
