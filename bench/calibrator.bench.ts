import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { createEnsembleCalibrator, type EnsembleCalibratorOptions } from '../models/calibrator';
import type { SampleRequest } from '../plan/request';
import { fixtureRequest } from '../test/support/fixtures';

/** Single-face 512 px crops of face-api's demo photos (MIT), the size the generators emit. */
const CROPS = [
  { file: 'sample3.jpg', left: 840, top: 80, size: 640 },
  { file: 'sample6.jpg', left: 1280, top: 160, size: 600 },
  { file: 'sample3.jpg', left: 380, top: 200, size: 480 },
  { file: 'sample5.jpg', left: 560, top: 0, size: 560 },
] as const;
const IMAGES = 32;
const ROUNDS = 2;

async function fixtures(): Promise<{
  images: { key: string; bytes: Uint8Array }[];
  requests: SampleRequest[];
}> {
  const dir = path.join(
    path.dirname(createRequire(import.meta.url).resolve('@vladmandic/face-api/package.json')),
    'demo',
  );
  const crops = await Promise.all(
    CROPS.map((c) =>
      sharp(path.join(dir, c.file))
        .extract({ left: c.left, top: c.top, width: c.size, height: c.size })
        .resize(512, 512)
        .jpeg({ quality: 90 })
        .toBuffer(),
    ),
  );
  const requests = Array.from({ length: IMAGES }, (_, i) =>
    fixtureRequest({
      index: i,
      className: 'happy',
      aus: { AU6: 3, AU12: 4 },
      prompt: 'bench',
      generatorSeed: i,
    }),
  );
  return { images: requests.map((r, i) => ({ key: r.key, bytes: crops[i % crops.length]! })), requests };
}

const CONFIGS: Record<string, EnsembleCalibratorOptions> = {
  ensemble: {},
  ensemble_no_landmarks: { landmarks: false },
  face_api_expression: { models: ['face-api-expression'], landmarks: false },
  human_emotion: { models: ['human-emotion'], landmarks: false },
};

/**
 * Calibrated images per second on the wasm backend, single process: the full ensemble
 * (detector + both FER models + 68-point landmarks) and each expression model alone (with the
 * detector, which every configuration needs). Includes JPEG decode, detection and cropping.
 */
export async function benchCalibrator(): Promise<Record<string, number>> {
  const { images, requests } = await fixtures();
  const cals = await Promise.all(
    Object.entries(CONFIGS).map(async ([name, options]) => ({
      name,
      cal: await createEnsembleCalibrator({ ...options, backend: { backend: 'wasm' } }),
      ms: 0,
    })),
  );
  try {
    for (const c of cals) await c.cal.calibrate(images.slice(0, 4), requests.slice(0, 4)); // kernel warm-up
    // Configurations take turns so drifting machine load biases none of them.
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of cals) {
        const t0 = performance.now();
        await c.cal.calibrate(images, requests);
        c.ms += performance.now() - t0;
      }
    }
  } finally {
    for (const c of cals) c.cal.dispose();
  }
  return Object.fromEntries(
    cals.map((c) => [
      `calibrator.wasm.${c.name}.images_per_s`,
      Math.round(((IMAGES * ROUNDS) / (c.ms / 1000)) * 10) / 10,
    ]),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchCalibrator(), null, 2));
}
