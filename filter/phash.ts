/**
 * 64-bit difference hash (dHash): the grey image averaged down to 9x8 cells, one bit per
 * horizontally adjacent pair (left brighter than right). Robust to re-encoding, scaling and small
 * exposure shifts, cheap, and computed here from raw pixels rather than by a resize library, so the
 * same pixels give the same hash on every platform.
 */

/** Area-average of a `width` x `height` grey image onto a `cols` x `rows` grid. */
export function areaAverage(
  gray: Uint8Array,
  width: number,
  height: number,
  cols: number,
  rows: number,
): Float64Array {
  const out = new Float64Array(cols * rows);
  const counts = new Float64Array(cols * rows);
  for (let y = 0; y < height; y++) {
    const row = Math.min(rows - 1, Math.floor((y * rows) / height));
    for (let x = 0; x < width; x++) {
      const col = Math.min(cols - 1, Math.floor((x * cols) / width));
      out[row * cols + col]! += gray[y * width + x]!;
      counts[row * cols + col]! += 1;
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = counts[i]! > 0 ? out[i]! / counts[i]! : 0;
  return out;
}

/** The hash as 16 lower-case hex digits (bit 63 first), the form stored in filter.json. */
export function dHash(gray: Uint8Array, width: number, height: number): string {
  if (width < 9 || height < 8)
    throw new RangeError(`dHash needs at least 9x8 pixels, got ${width}x${height}`);
  const cells = areaAverage(gray, width, height, 9, 8);
  let hi = 0;
  let lo = 0;
  for (let r = 0; r < 8; r++) {
    for (let c = 0; c < 8; c++) {
      const bit = cells[r * 9 + c]! > cells[r * 9 + c + 1]! ? 1 : 0;
      const i = r * 8 + c;
      if (i < 32) hi = ((hi << 1) | bit) >>> 0;
      else lo = ((lo << 1) | bit) >>> 0;
    }
  }
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

function popcount32(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits that differ between two 16-hex-digit hashes. */
export function hamming(a: string, b: string): number {
  return (
    popcount32(Number.parseInt(a.slice(0, 8), 16) ^ Number.parseInt(b.slice(0, 8), 16)) +
    popcount32(Number.parseInt(a.slice(8), 16) ^ Number.parseInt(b.slice(8), 16))
  );
}

const DCT_N = 32;
const dctCos = (() => {
  const c = new Float64Array(DCT_N * DCT_N);
  for (let u = 0; u < DCT_N; u++)
    for (let x = 0; x < DCT_N; x++) c[u * DCT_N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * DCT_N));
  return c;
})();

/**
 * 64-bit perceptual hash (pHash): the grey image area-averaged to 32x32, its 2-D DCT, and one bit
 * per coefficient of the lowest 8x8 frequencies (DC excluded) above their median. Spreads
 * different faces with the same layout further apart than dHash does (filter/README.md).
 */
export function pHash(gray: Uint8Array, width: number, height: number): string {
  if (width < DCT_N || height < DCT_N)
    throw new RangeError(`pHash needs at least ${DCT_N}x${DCT_N} pixels, got ${width}x${height}`);
  const px = areaAverage(gray, width, height, DCT_N, DCT_N);
  const rowsDct = new Float64Array(DCT_N * 8);
  for (let y = 0; y < DCT_N; y++)
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let x = 0; x < DCT_N; x++) s += px[y * DCT_N + x]! * dctCos[u * DCT_N + x]!;
      rowsDct[y * 8 + u] = s;
    }
  const coeffs: number[] = [];
  for (let v = 0; v < 8; v++)
    for (let u = 0; u < 8; u++) {
      let s = 0;
      for (let y = 0; y < DCT_N; y++) s += rowsDct[y * 8 + u]! * dctCos[v * DCT_N + y]!;
      coeffs.push(s);
    }
  // The DC term is the mean brightness: excluded from the median, its bit compares like the rest.
  const sorted = coeffs.slice(1).sort((a, b) => a - b);
  const median = (sorted[31]! + sorted[32]!) / 2;
  let hi = 0;
  let lo = 0;
  coeffs.forEach((c, i) => {
    const bit = c > median ? 1 : 0;
    if (i < 32) hi = ((hi << 1) | bit) >>> 0;
    else lo = ((lo << 1) | bit) >>> 0;
  });
  return hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}
