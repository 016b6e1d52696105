import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
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
import { jpegHeader, jpegWasmStats } from '../image';
import { renderOne } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { openStore } from '../storage';

const FIXTURES = fileURLToPath(new URL('./fixtures/jpeg', import.meta.url));

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

  it("decodes the default pipeline's procedural faces on the wasm path, to sharp's pixels", async () => {
    const decoded = jpegWasmStats().decoded;
    for (const [seed, className] of AFFECTNET_CLASSES.entries()) {
      const { bytes } = await renderOne({ className, seed });
      const want = await sharpPixels(Buffer.from(bytes));
      const got = await decodeImage({ __key__: '000000_000000', jpg: bytes });
      expect([got.width, got.height], className).toEqual([224, 224]);
      expect(Buffer.from(got.data).equals(want.data), className).toBe(true);
    }
    expect(jpegWasmStats().decoded).toBe(decoded + AFFECTNET_CLASSES.length);
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

  it("rejects a truncated JPEG with sharp's error and decodes the next one", async () => {
    const jpg = await sharp(pixels, raw).jpeg().toBuffer();
    for (const cut of [200, 400, jpg.length - 10]) {
      await expect(decodeImage(sample(jpg.subarray(0, cut)))).rejects.toThrow(/VipsJpeg/);
    }
    expect((await decodeImage(sample(jpg))).width).toBe(side);
  });

  it('leaves to sharp what libjpeg-turbo 2.0 lacks: arithmetic coding, 3x1 sampling', async () => {
    for (const name of ['arithmetic.jpg', 'sampling-3x1.jpg']) {
      const jpg = await readFile(path.join(FIXTURES, name));
      expect(jpegHeader(jpg)).toEqual({ components: 3, icc: false });
      const declined = jpegWasmStats().declined;
      const got = await decodeImage(sample(jpg));
      expect(Buffer.from(got.data).equals((await sharpPixels(jpg)).data), name).toBe(true);
      expect(jpegWasmStats().declined, name).toBe(declined + 1);
    }
  });

  it('sees an ICC profile placed after the frame header', async () => {
    const profiled = await sharp(pixels, raw).withIccProfile('p3').jpeg().toBuffer();
    const moved = moveSegmentAfterFrame(profiled, 0xe2);
    expect(jpegHeader(moved)).toEqual({ components: 3, icc: true });
    const want = await sharpPixels(moved);
    expect(Buffer.from((await decodeImage(sample(moved))).data).equals(want.data)).toBe(true);
  });

  it('declines a frame too large for it without touching its memory, and decodes on', async () => {
    // 45761 x 62571 x 3 wraps to 1 in 32 bits: a decoder that trusted it would write past a 1-byte buffer.
    const jpg = await sharp(pixels, raw).jpeg().toBuffer();
    const huge = Buffer.from(jpg);
    const sof = huge.indexOf(Buffer.from([0xff, 0xc0]));
    huge.writeUInt16BE(62571, sof + 5);
    huge.writeUInt16BE(45761, sof + 7);
    const want = (await sharpPixels(jpg)).data;
    const instances = jpegWasmStats().instances;
    for (let i = 0; i < 10; i++) {
      await expect(decodeImage(sample(huge))).rejects.toThrow(/pixel limit|VipsJpeg/);
      expect(Buffer.from((await decodeImage(sample(jpg))).data).equals(want)).toBe(true);
    }
    expect(jpegWasmStats().instances).toBe(instances);
  });

  it('decodes the same pixels after many JPEGs libjpeg gave up on, also with decodes in flight', async () => {
    // libjpeg aborts with longjmp from inside the scan; an instance kept after that (its C stack
    // pointer never restored) decodes wrongly within about 50 of these.
    const bad = await readFile(path.join(FIXTURES, 'aborts-in-scan.jpg'));
    const jpg = await sharp(pixels, raw).jpeg().toBuffer();
    const want = (await sharpPixels(jpg)).data;
    const instances = jpegWasmStats().instances;
    for (let i = 0; i < 300; i++) {
      await expect(decodeImage(sample(bad))).rejects.toThrow(/VipsJpeg/);
      expect(Buffer.from((await decodeImage(sample(jpg))).data).equals(want)).toBe(true);
    }
    expect(jpegWasmStats().instances).toBe(instances + 300);
    const batch = Array.from({ length: 400 }, (_, i) => (i % 4 === 3 ? jpg : bad));
    const results = await Promise.allSettled(batch.map((b) => decodeImage(sample(b))));
    results.forEach((r, i) => {
      if (batch[i] === jpg)
        expect(r.status === 'fulfilled' && Buffer.from(r.value.data).equals(want)).toBe(true);
      else expect(r.status).toBe('rejected');
    });
  });
});

/** The JPEG with its first segment of `marker` moved to just after the frame header (SOF0). */
function moveSegmentAfterFrame(jpg: Buffer, marker: number): Buffer {
  const at = jpg.indexOf(Buffer.from([0xff, marker]));
  const segment = jpg.subarray(at, at + 2 + jpg.readUInt16BE(at + 2));
  const rest = Buffer.concat([jpg.subarray(0, at), jpg.subarray(at + segment.length)]);
  const sof = rest.indexOf(Buffer.from([0xff, 0xc0]));
  const afterSof = sof + 2 + rest.readUInt16BE(sof + 2);
  return Buffer.concat([rest.subarray(0, afterSof), segment, rest.subarray(afterSof)]);
}
