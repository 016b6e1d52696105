import * as tf from '@tensorflow/tfjs-core';
import type { FoundFace } from './detect';
import { FACE_NET_INPUT } from './face-api-nets';

/**
 * Stage 3: one square crop per face, cut once from the decoded pixels ([N, H, W, 3]) and shared
 * by every face model. `faces[j].image` is the face's row in `pixels`. Outside the image is black,
 * as face-api pads.
 */
export function cropFaces(
  pixels: tf.Tensor4D,
  faces: readonly { image: number; face: FoundFace }[],
  size: number = FACE_NET_INPUT,
): tf.Tensor4D {
  const [, h, w] = pixels.shape;
  const boxes = faces.map(({ face: { square } }) => [
    square.y / (h - 1),
    square.x / (w - 1),
    (square.y + square.side) / (h - 1),
    (square.x + square.side) / (w - 1),
  ]);
  return tf.tidy(() =>
    tf.image.cropAndResize(
      pixels,
      tf.tensor2d(boxes, [faces.length, 4]),
      tf.tensor1d(
        faces.map((f) => f.image),
        'int32',
      ),
      [size, size],
      'bilinear',
      0,
    ),
  );
}
