import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset/index';

const SAMPLES = 1000;
const IMAGE_PX = 112;
/** Distinct JPEGs made before timing; samples cycle through them so encoding is not what we measure. */
const DISTINCT_IMAGES = 16;

async function jpegs(): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: DISTINCT_IMAGES }, async (_, i) => {
      const noise = Buffer.alloc(IMAGE_PX * IMAGE_PX * 3);
      for (let p = 0; p < noise.length; p++) noise[p] = (p * 7 + i * 31 + (p % 13) * 17) % 256;
      const jpeg = await sharp(noise, { raw: { width: IMAGE_PX, height: IMAGE_PX, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer();
      return new Uint8Array(jpeg);
    }),
  );
}

function* samples(images: Uint8Array[], count = SAMPLES): Generator<Sample> {
  for (let i = 0; i < count; i++) {
    yield {
      __key__: `000000_${String(i).padStart(6, '0')}`,
      jpg: images[i % images.length]!,
      json: JSON.stringify({ intended: i % 8, calibrated: i % 8, soft: [0.1, 0.2, 0.7], seed: i }),
      cls: String(i % 8),
    };
  }
}

/**
 * Packs 1,000 samples (112-px JPEG + json + cls) into a tar, sha256 and byte count included as the
 * commit step computes them, into a sink that only counts: the writer's own cost, without storage.
 * A short untimed pass first, so the figure is the steady rate rather than the JIT's warm-up.
 */
export async function benchPack(): Promise<Record<string, number>> {
  const images = await jpegs();
  for await (const _ of digestingStream(writeTar(samples(images, 100)), new StreamDigest()));
  const digest = new StreamDigest();
  let sunk = 0;
  const start = performance.now();
  for await (const chunk of digestingStream(writeTar(samples(images)), digest)) sunk += chunk.length;
  const seconds = (performance.now() - start) / 1000;
  return {
    samples: SAMPLES,
    shardBytes: sunk,
    seconds,
    samplesPerSecond: SAMPLES / seconds,
    megabytesPerSecond: sunk / 1e6 / seconds,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchPack());
}
