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

/**
 * Which measurement made a round's decisions, recorded with them: a change to what is measured
 * (decoder, grey, resampling, hash) changes decisions, so a run must not mix two. `luma-cubic/1`
 * (2026-12) replaced sharp's sRGB grey and libvips' resize: pHash moved by up to 4 bits and mean
 * luma by about a grey level on the same image.
 */
export const MEASUREMENT = 'luma-cubic/1';

/**
 * The face box as whole pixels inside the image: floor of the corner, rounded size, clipped to
 * the image. A box that is not finite or has no pixel in the image comes out empty or NaN, which
 * resizeCubic refuses: an error, not a corner.
 */
function faceRect(face: Box | null, width: number, height: number): PixelRect {
  if (!face) return { left: 0, top: 0, width, height };
  const left = Math.max(0, Math.floor(face.x));
  const top = Math.max(0, Math.floor(face.y));
  const right = Math.min(width, Math.floor(face.x) + Math.round(face.width));
  const bottom = Math.min(height, Math.floor(face.y) + Math.round(face.height));
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Decodes once (image/decode.ts) to luma; hashes the whole image and judges quality on the face
 * box (the part FER models read) or, without one, the whole image, resampled in plain arithmetic
 * (image/resample.ts): the same numbers on every machine, at a third to two fifths of the CPU of
 * the two sharp pipelines this replaced, whose per-call cost dwarfed the work on a 224 px image.
 * Throws on undecodable bytes (the calibrator has already turned those into a `decode-failed`
 * reason) and on a box outside the image, so callers leave such samples unjudged.
 */
export async function measureImage(bytes: Uint8Array, face: Box | null): Promise<ImageFacts> {
  const image = await decodeRgb(bytes);
  const { width, height } = image;
  const rect = faceRect(face, width, height);
  const grey = luma(image);
  const small = resizeCubic(grey, width, rect, QUALITY_SIDE, QUALITY_SIDE);
  return {
    sharpness: round4(laplacianVariance(small, QUALITY_SIDE, QUALITY_SIDE)),
    ...mapValues(exposure(small), round4),
    phash: pHash(grey, width, height),
  };
}

function mapValues<T extends Record<string, number>>(o: T, fn: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)])) as T;
}
