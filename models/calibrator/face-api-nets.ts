import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { ModelLoadError } from './errors';
import { loadWeightMap } from './model-files';

/**
 * face-api's networks re-expressed on the installed @tensorflow/tfjs-core. Its own dist files
 * either bundle a private tfjs or import `@tensorflow/tfjs` / `tfjs-node`, none of which is the
 * single tfjs-core this process runs on every backend; the architectures (from face-api's src/)
 * are small enough to state here and feed with the shipped weight files unchanged.
 */

interface SeparableConv {
  depthwise: tf.Tensor4D;
  pointwise: tf.Tensor4D;
  bias: tf.Tensor1D;
}
interface Conv {
  filters: tf.Tensor4D;
  bias: tf.Tensor1D;
}

function conv(map: tf.NamedTensorMap, prefix: string): Conv {
  return { filters: map[`${prefix}/filters`] as tf.Tensor4D, bias: map[`${prefix}/bias`] as tf.Tensor1D };
}
function separable(map: tf.NamedTensorMap, prefix: string): SeparableConv {
  return {
    depthwise: map[`${prefix}/depthwise_filter`] as tf.Tensor4D,
    pointwise: map[`${prefix}/pointwise_filter`] as tf.Tensor4D,
    bias: map[`${prefix}/bias`] as tf.Tensor1D,
  };
}
function convNames(prefix: string): string[] {
  return [`${prefix}/filters`, `${prefix}/bias`];
}
function separableNames(prefix: string): string[] {
  return [`${prefix}/depthwise_filter`, `${prefix}/pointwise_filter`, `${prefix}/bias`];
}

function subtractMean(x: tf.Tensor4D, meanRgb: readonly [number, number, number]): tf.Tensor4D {
  return tf.div(tf.sub(x, tf.tensor1d(meanRgb as unknown as number[])), 255);
}

// ---------------------------------------------------------------- tiny face detector

export const TINY_FACE_DETECTOR_FILE = 'tiny_face_detector_model-weights_manifest.json';
export const TFD_MEAN: [number, number, number] = [117.001, 114.697, 97.404];
export const TFD_ANCHORS: ReadonlyArray<readonly [number, number]> = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];
export const TFD_LAYERS = ['conv1', 'conv2', 'conv3', 'conv4', 'conv5'] as const;

function leaky(x: tf.Tensor4D): tf.Tensor4D {
  return tf.maximum(x, tf.mul(x, 0.1));
}

function tfdSeparable(x: tf.Tensor4D, p: SeparableConv): tf.Tensor4D {
  const padded = tf.pad(x, [
    [0, 0],
    [1, 1],
    [1, 1],
    [0, 0],
  ]);
  return leaky(tf.add(tf.separableConv2d(padded, p.depthwise, p.pointwise, 1, 'valid'), p.bias));
}

/** A detection in the coordinates of the square the image was padded into (0..1). */
export interface RelativeBox {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface TinyFaceDetector {
  readonly file: string;
  /** The decoded weights by face-api's names, for a runtime that converts them (onnx/). */
  readonly weights: tf.NamedTensorMap;
  /**
   * `input`: [N, S, S, 3] RGB 0..255, each image padded bottom/right to a square then resized to S.
   * Returns the raw [N, S/32, S/32, anchors x 5] grid; decodeDetections turns it into boxes.
   */
  forward(input: tf.Tensor4D): tf.Tensor4D;
  dispose(): void;
}

/** The detector's grid cell, in input pixels: S must be a multiple of it. */
export const DETECTOR_STRIDE = 32;
/** Boxes overlapping a better one by more than this are the same face. */
const NMS_IOU = 0.4;
/** Numbers per anchor in the raw grid: x, y, w, h, score. */
const BOX_FIELDS = 5;

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

function iou(a: RelativeBox, b: RelativeBox): number {
  const x1 = Math.max(a.x, b.x);
  const y1 = Math.max(a.y, b.y);
  const x2 = Math.min(a.x + a.width, b.x + b.width);
  const y2 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x2 - x1) * Math.max(0, y2 - y1);
  return inter / (a.width * a.height + b.width * b.height - inter);
}

function nonMaxSuppression(boxes: RelativeBox[], iouThreshold: number): RelativeBox[] {
  const kept: RelativeBox[] = [];
  for (const box of [...boxes].sort((a, b) => b.score - a.score)) {
    if (kept.every((k) => iou(k, box) <= iouThreshold)) kept.push(box);
  }
  return kept;
}

/**
 * Boxes above `scoreThreshold` per image, best first, from the raw grid of `n` images of
 * `cells` x `cells` (NHWC, as forward returns it and the ONNX detector too).
 */
export function decodeDetections(
  grid: ArrayLike<number>,
  n: number,
  cells: number,
  scoreThreshold: number,
): RelativeBox[][] {
  const perImage: RelativeBox[][] = [];
  const stride = TFD_ANCHORS.length * BOX_FIELDS;
  for (let b = 0; b < n; b++) {
    const found: RelativeBox[] = [];
    for (let row = 0; row < cells; row++) {
      for (let col = 0; col < cells; col++) {
        for (let a = 0; a < TFD_ANCHORS.length; a++) {
          const o = ((b * cells + row) * cells + col) * stride + a * BOX_FIELDS;
          const score = sigmoid(grid[o + 4] ?? 0);
          if (score <= scoreThreshold) continue;
          const [ax, ay] = TFD_ANCHORS[a] ?? [1, 1];
          const cx = (col + sigmoid(grid[o] ?? 0)) / cells;
          const cy = (row + sigmoid(grid[o + 1] ?? 0)) / cells;
          const w = (Math.exp(grid[o + 2] ?? 0) * ax) / cells;
          const h = (Math.exp(grid[o + 3] ?? 0) * ay) / cells;
          found.push({ x: cx - w / 2, y: cy - h / 2, width: w, height: h, score });
        }
      }
    }
    perImage.push(nonMaxSuppression(found, NMS_IOU));
  }
  return perImage;
}

export async function loadTinyFaceDetector(modelDir: string): Promise<TinyFaceDetector> {
  const file = path.join(modelDir, TINY_FACE_DETECTOR_FILE);
  const names = [...convNames('conv0'), ...TFD_LAYERS.flatMap(separableNames), ...convNames('conv8')];
  const map = await loadWeightMap(file, names);
  const conv0 = conv(map, 'conv0');
  const layers = TFD_LAYERS.map((l) => separable(map, l));
  const conv8 = conv(map, 'conv8');
  return {
    file,
    weights: map,
    forward(input) {
      return tf.tidy(() => {
        let out = subtractMean(input, TFD_MEAN);
        out = leaky(tf.add(tf.conv2d(out, conv0.filters, 1, 'valid'), conv0.bias));
        for (const layer of layers) {
          out = tf.maxPool(out, 2, 2, 'same');
          out = tfdSeparable(out, layer);
        }
        out = tf.maxPool(out, 2, 1, 'same');
        return tf.add(tf.conv2d(out, conv8.filters, 1, 'valid'), conv8.bias);
      });
    },
    dispose() {
      tf.dispose(Object.values(map));
    },
  };
}

// ---------------------------------------------------------------- 112px face nets

export const FACE_EXPRESSION_FILE = 'face_expression_model-weights_manifest.json';
export const FACE_LANDMARK_68_FILE = 'face_landmark_68_model-weights_manifest.json';
/** Both heads share this input size and normalisation (face-api FaceFeatureExtractor). */
export const FACE_NET_INPUT = 112;
/** face-api's 7 expressions (labels.ts FACE_API_EXPRESSIONS). */
export const EXPRESSION_OUTPUTS = 7;
/** The iBUG 68-point layout; x and y of each point, relative to the crop. */
export const LANDMARK_POINTS = 68;
export const FFE_MEAN: [number, number, number] = [122.782, 117.001, 104.298];
export const DENSE_BLOCKS = ['dense0', 'dense1', 'dense2', 'dense3'] as const;

interface DenseBlock {
  conv0: Conv | SeparableConv;
  rest: [SeparableConv, SeparableConv, SeparableConv];
}

function sepSame(x: tf.Tensor4D, p: SeparableConv, stride: 1 | 2): tf.Tensor4D {
  return tf.add(tf.separableConv2d(x, p.depthwise, p.pointwise, stride, 'same'), p.bias);
}

function denseBlock4(x: tf.Tensor4D, block: DenseBlock): tf.Tensor4D {
  const first =
    'filters' in block.conv0
      ? tf.add(tf.conv2d(x, block.conv0.filters, 2, 'same'), block.conv0.bias)
      : sepSame(x, block.conv0, 2);
  const out1 = tf.relu(first);
  const out2 = sepSame(out1 as tf.Tensor4D, block.rest[0], 1);
  const out3 = sepSame(tf.relu(tf.add(out1, out2)) as tf.Tensor4D, block.rest[1], 1);
  const out4 = sepSame(tf.relu(tf.addN([out1, out2, out3])) as tf.Tensor4D, block.rest[2], 1);
  return tf.relu(tf.addN([out1, out2, out3, out4])) as tf.Tensor4D;
}

export interface FaceNet {
  readonly file: string;
  /** The decoded weights by face-api's names, for a runtime that converts them (onnx/). */
  readonly weights: tf.NamedTensorMap;
  /** `faces`: [N, 112, 112, 3] RGB 0..255 square face crops. Returns [N, outputs] (raw fc output). */
  run(faces: tf.Tensor4D): tf.Tensor2D;
  dispose(): void;
}

async function loadFaceNet(file: string, outputs: number): Promise<FaceNet> {
  const names = [
    ...DENSE_BLOCKS.flatMap((b, i) => [
      ...(i === 0 ? convNames(`${b}/conv0`) : separableNames(`${b}/conv0`)),
      ...['conv1', 'conv2', 'conv3'].flatMap((c) => separableNames(`${b}/${c}`)),
    ]),
    'fc/weights',
    'fc/bias',
  ];
  const map = await loadWeightMap(file, names);
  const fcWeights = map['fc/weights'] as tf.Tensor2D;
  if (fcWeights.shape[1] !== outputs) {
    tf.dispose(Object.values(map));
    throw new ModelLoadError(file, `fc layer has ${fcWeights.shape[1]} outputs, expected ${outputs}`);
  }
  const blocks: DenseBlock[] = DENSE_BLOCKS.map((b, i) => ({
    conv0: i === 0 ? conv(map, `${b}/conv0`) : separable(map, `${b}/conv0`),
    rest: [separable(map, `${b}/conv1`), separable(map, `${b}/conv2`), separable(map, `${b}/conv3`)],
  }));
  const fcBias = map['fc/bias'] as tf.Tensor1D;
  return {
    file,
    weights: map,
    run(faces) {
      return tf.tidy(() => {
        let out = subtractMean(faces, FFE_MEAN);
        for (const block of blocks) out = denseBlock4(out, block);
        out = tf.avgPool(out, 7, 2, 'valid');
        return tf.add(tf.matMul(tf.reshape(out, [faces.shape[0], -1]), fcWeights), fcBias);
      });
    },
    dispose() {
      tf.dispose(Object.values(map));
    },
  };
}

/** 7 softmax outputs in face-api order (see labels.ts FACE_API_EXPRESSIONS). */
export function loadFaceExpressionNet(modelDir: string): Promise<FaceNet> {
  return loadFaceNet(path.join(modelDir, FACE_EXPRESSION_FILE), EXPRESSION_OUTPUTS);
}

/** 136 outputs: x0,y0,x1,y1,... of the 68 iBUG points, relative (0..1) to the square crop. */
export function loadFaceLandmark68Net(modelDir: string): Promise<FaceNet> {
  return loadFaceNet(path.join(modelDir, FACE_LANDMARK_68_FILE), 2 * LANDMARK_POINTS);
}
