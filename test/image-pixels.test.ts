import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeRgb, jpegWasmStats, luma, resizeCubic } from '../image';
import { decodeImage } from '../models/calibrator/decode';
import { renderOne } from '../models/procedural';

const rgb = (pixels: number[][]) => ({
  data: new Uint8Array(pixels.flat()),
  width: pixels.length,
  height: 1,
  channels: 3,
});

describe('decodeRgb', () => {
  it("decodes the procedural faces on the WebAssembly path to sharp's pixels, and PNGs through sharp", async () => {
    const decoded = jpegWasmStats().decoded;
    for (const [seed, format] of [
      [1, 'jpg'],
      [2, 'jpg'],
      [3, 'png'],
    ] as const) {
      const { bytes } = await renderOne({ className: 'disgust', seed, size: 224, format });
      const want = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer();
      const got = await decodeRgb(bytes);
      expect([got.width, got.height, got.channels]).toEqual([224, 224, 3]);
      expect(Buffer.from(got.data).equals(want), format).toBe(true);
    }
    expect(jpegWasmStats().decoded).toBe(decoded + 2);
    // A process with the node's cores to itself asks sharp: same pixels, no WebAssembly.
    const { bytes } = await renderOne({ className: 'disgust', seed: 1, size: 224 });
    const viaSharp = await decodeRgb(bytes, { onThisThread: false });
    expect(Buffer.from(viaSharp.data).equals(Buffer.from((await decodeRgb(bytes)).data))).toBe(true);
    expect(jpegWasmStats().decoded).toBe(decoded + 3);
  });

  it('leaves a truncated JPEG to sharp, which refuses it, so the calibrator names the failure', async () => {
    const { bytes } = await renderOne({ className: 'happy', seed: 4, size: 224 });
    await expect(decodeRgb(bytes.subarray(0, bytes.length - 200))).rejects.toThrow(/VipsJpeg/);
    expect(await decodeImage(bytes.subarray(0, 300))).toMatchObject({ code: 'decode-failed' });
    expect(await decodeImage(bytes)).toMatchObject({ width: 224, height: 224 });
  });
});

describe('luma', () => {
  it("is libjpeg's BT.601 luma, rounded", () => {
    const px = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
      [255, 255, 255],
      [0, 0, 0],
      [200, 150, 100],
    ];
    // 0.299 R + 0.587 G + 0.114 B: 76.2, 149.7, 29.1, 255, 0, 159.2
    expect(Array.from(luma(rgb(px)))).toEqual([76, 150, 29, 255, 0, 159]);
  });
});

describe('resizeCubic', () => {
  const W = 224;
  // x + y, below 256 inside the rectangles read here.
  const ramp = new Uint8Array(W * W).map((_, i) => ((i % W) + Math.floor(i / W)) % 256);

  it('keeps a flat image flat and returns a same-size crop unchanged', () => {
    const flat = new Uint8Array(W * W).fill(97);
    for (const [w, h] of [
      [40, 50],
      [180, 200],
    ])
      expect(new Set(resizeCubic(flat, W, { left: 3, top: 5, width: w!, height: h! }, 128, 128))).toEqual(
        new Set([97]),
      );
    const same = resizeCubic(ramp, W, { left: 10, top: 20, width: 128, height: 128 }, 128, 128);
    for (let y = 0; y < 128; y++)
      for (let x = 0; x < 128; x++) expect(same[y * 128 + x]).toBe(ramp[(20 + y) * W + 10 + x]);
  });

  it('reads only the rectangle: beyond its edges it repeats them, whatever the image holds there', () => {
    const rect = { left: 60, top: 50, width: 70, height: 90 };
    const noisy = new Uint8Array(W * W).map((_, i) => (i * 7919) % 251);
    const alone = new Uint8Array(rect.width * rect.height);
    for (let y = 0; y < rect.height; y++)
      alone.set(
        noisy.subarray((rect.top + y) * W + rect.left, (rect.top + y) * W + rect.left + rect.width),
        y * rect.width,
      );
    const whole = { left: 0, top: 0, width: rect.width, height: rect.height };
    for (const side of [40, 128])
      expect(resizeCubic(noisy, W, rect, side, side)).toEqual(
        resizeCubic(alone, rect.width, whole, side, side),
      );
  });

  it('refuses a rectangle that is not whole pixels inside the image', () => {
    const grey = new Uint8Array(W * W);
    for (const rect of [
      { left: 200, top: 0, width: 30, height: 10 },
      { left: 0, top: 220, width: 10, height: 10 },
      { left: -1, top: 0, width: 10, height: 10 },
      { left: 0, top: 0, width: 0, height: 10 },
      { left: 0.5, top: 0, width: 10, height: 10 },
      { left: 0, top: 0, width: Number.NaN, height: 10 },
    ])
      expect(() => resizeCubic(grey, W, rect, 128, 128), JSON.stringify(rect)).toThrow(RangeError);
  });

  it('samples at pixel centres: enlarged, a ramp keeps its values away from the edges', () => {
    // Catmull-Rom reproduces a linear function exactly, so each output is the ramp at its centre.
    const rect = { left: 50, top: 40, width: 64, height: 64 };
    const out = resizeCubic(ramp, W, rect, 128, 128);
    for (let y = 4; y < 124; y++)
      for (let x = 4; x < 124; x++) {
        const sx = rect.left + (x + 0.5) / 2 - 0.5;
        const sy = rect.top + (y + 0.5) / 2 - 0.5;
        expect(Math.abs(out[y * 128 + x]! - (sx + sy))).toBeLessThanOrEqual(0.5);
      }
  });

  it("shrinks as libvips' cubic reduce does, to within a grey level or two, on face crops", async () => {
    for (const seed of [1, 2, 3]) {
      const { bytes } = await renderOne({ className: 'anger', seed, size: W });
      const grey = luma(await decodeRgb(bytes));
      for (const rect of [
        { left: 30, top: 35, width: 150, height: 160 },
        { left: 0, top: 12, width: 224, height: 131 },
      ]) {
        const want = await sharp(Buffer.from(grey), { raw: { width: W, height: W, channels: 1 } })
          .extract(rect)
          .resize(128, 128, { fit: 'fill', kernel: 'cubic' })
          .extractChannel(0)
          .raw()
          .toBuffer();
        const got = resizeCubic(grey, W, rect, 128, 128);
        // libvips rounds between its two passes; this rounds once, at the end.
        const off = [0, 0, 0, 0];
        for (let i = 0; i < got.length; i++) off[Math.min(3, Math.abs(got[i]! - want[i]!))]! += 1;
        expect(off[3]).toBe(0);
        expect(off[2]).toBeLessThan(got.length / 1000);
        expect(off[0]).toBeGreaterThan(0.85 * got.length);
      }
    }
  });
});
