import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { openStore } from '../storage';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';
import { compare, type Figures } from './compare';
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
 * Shard pack + streaming upload against a plain single-object upload of the very same bytes,
 * interleaved in one command: the ratio is what streaming the tar (packing, hashing, multipart)
 * costs over moving the bytes. Two shard sizes of 112-px JPEG samples: about 10 MB (one part
 * at the default 16 MiB part size, so one PutObject) and about 43 MB (a real multipart upload
 * of 3 parts). Both sides write to the same store with the same client settings; the pack side
 * hands the store the tar's SHA-256 as the commit does, which a one-part upload sends as its
 * checksum instead of hashing the bytes again.
 */
export async function benchS3Upload(): Promise<Figures> {
  const stack = await benchStack();
  const store = openStore(`s3://${stack.bucket}/bench-${randomBytes(4).toString('hex')}`, stack.s3);
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
    await store.deletePrefix('');
  }
}
