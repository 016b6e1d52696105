/** An integer pixel rectangle inside an image. */
export interface PixelRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Catmull-Rom, the cubic kernel of libvips' and Pillow's bicubic resize. */
function cubic(t: number): number {
  const a = Math.abs(t);
  if (a < 1) return (1.5 * a - 2.5) * a * a + 1;
  if (a < 2) return ((-0.5 * a + 2.5) * a - 4) * a + 2;
  return 0;
}

/**
 * For each output position, `count` input indices (past either end, the edge's) and their
 * weights, flat: position i's are at [i * count, (i + 1) * count).
 */
interface Taps {
  count: number;
  index: Int32Array;
  weight: Float64Array;
}

/**
 * Centre-aligned taps from `inSize` samples to `outSize`. When shrinking, the kernel widens by
 * the shrink factor, so every input sample counts (no aliasing); indices past either end repeat
 * the edge sample.
 */
function taps(inSize: number, outSize: number): Taps {
  const scale = outSize / inSize;
  const stretch = Math.min(1, scale);
  const radius = 2 / stretch;
  // floor(centre + radius) - floor(centre - radius) is never more than this.
  const count = Math.ceil(2 * radius);
  const index = new Int32Array(outSize * count);
  const weight = new Float64Array(outSize * count);
  for (let i = 0; i < outSize; i++) {
    const centre = (i + 0.5) / scale - 0.5;
    const first = Math.floor(centre - radius) + 1;
    let sum = 0;
    for (let k = 0; k < count; k++) {
      const j = first + k;
      const w = cubic((j - centre) * stretch);
      index[i * count + k] = j < 0 ? 0 : j >= inSize ? inSize - 1 : j;
      weight[i * count + k] = w;
      sum += w;
    }
    for (let k = 0; k < count; k++) weight[i * count + k]! /= sum;
  }
  return { count, index, weight };
}

/**
 * The `rect` of a one-channel `width`-wide image resampled to `outWidth` x `outHeight` with a
 * cubic kernel (rows first, then columns, in double precision; rounded once at the end), edges
 * of the rectangle repeated. Plain arithmetic only, so the bytes are the same on every machine.
 */
export function resizeCubic(
  grey: Uint8Array,
  width: number,
  rect: PixelRect,
  outWidth: number,
  outHeight: number,
): Uint8Array {
  const { left, top } = rect;
  const ok = [left, top, rect.width, rect.height, outWidth, outHeight].every(Number.isInteger);
  if (!ok || left < 0 || top < 0 || rect.width < 1 || rect.height < 1 || outWidth < 1 || outHeight < 1)
    throw new RangeError(
      `resizeCubic: ${JSON.stringify(rect)} to ${outWidth}x${outHeight} is not a whole-pixel resize`,
    );
  if (left + rect.width > width || (top + rect.height) * width > grey.length)
    throw new RangeError(`resizeCubic: ${JSON.stringify(rect)} leaves the ${width}-pixel-wide image`);
  const cols = taps(rect.width, outWidth);
  const rows = taps(rect.height, outHeight);
  const across = new Float64Array(rect.height * outWidth);
  for (let y = 0; y < rect.height; y++) {
    const row = (rect.top + y) * width + rect.left;
    for (let x = 0, t = 0; x < outWidth; x++) {
      let s = 0;
      for (let k = 0; k < cols.count; k++, t++) s += cols.weight[t]! * grey[row + cols.index[t]!]!;
      across[y * outWidth + x] = s;
    }
  }
  const out = new Uint8Array(outWidth * outHeight);
  const sum = new Float64Array(outWidth);
  for (let y = 0; y < outHeight; y++) {
    sum.fill(0);
    for (let k = 0, t = y * rows.count; k < rows.count; k++, t++) {
      const w = rows.weight[t]!;
      const from = rows.index[t]! * outWidth;
      for (let x = 0; x < outWidth; x++) sum[x]! += w * across[from + x]!;
    }
    for (let x = 0; x < outWidth; x++) {
      const s = sum[x]!;
      out[y * outWidth + x] = s <= 0 ? 0 : s >= 255 ? 255 : Math.round(s);
    }
  }
  return out;
}
