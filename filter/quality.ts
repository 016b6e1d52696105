import { decodeRgb, luma, type PixelRect, resizeCubic } from '../image';
import { pHash } from './phash';

/** What the filter measures on the image itself: sharpness, exposure and the perceptual hash. */
export interface ImageFacts {
  /** Variance of the 4-neighbour Laplacian on the grey (luma) face crop resized to QUALITY_SIDE. */
  sharpness: number;
  /** Mean grey level of the crop, 0..255. */
  meanLuma: number;
  /** Fraction of crop pixels at or below 5 (crushed shadows) and at or above 250 (blown highlights). */
  clippedDark: number;
  clippedBright: number;
  /** pHash of the whole image: duplicates are whole samples, not just faces. */
  phash: string;
}

/** Side the face crop is resampled to, so sharpness does not depend on the image or face size. */
export const QUALITY_SIDE = 128;

export function laplacianVariance(gray: Uint8Array, width: number, height: number): number {
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const i = y * width + x;
      const l = gray[i - 1]! + gray[i + 1]! + gray[i - width]! + gray[i + width]! - 4 * gray[i]!;
      sum += l;
      sumSq += l * l;
      n++;
    }
  }
  if (n === 0) return 0;
  const mean = sum / n;
  return sumSq / n - mean * mean;
}

export function exposure(gray: Uint8Array): Pick<ImageFacts, 'meanLuma' | 'clippedDark' | 'clippedBright'> {
  let sum = 0;
  let dark = 0;
  let bright = 0;
  for (const v of gray) {
    sum += v;
    if (v <= 5) dark++;
    else if (v >= 250) bright++;
  }
  const n = Math.max(1, gray.length);
  return { meanLuma: sum / n, clippedDark: dark / n, clippedBright: bright / n };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The face box as whole pixels inside the image (floor of the corner, rounded size, clipped). */
function faceRect(face: Box | null, width: number, height: number): PixelRect {
  if (!face) return { left: 0, top: 0, width, height };
  const left = Math.min(width - 1, Math.max(0, Math.floor(face.x)));
  const top = Math.min(height - 1, Math.max(0, Math.floor(face.y)));
  return {
    left,
    top,
    width: Math.max(1, Math.min(width - left, Math.round(face.width))),
    height: Math.max(1, Math.min(height - top, Math.round(face.height))),
  };
}

/**
 * Decodes once (image/decode.ts) to luma; hashes the whole image and judges quality on the face
 * box (the part FER models read) or, without one, the whole image, resampled in plain arithmetic
 * (image/resample.ts). About a tenth of the CPU of the two sharp pipelines this replaced, whose
 * per-call cost dwarfed the work on a 224 px image, and the same numbers on every machine. Throws
 * on undecodable bytes: the calibrator has already turned those into a `decode-failed` reason,
 * so callers skip them.
 */
export async function measureImage(bytes: Uint8Array, face: Box | null): Promise<ImageFacts> {
  const image = await decodeRgb(bytes);
  const grey = luma(image);
  const { width, height } = image;
  const small = resizeCubic(grey, width, faceRect(face, width, height), QUALITY_SIDE, QUALITY_SIDE);
  return {
    sharpness: round4(laplacianVariance(small, QUALITY_SIDE, QUALITY_SIDE)),
    ...mapValues(exposure(small), round4),
    phash: pHash(grey, width, height),
  };
}

function mapValues<T extends Record<string, number>>(o: T, fn: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)])) as T;
}
