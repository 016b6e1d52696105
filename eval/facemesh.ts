import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from '../models/calibrator/errors';
import { loadGraphModelFile } from '../models/calibrator/model-files';

/**
 * MediaPipe FaceMesh (human-models `facemesh.json`, 468 points): the judges' own landmarks, so
 * contempt's one-sided lip pull is measured by a model the renderer was never tuned against
 * (the farm measures it with face-api's 68-point net).
 */
export const FACEMESH_FILE = 'facemesh.json';
const INPUT = 192;
const POINTS = 468;

/** Mesh indices of the points the lip-corner measure needs (MediaPipe's canonical topology). */
const MESH = {
  /** Image-left eye (the subject's right): outer and inner corner. */
  eyeA: [33, 133],
  /** Image-right eye: inner and outer corner. */
  eyeB: [362, 263],
  cornerA: 61,
  cornerB: 291,
  upperLipTop: 0,
  lowerLipBottom: 17,
} as const;

export interface MeshPoint {
  x: number;
  y: number;
}

export interface FaceMesh {
  readonly file: string;
  /** `crops`: [N, S, S, 3] RGB 0..255 square face crops. Points are fractions (0..1) of the crop. */
  run(crops: tf.Tensor4D): Promise<MeshPoint[][]>;
  dispose(): void;
}

export async function loadFaceMesh(modelDir: string): Promise<FaceMesh> {
  const file = path.join(modelDir, FACEMESH_FILE);
  const model = await loadGraphModelFile(file);
  return {
    file,
    async run(crops) {
      const outputs = tf.tidy(() => {
        const input = tf.div(tf.image.resizeBilinear(crops, [INPUT, INPUT]), 255);
        return model.execute(input) as tf.Tensor[];
      });
      try {
        const mesh = outputs.find((o) => o.shape[1] === POINTS * 3);
        if (!mesh) throw new ModelLoadError(file, `no output with ${POINTS * 3} values`);
        const data = await mesh.data();
        return Array.from({ length: crops.shape[0] }, (_, n) =>
          Array.from({ length: POINTS }, (_, p) => ({
            x: (data[n * POINTS * 3 + 3 * p] ?? 0) / INPUT,
            y: (data[n * POINTS * 3 + 3 * p + 1] ?? 0) / INPUT,
          })),
        );
      } finally {
        tf.dispose(outputs);
      }
    },
    dispose() {
      model.dispose();
    },
  };
}

/**
 * Lip-corner heights above the lips' vertical midpoint, in inter-ocular distances after levelling
 * the eye line: the same definition the farm's 68-point measure uses, on the mesh's points.
 */
export function meshCornerLift(points: readonly MeshPoint[]): { a: number; b: number } {
  const at = (i: number) => points[i] as MeshPoint;
  const mid = (i: number, j: number) => ({ x: (at(i).x + at(j).x) / 2, y: (at(i).y + at(j).y) / 2 });
  const eyeA = mid(MESH.eyeA[0], MESH.eyeA[1]);
  const eyeB = mid(MESH.eyeB[0], MESH.eyeB[1]);
  const iod = Math.hypot(eyeB.x - eyeA.x, eyeB.y - eyeA.y) || 1;
  const angle = Math.atan2(eyeB.y - eyeA.y, eyeB.x - eyeA.x);
  // Only y after rotating the eye line level is needed.
  const y = (p: MeshPoint) => (-(p.x - eyeA.x) * Math.sin(angle) + (p.y - eyeA.y) * Math.cos(angle)) / iod;
  const lipsMid = (y(at(MESH.upperLipTop)) + y(at(MESH.lowerLipBottom))) / 2;
  return { a: lipsMid - y(at(MESH.cornerA)), b: lipsMid - y(at(MESH.cornerB)) };
}
