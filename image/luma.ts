import type { RawImage } from './decode';

/**
 * Grey levels of RGB pixels as JPEG's luma (ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B), in
 * libjpeg's 16-bit fixed point with rounding, so every platform computes the same bytes.
 */
export function luma(image: RawImage): Uint8Array {
  const { data, width, height, channels } = image;
  const out = new Uint8Array(width * height);
  if (channels === 1) {
    out.set(data.subarray(0, out.length));
    return out;
  }
  if (channels < 3) throw new RangeError(`luma needs RGB pixels, got ${channels} channels`);
  for (let i = 0, p = 0; i < out.length; i++, p += channels) {
    out[i] = (19595 * data[p]! + 38470 * data[p + 1]! + 7471 * data[p + 2]! + 32768) >>> 16;
  }
  return out;
}
