import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decodeCls,
  decodeImage,
  decodeSamples,
  openRun,
  readRun,
  syntheticImages,
  writeSyntheticRun,
} from '../consumer';
import { jpegHeader } from '../consumer/jpeg-wasm';
import { openStore } from '../storage';

describe('decodeSamples', () => {
  it('decodes every sample with several in flight and keeps the reader order', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-decode-'));
    const store = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(store, 'dec', [7, 5], { images: await syntheticImages(3, 48) });
    const run = await openRun(store.url, 'dec');
    const plain: string[] = [];
    for await (const s of readRun({ run, seed: 3 })) plain.push(s.__key__);

    const decoded: string[] = [];
    for await (const d of decodeSamples(readRun({ run, seed: 3 }), { concurrency: 4 })) {
      decoded.push(d.sample.__key__);
      expect([d.image.width, d.image.height, d.image.channels]).toEqual([48, 48, 3]);
      expect(d.image.data.length).toBe(48 * 48 * 3);
      expect(d.cls).toBe(decodeCls(d.sample));
      expect(d.json).toBeTypeOf('object');
    }
    expect(decoded).toEqual(plain);
    expect(decoded).toHaveLength(12);
  });
});

describe('decodeImage', () => {
  const side = 112;
  const pixels = Buffer.alloc(side * side * 3);
  for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 5 + (p % 11) * 13 + Math.floor(p / 301) * 7) % 256;
  const raw = { raw: { width: side, height: side, channels: 3 as const } };
  const sharpPixels = async (bytes: Buffer) => sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const sample = (jpg: Buffer) => ({ __key__: '000000_000000', jpg: new Uint8Array(jpg) });

  it("decodes a colour JPEG to sharp's own pixels, baseline and progressive", async () => {
    const odd = { raw: { width: 97, height: 61, channels: 3 as const } };
    const cases = [
      sharp(pixels, raw).jpeg(),
      sharp(pixels, raw).jpeg({ progressive: true }),
      sharp(pixels, raw).jpeg({ chromaSubsampling: '4:4:4', quality: 95 }),
      sharp(pixels.subarray(0, 97 * 61 * 3), odd).jpeg(),
    ];
    for (const encoder of cases) {
      const jpg = await encoder.toBuffer();
      expect(jpegHeader(jpg)).toEqual({ components: 3, icc: false }); // the wasm decoder's path
      const want = await sharpPixels(jpg);
      for (const onThisThread of [true, false]) {
        const got = await decodeImage(sample(jpg), { onThisThread });
        expect([got.width, got.height, got.channels]).toEqual([want.info.width, want.info.height, 3]);
        expect(Buffer.from(got.data).equals(want.data)).toBe(true);
      }
    }
  });

  it('decodes greyscale, CMYK and profiled JPEGs as sharp does (to sRGB)', async () => {
    for (const [make, components, icc] of [
      [() => sharp(pixels, raw).toColourspace('b-w'), 1, false],
      [() => sharp(pixels, raw).toColourspace('cmyk'), 4, false],
      [() => sharp(pixels, raw).withIccProfile('p3'), 3, true],
    ] as const) {
      const jpg = await make().jpeg().toBuffer();
      expect(jpegHeader(jpg)).toEqual({ components, icc });
      const want = await sharpPixels(jpg);
      const got = await decodeImage(sample(jpg));
      expect([got.channels, Buffer.from(got.data).equals(want.data)]).toEqual([want.info.channels, true]);
    }
  });

  it('rejects a truncated JPEG and decodes the next one', async () => {
    const jpg = await sharp(pixels, raw).jpeg().toBuffer();
    await expect(decodeImage(sample(jpg.subarray(0, 200)))).rejects.toThrow(/JPEG decode failed/);
    expect((await decodeImage(sample(jpg))).width).toBe(side);
  });

  it('decodes the same pixels after many JPEGs that libjpeg gave up on', async () => {
    // Cut inside the Huffman tables: libjpeg aborts with longjmp, which unwinds the decoder's
    // stack without restoring it. An instance kept after that fails within a few hundred.
    const jpg = await sharp(pixels, raw).jpeg().toBuffer();
    expect(jpegHeader(jpg.subarray(0, 200)).components).toBe(3);
    const want = await sharpPixels(jpg);
    for (let i = 0; i < 1000; i++) {
      await expect(decodeImage(sample(jpg.subarray(0, 200)))).rejects.toThrow(/corrupt or truncated/);
    }
    expect(Buffer.from((await decodeImage(sample(jpg))).data).equals(want.data)).toBe(true);
  });
});
