import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { initTfjsBackend } from '../models/tfjs-backend';
import { createTfjsGenerator } from '../models/tfjs-generator';
import { AFFECTNET_CLASSES, AU_IDS, EMFACS_PROTOTYPES } from '../plan/expressions';
import { type SampleRequest, SampleRequestSchema } from '../plan/request';

/** The test's tiny model: dense from [AUs ++ one-hot ++ noise(16)] to an 8x8x3 tanh image. */
async function saveTinyModel(dir: string): Promise<void> {
  const aus = tfl.input({ name: 'aus', shape: [AU_IDS.length] });
  const cls = tfl.input({ name: 'class', shape: [AFFECTNET_CLASSES.length] });
  const noise = tfl.input({ name: 'noise', shape: [16] });
  const joined = tfl.layers.concatenate().apply([aus, cls, noise]) as tfl.SymbolicTensor;
  const dense = tfl.layers
    .dense({
      units: 8 * 8 * 3,
      activation: 'tanh',
      kernelInitializer: tfl.initializers.glorotNormal({ seed: 7 }),
    })
    .apply(joined) as tfl.SymbolicTensor;
  const image = tfl.layers.reshape({ targetShape: [8, 8, 3] }).apply(dense) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [aus, cls, noise], outputs: image });
  await model.save({
    async save(artifacts) {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from(weights));
      await writeFile(
        path.join(dir, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          format: artifacts.format,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  model.dispose();
}

function requests(n: number): SampleRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const classIndex = i % AFFECTNET_CLASSES.length;
    const className = AFFECTNET_CLASSES[classIndex]!;
    return SampleRequestSchema.parse({
      key: `000000_${String(i).padStart(6, '0')}`,
      shard: 0,
      index: i,
      round: 0,
      classIndex,
      className,
      aus: Object.fromEntries(EMFACS_PROTOTYPES[className].map((au) => [au, 3])),
      auSide: {},
      identity: {
        ageBand: 'adult',
        gender: 'feminine',
        skinTone: 3,
        faceShape: 'oval',
        hair: 'long dark',
        eyeColor: 'brown',
        glasses: false,
        facialHair: 'none',
        headPose: { yaw: 0, pitch: 0, roll: 0 },
        lighting: { direction: 'front', strength: 0.7, warmth: 'neutral' },
        background: 'studio gray',
      },
      prompt: '',
      generatorSeed: (i * 2654435761) >>> 0,
    });
  });
}

/**
 * Throughput of the tfjs generator backend on the tiny test model (so the figure is the backend's
 * overhead: input building, one batched predict, sharp resize + JPEG), wasm then cpu in one run.
 */
export async function benchTfjsGenerator(): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-bench-tfjs-gen-'));
  const out: Record<string, number> = {};
  try {
    // Building the model allocates tensors, so some backend must be active first.
    await initTfjsBackend({ backend: 'cpu' });
    await saveTinyModel(dir);
    const reqs = requests(480);
    const options = { size: 112, format: 'jpg', quality: 90 } as const;
    for (const backend of ['wasm', 'cpu'] as const) {
      await initTfjsBackend({ backend });
      const gen = await createTfjsGenerator({
        backend: 'tfjs',
        batchSize: 16,
        modelUrl: path.join(dir, 'model.json'),
      });
      await gen.generate(reqs.slice(0, 32), options);
      const t0 = performance.now();
      // Batches of 32 as the generate activity stages them; the backend splits them by batchSize.
      for (let i = 0; i < reqs.length; i += 32) await gen.generate(reqs.slice(i, i + 32), options);
      out[`tfjs_generator_${backend}_112px_jpg_img_per_s`] =
        Math.round(((reqs.length * 1000) / (performance.now() - t0)) * 10) / 10;
      await gen.dispose?.();
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchTfjsGenerator());
}
