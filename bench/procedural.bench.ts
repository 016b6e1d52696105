import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createProceduralGenerator, identityFromSeed, prototypeAus } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { type SampleRequest, SampleRequestSchema } from '../plan/request';

function requests(n: number): SampleRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const classIndex = i % AFFECTNET_CLASSES.length;
    const className = AFFECTNET_CLASSES[classIndex] ?? 'neutral';
    return SampleRequestSchema.parse({
      key: `000000_${String(i).padStart(6, '0')}`,
      shard: 0,
      index: i,
      round: 0,
      classIndex,
      className,
      aus: prototypeAus(className),
      auSide: className === 'contempt' ? { AU12: 'left', AU14: 'left' } : {},
      identity: identityFromSeed(i),
      prompt: i % 3 === 0 ? 'middle-aged woman, glasses, warm light' : '',
      generatorSeed: (i * 2654435761) >>> 0,
    });
  });
}

async function imagesPerSecond(size: number, parallel: number, n: number): Promise<number> {
  const gen = createProceduralGenerator({ parallel });
  const reqs = requests(n);
  await gen.generate(reqs.slice(0, 16), { size, format: 'jpg', quality: 90 });
  const t0 = performance.now();
  // Batches of 32, as the generate activity stages them.
  for (let i = 0; i < reqs.length; i += 32) {
    await gen.generate(reqs.slice(i, i + 32), { size, format: 'jpg', quality: 90 });
  }
  return (n * 1000) / (performance.now() - t0);
}

/**
 * Procedural generator throughput in one process: JPEG images per second at 112 and 224 px,
 * rendering one image at a time (per core figure) and with the generator's default parallelism,
 * plus the process's peak RSS.
 */
export async function benchProcedural(): Promise<Record<string, number>> {
  // Small images: libvips' own threads only add hand-off cost; parallelism comes from rendering
  // several images at once on libuv's pool instead.
  const previous = sharp.concurrency();
  sharp.concurrency(1);
  try {
    const out: Record<string, number> = {};
    for (const size of [112, 224]) {
      out[`procedural_${size}px_jpg_serial_img_per_s`] = await imagesPerSecond(size, 1, 320);
      out[`procedural_${size}px_jpg_parallel_img_per_s`] = await imagesPerSecond(size, 4, 480);
    }
    out.procedural_peak_rss_mb = process.resourceUsage().maxRSS / 1024;
    for (const k of Object.keys(out)) out[k] = Math.round((out[k] ?? 0) * 10) / 10;
    return out;
  } finally {
    sharp.concurrency(previous);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchProcedural());
}
