import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { createTestPatternGenerator, GeneratorInputError } from '../models';
import type { SampleRequest } from '../plan/request';
import { fixtureRequest } from './support/fixtures';

function request(classIndex: number, generatorSeed: number): SampleRequest {
  return fixtureRequest({ index: 1, classIndex, generatorSeed });
}

const gen = createTestPatternGenerator();
const SIZE = 128;

async function decode(req: SampleRequest) {
  const [img] = await gen.generate([req], { size: SIZE, format: 'png', quality: 90 });
  if (!img) throw new Error('no image');
  return { img, px: await sharp(img.bytes).removeAlpha().raw().toBuffer() };
}

function brightness(px: Buffer, x: number, y: number): number {
  const i = (y * SIZE + x) * 3;
  return (px[i] ?? 0) + (px[i + 1] ?? 0) + (px[i + 2] ?? 0);
}

describe('testpattern generator', () => {
  it('identifies itself as testpattern', () => {
    expect(gen.id).toBe('testpattern');
    expect(gen.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('lights the bar of the sample class only', async () => {
    const { px } = await decode(request(5, 1));
    const bars = Array.from({ length: 8 }, (_, i) => brightness(px, Math.floor(((i + 0.5) * SIZE) / 8), 20));
    const brightest = bars.indexOf(Math.max(...bars));
    expect(brightest).toBe(5);
    expect(bars.filter((b) => b > bars[5]! / 2)).toHaveLength(1);
  });

  it('encodes the generator seed as 32 bits, most significant first', async () => {
    const seed = 0xa5c3_0f81;
    const { px } = await decode(request(0, seed));
    let decoded = 0;
    const top = Math.floor((SIZE * 3) / 4);
    for (let bit = 0; bit < 32; bit++) {
      const x = Math.floor((((bit % 8) + 0.5) * SIZE) / 8);
      const y = top + Math.floor(((Math.floor(bit / 8) + 0.5) * (SIZE - top)) / 4);
      decoded = (decoded << 1) | (brightness(px, x, y) > 384 ? 1 : 0);
    }
    expect(decoded >>> 0).toBe(seed);
  });

  it('is deterministic and varies with the seed', async () => {
    const a = await decode(request(2, 7));
    const b = await decode(request(2, 7));
    const c = await decode(request(2, 8));
    expect(Buffer.from(a.img.bytes).equals(Buffer.from(b.img.bytes))).toBe(true);
    expect(Buffer.from(a.img.bytes).equals(Buffer.from(c.img.bytes))).toBe(false);
  });

  it('honours size and format and rejects sizes out of range', async () => {
    const [img] = await gen.generate([request(1, 1)], { size: 112, format: 'jpg', quality: 70 });
    const meta = await sharp(img!.bytes).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([112, 112, 'jpeg']);
    const err = await gen
      .generate([request(1, 1)], { size: 1024, format: 'jpg', quality: 70 })
      .catch((e) => e);
    expect(err).toBeInstanceOf(GeneratorInputError);
    expect(err.field).toBe('size');
  });
});
