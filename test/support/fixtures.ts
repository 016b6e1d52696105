import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AFFECTNET_CLASSES, AU_IDS, type ExpressionClass } from '../../plan/expressions';
import { type Identity, type SampleRequest, SampleRequestSchema } from '../../plan/request';

/** A plain frontal identity; tests override only the attributes they are about. */
export const FIXTURE_IDENTITY: Identity = {
  ageBand: 'adult',
  gender: 'feminine',
  skinTone: 3,
  faceShape: 'oval',
  hair: 'long dark',
  eyeColor: 'brown',
  glasses: false,
  facialHair: 'none',
  headPose: { yaw: 0, pitch: 0, roll: 0 },
  lighting: { direction: 'front', strength: 0.5, warmth: 'neutral' },
  background: 'studio gray',
};

export interface FixtureRequestInput extends Partial<Omit<SampleRequest, 'identity'>> {
  identity?: Partial<Identity>;
}

/**
 * A valid planned request for tests and benchmarks that exercise one stage alone. Key, class
 * name and index follow from `shard`, `index` and `classIndex` unless given.
 */
export function fixtureRequest(input: FixtureRequestInput = {}): SampleRequest {
  const shard = input.shard ?? 0;
  const index = input.index ?? 0;
  const classIndex = input.classIndex ?? AFFECTNET_CLASSES.indexOf(input.className ?? 'neutral');
  return SampleRequestSchema.parse({
    round: 0,
    aus: {},
    auSide: {},
    prompt: '',
    generatorSeed: index,
    ...input,
    key: input.key ?? `${String(shard).padStart(6, '0')}_${String(index).padStart(6, '0')}`,
    shard,
    index,
    classIndex,
    className: AFFECTNET_CLASSES[classIndex] as ExpressionClass,
    identity: { ...FIXTURE_IDENTITY, ...input.identity },
  });
}

/** Writes model.json + weights.bin the way tfjs-node's file:// handler would (tfjs-node is not installed). */
export function fileSaveHandler(dir: string): tf.io.IOHandler {
  return {
    async save(artifacts) {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      await writeFile(path.join(dir, 'weights.bin'), Buffer.from(weights));
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return {
        modelArtifactsInfo: {
          dateSaved: new Date(),
          modelTopologyType: 'JSON',
          weightDataBytes: weights.byteLength,
        },
      };
    },
  };
}

/** A tiny conditional "generator": dense from [AUs ++ one-hot ++ noise(16)] to an 8x8x3 tanh image. */
export async function saveTinyGeneratorModel(
  dir: string,
  names = { aus: 'aus', cls: 'class', noise: 'noise' },
): Promise<void> {
  const aus = tfl.input({ name: names.aus, shape: [AU_IDS.length] });
  const cls = tfl.input({ name: names.cls, shape: [AFFECTNET_CLASSES.length] });
  const noise = tfl.input({ name: names.noise, shape: [16] });
  const joined = tfl.layers.concatenate().apply([aus, cls, noise]) as tfl.SymbolicTensor;
  const dense = tfl.layers
    .dense({
      units: 8 * 8 * 3,
      activation: 'tanh',
      kernelInitializer: tfl.initializers.glorotNormal({ seed: 7 }),
    })
    .apply(joined) as tfl.SymbolicTensor;
  const image = tfl.layers
    .reshape({ name: 'image', targetShape: [8, 8, 3] })
    .apply(dense) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [aus, cls, noise], outputs: image });
  await model.save(fileSaveHandler(dir));
  model.dispose();
}
