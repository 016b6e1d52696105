import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { HashIndex, hamming, measureImage, pHash } from '../filter';
import { luma } from '../image';
import { renderOne } from '../models/procedural';

/** pHash of the image's luma, decoded by sharp. */
async function gray(bytes: Uint8Array) {
  const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return pHash(luma({ data, width: info.width, height: info.height, channels: 3 }), info.width, info.height);
}

describe('perceptual hash', () => {
  it('counts differing bits', () => {
    expect(hamming('0000000000000000', '0000000000000000')).toBe(0);
    expect(hamming('0000000000000000', 'ffffffffffffffff')).toBe(64);
    expect(hamming('8000000000000001', '0000000000000000')).toBe(2);
    expect(hamming('00000000f0000000', '0000000000000000')).toBe(4);
  });

  it('is stable under re-encoding and rescaling, and far apart for different faces', async () => {
    const a = await renderOne({ className: 'happy', seed: 1, size: 224 });
    const b = await renderOne({ className: 'happy', seed: 2, size: 224 });
    const h = await gray(a.bytes);
    expect(await gray(a.bytes)).toBe(h);
    const requantised = await sharp(a.bytes).jpeg({ quality: 60 }).toBuffer();
    const rescaled = await sharp(a.bytes).resize(160, 160).png().toBuffer();
    expect(hamming(h, await gray(requantised))).toBeLessThanOrEqual(2);
    expect(hamming(h, await gray(rescaled))).toBeLessThanOrEqual(4);
    expect(hamming(h, await gray(b.bytes))).toBeGreaterThan(4);
    expect((await measureImage(a.bytes, null)).phash).toBe(h);
  });
});

describe('HashIndex', () => {
  const rand = (seed: number) => {
    let s = seed >>> 0;
    return () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s;
    };
  };
  const hex = (r: () => number) => r().toString(16).padStart(8, '0') + r().toString(16).padStart(8, '0');
  const flip = (h: string, bits: number[]) => {
    const v = [Number.parseInt(h.slice(0, 8), 16), Number.parseInt(h.slice(8), 16)];
    for (const b of bits) v[b < 32 ? 0 : 1] = (v[b < 32 ? 0 : 1]! ^ (1 << (31 - (b % 32)))) >>> 0;
    return v.map((x) => x.toString(16).padStart(8, '0')).join('');
  };

  it('finds an entry within the radius and none beyond it', () => {
    const index = new HashIndex(4);
    index.add('0123456789abcdef', 'a');
    expect(index.nearest(flip('0123456789abcdef', [0, 17, 40, 63]))).toEqual({ key: 'a', distance: 4 });
    expect(index.nearest(flip('0123456789abcdef', [0, 17, 40, 50, 63]))).toBeUndefined();
  });

  it('answers as a linear scan does, returning the earliest match', () => {
    const r = rand(7);
    const hashes = Array.from({ length: 300 }, () => hex(r));
    for (const radius of [0, 3, 6, 20]) {
      const index = new HashIndex(radius);
      for (const [i, h] of hashes.entries()) index.add(h, `k${i}`);
      for (let q = 0; q < 100; q++) {
        const base = hashes[(q * 37) % hashes.length]!;
        const query = flip(
          base,
          Array.from({ length: q % 8 }, (_, k) => (q * 13 + k * 7) % 64),
        );
        const linear = hashes.findIndex((h) => hamming(h, query) <= radius);
        const found = index.nearest(query);
        expect(found?.key).toBe(linear < 0 ? undefined : `k${linear}`);
      }
    }
  });
});
