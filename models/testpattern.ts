import sharp from 'sharp';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import type { SampleRequest } from '../plan/request';
import { encodeImage } from './encode';
import type { GeneratedImage, GenerateOptions, Generator } from './generator';
import { validateOptions, validateRequest } from './procedural/validate';

export const TESTPATTERN_VERSION = '1.0.0';

/** One hue per AffectNet class, in class order. */
const CLASS_COLORS: readonly (readonly [number, number, number])[] = [
  [128, 128, 128],
  [250, 200, 30],
  [40, 80, 220],
  [240, 120, 20],
  [140, 40, 180],
  [40, 160, 60],
  [220, 30, 30],
  [30, 180, 190],
];

/**
 * A not-a-face image that still encodes its sample, so a load test can check that every image
 * landed under the right key: the top 3/4 are one bar per class (the sample's class bar full
 * brightness, the others dimmed), the bottom quarter is the generator seed's 32 bits as an
 * 8 x 4 grid of white (1) and black (0) cells, most significant bit first.
 */
export function testPatternPixels(classIndex: number, seed: number, size: number): Buffer {
  const px = Buffer.alloc(size * size * 3);
  const barsBottom = Math.floor((size * 3) / 4);
  const n = AFFECTNET_CLASSES.length;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const o = (y * size + x) * 3;
      let rgb: readonly [number, number, number];
      if (y < barsBottom) {
        const bar = Math.min(n - 1, Math.floor((x * n) / size));
        const c = CLASS_COLORS[bar] as readonly [number, number, number];
        const k = bar === classIndex ? 1 : 0.18;
        rgb = [c[0] * k, c[1] * k, c[2] * k];
      } else {
        const col = Math.min(7, Math.floor((x * 8) / size));
        const row = Math.min(3, Math.floor(((y - barsBottom) * 4) / (size - barsBottom)));
        const bit = (seed >>> (31 - (row * 8 + col))) & 1;
        rgb = bit ? [255, 255, 255] : [0, 0, 0];
      }
      px[o] = rgb[0];
      px[o + 1] = rgb[1];
      px[o + 2] = rgb[2];
    }
  }
  return px;
}

async function render(req: SampleRequest, options: GenerateOptions): Promise<GeneratedImage> {
  const raw = sharp(testPatternPixels(req.classIndex, req.generatorSeed, options.size), {
    raw: { width: options.size, height: options.size, channels: 3 },
  });
  return {
    key: req.key,
    bytes: await encodeImage(raw, options),
    format: options.format,
    width: options.size,
    height: options.size,
    meta: {
      generator: 'testpattern',
      version: TESTPATTERN_VERSION,
      classIndex: req.classIndex,
      seed: req.generatorSeed,
    },
  };
}

/** Fast, tiny, deterministic images for load tests of the farm itself (no face, no models). */
export function createTestPatternGenerator(): Generator {
  return {
    id: 'testpattern',
    version: TESTPATTERN_VERSION,
    async generate(requests: readonly SampleRequest[], options: GenerateOptions): Promise<GeneratedImage[]> {
      validateOptions(options);
      const out: GeneratedImage[] = [];
      for (const r of requests) {
        options.signal?.throwIfAborted();
        out.push(await render(validateRequest(r), options));
      }
      return out;
    },
  };
}
