import sharp from 'sharp';
import { pHash } from './phash';

/** What the filter measures on the image itself: sharpness, exposure and the perceptual hash. */
export interface ImageFacts {
  /** Variance of the 4-neighbour Laplacian on the grey face crop resized to QUALITY_SIDE. */
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
 * Decodes once to grey pixels; hashes the whole image and judges quality on the face box (the
 * part FER models read) or, without one, the whole image. Throws on undecodable bytes: the
 * calibrator has already turned those into a `decode-failed` reason, so callers skip them.
 */
export async function measureImage(bytes: Uint8Array, face: Box | null): Promise<ImageFacts> {
  const { data, info } = await sharp(bytes).greyscale().raw().toBuffer({ resolveWithObject: true });
  const gray = new Uint8Array(data.buffer, data.byteOffset, info.width * info.height);
  const phash = pHash(
    info.channels === 1 ? gray : firstChannel(data, info.channels),
    info.width,
    info.height,
  );
  // The crop starts from the grey pixels decoded above, not from the encoded bytes: the same
  // pipeline gives the same bytes (checked on 1,536 crops of JPEG and PNG) without a second decode.
  // Not with alpha: sharp resizes an encoded image's premultiplied colours before it drops the
  // alpha, so its grey crop is not a crop of these grey pixels.
  let crop = (
    info.hasAlpha || info.channels !== 1
      ? sharp(bytes)
      : sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } })
  ).greyscale();
  if (face) {
    const left = Math.max(0, Math.floor(face.x));
    const top = Math.max(0, Math.floor(face.y));
    const width = Math.max(1, Math.min(info.width - left, Math.round(face.width)));
    const height = Math.max(1, Math.min(info.height - top, Math.round(face.height)));
    crop = crop.extract({ left, top, width, height });
  }
  const small = await crop
    .resize(QUALITY_SIDE, QUALITY_SIDE, { fit: 'fill', kernel: 'cubic' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const g = firstChannel(small.data, small.info.channels);
  return {
    sharpness: round4(laplacianVariance(g, QUALITY_SIDE, QUALITY_SIDE)),
    ...mapValues(exposure(g), round4),
    phash,
  };
}

function firstChannel(data: Buffer, channels: number): Uint8Array {
  if (channels === 1) return new Uint8Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint8Array(data.length / channels);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels]!;
  return out;
}

function mapValues<T extends Record<string, number>>(o: T, fn: (v: number) => number): T {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)])) as T;
}
