import path from 'node:path';
import type { GraphModel } from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from './errors';
import { loadGraphModelFile } from './model-files';

export const HUMAN_EMOTION_FILE = 'emotion.json';
/** ITU-R 601 luma weights, as @vladmandic/human converts crops for this single-channel model. */
const LUMA = [0.2989, 0.587, 0.114];

export interface HumanEmotionNet {
  readonly file: string;
  /** The model's square grayscale input side (64 for the shipped model). */
  readonly inputSize: number;
  /** The loaded graph, for a runtime that converts it (onnx/). */
  readonly graph: GraphModel;
  /** `faces`: [N, H, W, 3] RGB 0..255 square crops. Returns [N, 7] probabilities (HUMAN_EMOTIONS order). */
  run(faces: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

/**
 * The model's input from RGB face crops: resized to its side, grey by luma, scaled to -1..1 as
 * @vladmandic/human feeds it. Shared by every runtime that runs the model.
 */
export function emotionInput(faces: tf.Tensor4D, size: number): tf.Tensor4D {
  return tf.tidy(() => {
    const resized = tf.image.resizeBilinear(faces, [size, size]);
    const gray = tf.sum(tf.mul(tf.div(resized, 255), tf.tensor1d(LUMA)), 3, true);
    return tf.mul(tf.sub(gray, 0.5), 2) as tf.Tensor4D;
  });
}

export async function loadHumanEmotionNet(modelDir: string): Promise<HumanEmotionNet> {
  const file = path.join(modelDir, HUMAN_EMOTION_FILE);
  const model = await loadGraphModelFile(file);
  const shape = model.inputs[0]?.shape;
  const size = shape?.[1];
  if (shape?.length !== 4 || shape[3] !== 1 || typeof size !== 'number' || size <= 0) {
    model.dispose();
    throw new ModelLoadError(
      file,
      `expected a [-1, S, S, 1] grayscale input, found ${JSON.stringify(shape)}`,
    );
  }
  return {
    file,
    inputSize: size,
    graph: model,
    run(faces) {
      return tf.tidy(() => {
        // The model ends in a softmax, so its output is already a probability vector.
        return model.execute(emotionInput(faces, size)) as tf.Tensor2D;
      });
    },
    dispose() {
      model.dispose();
    },
  };
}
