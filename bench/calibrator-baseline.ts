import * as tf from '@tensorflow/tfjs-core';
import {
  type CalibrationItem,
  type CalibratorHeader,
  combine,
  failedCalibration,
} from '../models/calibrator/combine';
import { type DecodedImage, decodeImage, isFailure } from '../models/calibrator/decode';
import type { FoundFace } from '../models/calibrator/detect';
import { decodeDetections, FACE_NET_INPUT } from '../models/calibrator/face-api-nets';
import { readAndDispose } from '../models/calibrator/infer';
import { loadEnsembleModels } from '../models/calibrator/load';
import { matchRequests } from '../models/calibrator/match';
import { CalibrationPolicySchema } from '../models/calibrator/policy';
import type { Calibration, Calibrator } from '../models/calibrator/schema';
import { activeTfjsBackend } from '../models/tfjs-backend';

/**
 * The ensemble's batch path as it was before the stage split (main at fb868b0), kept only as the
 * bench's baseline: the detector at a fixed 320 px input whatever the image size, every image
 * padded, resized and cropped on its own, 16 samples per pass. Same models, same combine step.
 */
const BASELINE_DETECTOR_INPUT = 320;
const BASELINE_BATCH = 16;

export async function createBaselineCalibrator(): Promise<Calibrator> {
  const loaded = await loadEnsembleModels({
    models: ['face-api-expression', 'human-emotion'],
    landmarks: true,
  });
  const { detector, expression, emotion, landmarks } = loaded.models;
  const policy = CalibrationPolicySchema.parse({});
  const backend = activeTfjsBackend() ?? null;
  const header: CalibratorHeader = { id: 'baseline', version: 'fb868b0', backend };

  async function batch(items: CalibrationItem[]): Promise<Calibration[]> {
    const decoded = await Promise.all(items.map(({ image }) => decodeImage(image.bytes)));
    const results: Calibration[] = new Array(items.length);
    const ok: { i: number; img: DecodedImage }[] = [];
    decoded.forEach((d, i) => {
      if (isFailure(d)) results[i] = failedCalibration(items[i]!, header, d);
      else ok.push({ i, img: d });
    });
    if (ok.length === 0) return results;
    const S = BASELINE_DETECTOR_INPUT;
    const images = ok.map(({ img }) => tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'));
    const input = tf.tidy(() =>
      tf.stack(
        images.map((t) => {
          const side = Math.max(t.shape[0], t.shape[1]);
          const sq = tf.pad(t, [
            [0, side - t.shape[0]],
            [0, side - t.shape[1]],
            [0, 0],
          ]);
          return tf.image.resizeBilinear(tf.cast(sq, 'float32') as tf.Tensor3D, [S, S]);
        }),
      ),
    ) as tf.Tensor4D;
    const grid = await readAndDispose(detector.forward(input));
    input.dispose();
    const boxes = decodeDetections(grid, ok.length, S / 32, 0.5);
    const faces: { i: number; k: number; face: FoundFace }[] = [];
    ok.forEach(({ i, img }, k) => {
      const best = boxes[k]?.[0];
      if (!best) {
        results[i] = failedCalibration(items[i]!, header, { code: 'no-face', message: 'no face' });
        return;
      }
      const side = Math.max(img.width, img.height);
      const sq = Math.max(best.width, best.height) * side;
      const cx = (best.x + best.width / 2) * side;
      const cy = (best.y + best.height / 2) * side;
      const x = Math.max(0, best.x * side);
      const y = Math.max(0, best.y * side);
      faces.push({
        i,
        k,
        face: {
          box: {
            x,
            y,
            width: Math.min(img.width, (best.x + best.width) * side) - x,
            height: Math.min(img.height, (best.y + best.height) * side) - y,
          },
          score: Math.round(best.score * 1e4) / 1e4,
          count: boxes[k]!.length,
          square: { x: cx - sq / 2, y: cy - sq / 2, side: sq },
        },
      });
    });
    if (faces.length > 0) {
      const crops = tf.tidy(() =>
        tf.concat(
          faces.map(({ k, face: { square } }) => {
            const img = ok[k]!.img;
            const t = tf.expandDims(tf.cast(images[k]!, 'float32'), 0) as tf.Tensor4D;
            const box = [
              square.y / (img.height - 1),
              square.x / (img.width - 1),
              (square.y + square.side) / (img.height - 1),
              (square.x + square.side) / (img.width - 1),
            ];
            return tf.image.cropAndResize(t, [box], [0], [FACE_NET_INPUT, FACE_NET_INPUT], 'bilinear', 0);
          }),
        ),
      ) as tf.Tensor4D;
      const outputs = {
        expression: await readAndDispose(tf.tidy(() => tf.softmax(expression!.run(crops)))),
        emotion: await readAndDispose(emotion!.run(crops)),
        landmarks: await readAndDispose(landmarks!.run(crops)),
      };
      crops.dispose();
      faces.forEach(({ i, face }, f) => {
        results[i] = combine(items[i]!, header, face, outputs, f, policy);
      });
    }
    tf.dispose(images);
    return results;
  }

  return {
    id: header.id,
    version: header.version,
    async calibrate(images, requests) {
      const items = matchRequests(images, requests);
      const out: Calibration[] = [];
      for (let s = 0; s < items.length; s += BASELINE_BATCH)
        out.push(...(await batch(items.slice(s, s + BASELINE_BATCH))));
      return out;
    },
    dispose: () => loaded.dispose(),
  };
}
