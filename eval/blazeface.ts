import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from '../models/calibrator/errors';
import { loadGraphModelFile } from '../models/calibrator/model-files';

/**
 * MediaPipe's BlazeFace front-camera detector (human-models `blazeface-front.json`): a different
 * family from face-api's tiny YOLO-style detector the farm uses, so a face it finds is not a face
 * found only because the renderer was shaped for one detector.
 */
export const BLAZEFACE_FILE = 'blazeface-front.json';
/** The model's fixed input side. */
const INPUT = 128;
/** Anchor layout of the front model: a 16x16 grid with 2 anchors per cell, then 8x8 with 6. */
const GRIDS = [
  { stride: 8, perCell: 2 },
  { stride: 16, perCell: 6 },
] as const;
const IOU_THRESHOLD = 0.3;

/** A face box as fractions of the image (0..1), with the detector's score. */
export interface JudgeBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface BlazeFace {
  readonly file: string;
  /** `image`: [H, W, 3] RGB 0..255. Faces scoring above `scoreThreshold`, best first. */
  detect(image: tf.Tensor3D, scoreThreshold: number): Promise<JudgeBox[]>;
  dispose(): void;
}

/** Anchor centres in input pixels, in the order the model emits its rows. */
function anchors(): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (const { stride, perCell } of GRIDS) {
    const cells = INPUT / stride;
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        for (let k = 0; k < perCell; k++) out.push({ x: (col + 0.5) * stride, y: (row + 0.5) * stride });
      }
    }
  }
  return out;
}

function iou(a: JudgeBox, b: JudgeBox): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

export async function loadBlazeFace(modelDir: string): Promise<BlazeFace> {
  const file = path.join(modelDir, BLAZEFACE_FILE);
  const model = await loadGraphModelFile(file);
  const grid = anchors();
  const sizes = GRIDS.map(({ stride, perCell }) => (INPUT / stride) ** 2 * perCell);
  return {
    file,
    async detect(image, scoreThreshold) {
      const outputs = tf.tidy(() => {
        const [h, w] = image.shape;
        const side = Math.max(h, w);
        // Pad bottom/right to a square so boxes are fractions of one side, as the farm's detector does.
        const square = tf.pad(image, [
          [0, side - h],
          [0, side - w],
          [0, 0],
        ]);
        const input = tf.image.resizeBilinear(tf.cast(square, 'float32') as tf.Tensor3D, [INPUT, INPUT]);
        const x = tf.expandDims(tf.sub(tf.div(input, 127.5), 1), 0);
        return model.execute(x) as tf.Tensor[];
      });
      let boxes: Float32Array;
      let scores: Float32Array;
      try {
        // Outputs are named by the exporter, not by meaning: pick them by shape [1, rows, 16 | 1].
        const pickRows = (rows: number, cols: number) => {
          const t = outputs.find((o) => o.shape[1] === rows && o.shape[2] === cols);
          if (!t) throw new ModelLoadError(file, `no output of shape [1, ${rows}, ${cols}]`);
          return t;
        };
        const boxT = tf.concat(
          sizes.map((rows) => pickRows(rows, 16)),
          1,
        );
        const scoreT = tf.concat(
          sizes.map((rows) => pickRows(rows, 1)),
          1,
        );
        [boxes, scores] = (await Promise.all([boxT.data(), scoreT.data()])) as [Float32Array, Float32Array];
        tf.dispose([boxT, scoreT]);
      } finally {
        tf.dispose(outputs);
      }
      const [h, w] = image.shape;
      const side = Math.max(h, w);
      const found: JudgeBox[] = [];
      grid.forEach((a, i) => {
        const score = 1 / (1 + Math.exp(-Math.max(-100, Math.min(100, scores[i] ?? -100))));
        if (score <= scoreThreshold) return;
        const cx = (a.x + (boxes[i * 16] ?? 0)) / INPUT;
        const cy = (a.y + (boxes[i * 16 + 1] ?? 0)) / INPUT;
        const bw = (boxes[i * 16 + 2] ?? 0) / INPUT;
        const bh = (boxes[i * 16 + 3] ?? 0) / INPUT;
        // Back from the padded square to fractions of the image's own width and height.
        found.push({
          x: ((cx - bw / 2) * side) / w,
          y: ((cy - bh / 2) * side) / h,
          width: (bw * side) / w,
          height: (bh * side) / h,
          score,
        });
      });
      const kept: JudgeBox[] = [];
      for (const box of found.sort((p, q) => q.score - p.score)) {
        if (kept.every((k) => iou(k, box) <= IOU_THRESHOLD)) kept.push(box);
      }
      return kept;
    },
    dispose() {
      model.dispose();
    },
  };
}
