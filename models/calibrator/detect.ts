import * as tf from '@tensorflow/tfjs-core';
import type { SampleFailure } from './decode';
import { DETECTOR_STRIDE, type RelativeBox } from './face-api-nets';

/**
 * Largest input side `auto` picks: an image bigger than this (a 512 px photo) is shrunk to it,
 * as every image was before `auto`, so the detector's cost does not grow with the image.
 */
export const DETECTOR_AUTO_MAX_INPUT = 320;
/** Smallest detector input: below it the 32 px grid has too few cells to place a face. */
export const DETECTOR_MIN_INPUT = 128;

/**
 * The detector input side for images of this size: `auto` is the image's own longer side rounded
 * up to the detector's grid (224 px faces run at 224, unresampled), capped at
 * DETECTOR_AUTO_MAX_INPUT; a number is used as given.
 */
export function detectorInputSize(setting: number | 'auto', width: number, height: number): number {
  if (setting !== 'auto') return setting;
  const side = Math.ceil(Math.max(width, height) / DETECTOR_STRIDE) * DETECTOR_STRIDE;
  return Math.min(DETECTOR_AUTO_MAX_INPUT, Math.max(DETECTOR_MIN_INPUT, side));
}

/**
 * Stage 2a: the detector's input from a batch of same-sized images ([N, H, W, 3], 0..255):
 * padded bottom/right to a square as face-api does (so boxes are fractions of the longer side),
 * then resized to `size`; neither step runs when the images already are `size` squares.
 */
export function detectorInput(pixels: tf.Tensor4D, size: number): tf.Tensor4D {
  const [, h, w] = pixels.shape;
  if (h === size && w === size) return pixels.clone();
  return tf.tidy(() => {
    const side = Math.max(h, w);
    const square =
      h === w
        ? pixels
        : tf.pad(pixels, [
            [0, 0],
            [0, side - h],
            [0, side - w],
            [0, 0],
          ]);
    return tf.image.resizeBilinear(square, [size, size]);
  });
}

/** A found face, in pixels of the decoded image. */
export interface FoundFace {
  /** The detector's box clipped to the image. */
  box: { x: number; y: number; width: number; height: number };
  score: number;
  /** Faces above the score threshold in the image. */
  count: number;
  /** The square every face model sees: the box's longer side around its centre; may leave the image. */
  square: { x: number; y: number; side: number };
}

/** Stage 2b: the best detection of one image as a face in its pixels, or why there is none. */
export function bestFace(
  found: readonly RelativeBox[],
  width: number,
  height: number,
  scoreThreshold: number,
): FoundFace | SampleFailure {
  const best = found[0];
  if (!best) return { code: 'no-face', message: `no face above score ${scoreThreshold}` };
  const side = Math.max(width, height);
  const x0 = Math.max(0, best.x * side);
  const y0 = Math.max(0, best.y * side);
  const box = {
    x: x0,
    y: y0,
    width: Math.min(width, (best.x + best.width) * side) - x0,
    height: Math.min(height, (best.y + best.height) * side) - y0,
  };
  if (!(box.width > 1 && box.height > 1))
    return { code: 'no-face', message: 'face box lies outside the image' };
  const sq = Math.max(best.width, best.height) * side;
  const cx = (best.x + best.width / 2) * side;
  const cy = (best.y + best.height / 2) * side;
  return {
    box,
    score: Math.round(best.score * 1e4) / 1e4,
    count: found.length,
    square: { x: cx - sq / 2, y: cy - sq / 2, side: sq },
  };
}
