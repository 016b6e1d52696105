import * as tf from '@tensorflow/tfjs-core';
import type { FaceNet, TinyFaceDetector } from './face-api-nets';
import type { HumanEmotionNet } from './human-emotion';

/** The loaded networks of one ensemble; the face models are the optional voters and landmarks. */
export interface EnsembleModels {
  detector: TinyFaceDetector;
  expression?: FaceNet;
  emotion?: HumanEmotionNet;
  landmarks?: FaceNet;
}

/** Per-face model outputs, row f belonging to crop f. */
export interface FaceModelOutputs {
  /** [F, 7] probabilities in face-api order. */
  expression?: Float32Array;
  /** [F, 7] probabilities in HUMAN_EMOTIONS order. */
  emotion?: Float32Array;
  /** [F, 136]: x, y of the 68 points relative (0..1) to the crop. */
  landmarks?: Float32Array;
}

/** What computed the numbers; recorded in every calibration for provenance. */
export interface RuntimeInfo {
  name: string;
  version: string;
}

/**
 * Stage 4: the per-model forward passes, behind one interface so the same decode/detect/crop
 * stages feed either TF.js (this file) or onnxruntime (onnx/runtime.ts).
 */
export interface InferenceRuntime {
  /** [N, S/32, S/32, anchors x 5] raw detector grid for [N, S, S, 3] inputs (0..255). */
  detect(input: tf.Tensor4D): Promise<Float32Array>;
  /** Every loaded face model on [F, 112, 112, 3] crops (0..255). */
  faces(crops: tf.Tensor4D): Promise<FaceModelOutputs>;
  dispose(): void;
}

/** Reads a tensor back and frees it, also when the read fails. */
export async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

export function tfjsRuntime(models: EnsembleModels): InferenceRuntime {
  const { detector, expression, emotion, landmarks } = models;
  return {
    detect: (input) => readAndDispose(detector.forward(input)),
    async faces(crops) {
      const out: FaceModelOutputs = {};
      if (expression) out.expression = await readAndDispose(tf.tidy(() => tf.softmax(expression.run(crops))));
      if (emotion) out.emotion = await readAndDispose(emotion.run(crops));
      if (landmarks) out.landmarks = await readAndDispose(landmarks.run(crops));
      return out;
    },
    dispose() {},
  };
}
