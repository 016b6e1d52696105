import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { createProceduralGenerator, GeneratorInputError, renderOne } from '../models/procedural';
import { AU_IDS, type AuId } from '../plan/expressions';
import type { AuVector, SampleRequest } from '../plan/request';
import { fixtureRequest } from './support/fixtures';

const SIZE = 224;
const generator = createProceduralGenerator();

function request(over: Partial<SampleRequest> = {}): SampleRequest {
  return fixtureRequest({
    shard: 1,
    index: 2,
    identity: { gender: 'androgynous', hair: 'short dark' },
    generatorSeed: 12345,
    ...over,
  });
}

async function render(req: SampleRequest, format: 'png' | 'jpg' = 'png', size = SIZE) {
  const [img] = await generator.generate([req], { size, format, quality: 90 });
  if (!img) throw new Error('no image');
  return img;
}

async function pixels(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes).removeAlpha().raw().toBuffer();
}

/** A rectangle in face space (x right, y down, 0 near the nose bridge, about ±70 wide). */
interface Region {
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

// The head is drawn at about 0.9 scale around (128, 114) of a 256 viewBox; regions are generous.
function toImage(r: Region, size: number) {
  const k = size / 256;
  return {
    left: Math.round((128 + r.x0 * 0.9) * k),
    right: Math.round((128 + r.x1 * 0.9) * k),
    top: Math.round((114 + r.y0 * 0.9) * k),
    bottom: Math.round((114 + r.y1 * 0.9) * k),
  };
}

function meanDiff(a: Buffer, b: Buffer, r: Region, size = SIZE): number {
  const { left, right, top, bottom } = toImage(r, size);
  let sum = 0;
  let n = 0;
  for (let y = top; y < bottom; y++) {
    for (let x = left; x < right; x++) {
      for (let ch = 0; ch < 3; ch++) {
        const i = (y * size + x) * 3 + ch;
        sum += Math.abs((a[i] ?? 0) - (b[i] ?? 0));
        n++;
      }
    }
  }
  return sum / n;
}

const BROWS: Region = { x0: -55, x1: 55, y0: -50, y1: -14 };
const EYES: Region = { x0: -50, x1: 50, y0: -22, y1: 6 };
const CHEEKS: Region = { x0: -55, x1: 55, y0: 0, y1: 30 };
const NOSE: Region = { x0: -20, x1: 20, y0: -12, y1: 32 };
const MOUTH: Region = { x0: -42, x1: 42, y0: 32, y1: 72 };
const CHIN: Region = { x0: -35, x1: 35, y0: 60, y1: 105 };
const FOREHEAD: Region = { x0: -40, x1: 40, y0: -80, y1: -50 };

/** Where each AU must change the face, and a region it must leave (nearly) alone. */
const AU_REGIONS: Record<AuId, { changes: Region; leaves: Region }> = {
  AU1: { changes: BROWS, leaves: MOUTH },
  AU2: { changes: BROWS, leaves: MOUTH },
  AU4: { changes: BROWS, leaves: MOUTH },
  AU5: { changes: EYES, leaves: MOUTH },
  AU6: { changes: CHEEKS, leaves: FOREHEAD },
  AU7: { changes: EYES, leaves: MOUTH },
  AU9: { changes: NOSE, leaves: FOREHEAD },
  AU10: { changes: MOUTH, leaves: BROWS },
  AU12: { changes: MOUTH, leaves: BROWS },
  AU14: { changes: MOUTH, leaves: BROWS },
  AU15: { changes: MOUTH, leaves: BROWS },
  AU16: { changes: MOUTH, leaves: BROWS },
  AU17: { changes: CHIN, leaves: BROWS },
  AU20: { changes: MOUTH, leaves: BROWS },
  AU23: { changes: MOUTH, leaves: BROWS },
  AU25: { changes: MOUTH, leaves: BROWS },
  AU26: { changes: CHIN, leaves: BROWS },
  AU43: { changes: EYES, leaves: MOUTH },
};

describe('procedural generator', () => {
  it('identifies itself as procedural with a version', () => {
    expect(generator.id).toBe('procedural');
    expect(generator.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('renders the same request to identical bytes, JPEG and PNG', async () => {
    const req = request({ aus: { AU6: 3, AU12: 4 } });
    for (const format of ['jpg', 'png'] as const) {
      const a = await render(req, format);
      const b = await render(req, format);
      expect(Buffer.from(a.bytes).equals(Buffer.from(b.bytes))).toBe(true);
    }
  });

  it('renders different images for different seeds and identities', async () => {
    const base = await render(request());
    const otherSeed = await render(request({ generatorSeed: 999 }));
    const otherIdentity = await render(request({ identity: { ...request().identity, skinTone: 6 } }));
    expect(Buffer.from(base.bytes).equals(Buffer.from(otherSeed.bytes))).toBe(false);
    const px = await pixels(base.bytes);
    expect(meanDiff(px, await pixels(otherIdentity.bytes), CHEEKS)).toBeGreaterThan(20);
  });

  it('returns one image per request, in request order, keyed by the request key', async () => {
    const reqs = [request({ key: '000001_000007' }), request({ key: '000001_000003', generatorSeed: 4 })];
    const out = await generator.generate(reqs, { size: 112, format: 'jpg', quality: 80 });
    expect(out.map((o) => o.key)).toEqual(['000001_000007', '000001_000003']);
  });

  it.each([
    [112, 'jpg'],
    [224, 'png'],
    [512, 'jpg'],
  ] as const)('encodes %i px %s as requested', async (size, format) => {
    const img = await render(request(), format, size);
    const meta = await sharp(img.bytes).metadata();
    expect(meta.width).toBe(size);
    expect(meta.height).toBe(size);
    expect(meta.format).toBe(format === 'jpg' ? 'jpeg' : 'png');
    expect([img.width, img.height, img.format]).toEqual([size, size, format]);
  });

  describe('each action unit moves its own region', () => {
    let neutral: Buffer;
    beforeAll(async () => {
      neutral = await pixels((await render(request())).bytes);
    });
    it.each(AU_IDS.map((au) => [au]))('%s', async (au) => {
      const aus: AuVector = { [au]: 4 };
      const px = await pixels((await render(request({ aus }))).bytes);
      const { changes, leaves } = AU_REGIONS[au];
      const inRegion = meanDiff(neutral, px, changes);
      const elsewhere = meanDiff(neutral, px, leaves);
      expect(inRegion).toBeGreaterThan(0.8);
      expect(inRegion).toBeGreaterThan(3 * elsewhere);
    });
  });

  it('moves the brows for AU1 more at the inner end than AU2, and the reverse at the outer end', async () => {
    const neutral = await pixels((await render(request())).bytes);
    const au1 = await pixels((await render(request({ aus: { AU1: 5 } }))).bytes);
    const au2 = await pixels((await render(request({ aus: { AU2: 5 } }))).bytes);
    const inner: Region = { x0: -18, x1: 18, y0: -45, y1: -15 };
    const outer: Region = { x0: 34, x1: 52, y0: -45, y1: -15 };
    expect(meanDiff(neutral, au1, inner)).toBeGreaterThan(meanDiff(neutral, au2, inner));
    expect(meanDiff(neutral, au2, outer)).toBeGreaterThan(meanDiff(neutral, au1, outer));
  });

  it.each([
    ['left', 'image right'],
    ['right', 'image left'],
  ] as const)('draws a unilateral AU12+AU14 on the subject %s (%s)', async (side, _where) => {
    const neutral = await pixels((await render(request())).bytes);
    const smirk = await pixels(
      (await render(request({ aus: { AU12: 4, AU14: 3 }, auSide: { AU12: side, AU14: side } }))).bytes,
    );
    const imageLeft: Region = { x0: -48, x1: -8, y0: 25, y1: 70 };
    const imageRight: Region = { x0: 8, x1: 48, y0: 25, y1: 70 };
    const [active, passive] = side === 'left' ? [imageRight, imageLeft] : [imageLeft, imageRight];
    expect(meanDiff(neutral, smirk, active)).toBeGreaterThan(2 * meanDiff(neutral, smirk, passive));
  });

  it('scales the change with intensity', async () => {
    const neutral = await pixels((await render(request())).bytes);
    const weak = await pixels((await render(request({ aus: { AU12: 1 } }))).bytes);
    const strong = await pixels((await render(request({ aus: { AU12: 5 } }))).bytes);
    expect(meanDiff(neutral, strong, MOUTH)).toBeGreaterThan(1.5 * meanDiff(neutral, weak, MOUTH));
  });

  it.each([111, 513, 100.5])('rejects size %s naming the size field', async (size) => {
    const err = await generator.generate([request()], { size, format: 'jpg', quality: 90 }).catch((e) => e);
    expect(err).toBeInstanceOf(GeneratorInputError);
    expect(err.field).toBe('size');
    expect(err.code).toBe('GENERATOR_INVALID_INPUT');
  });

  it.each([6, -1])('rejects AU intensity %s naming the AU', async (v) => {
    const bad = { ...request(), aus: { AU12: v } } as SampleRequest;
    const err = await generator.generate([bad], { size: 224, format: 'jpg', quality: 90 }).catch((e) => e);
    expect(err).toBeInstanceOf(GeneratorInputError);
    expect(err.field).toBe('aus.AU12');
  });

  it('records prompt words used and ignored, and draws what the prompt asks for', async () => {
    const plain = await render(request());
    const prompted = await render(
      request({ prompt: 'A photo of an elderly man with a beard, glasses, warm side light, smiling widely' }),
    );
    const meta = prompted.meta as {
      prompt: { used: string[]; ignored: string[] };
      identity: SampleRequest['identity'];
    };
    expect(meta.prompt.used).toEqual(
      expect.arrayContaining(['elderly', 'man', 'beard', 'glasses', 'warm', 'side light']),
    );
    expect(meta.prompt.ignored).toEqual(['smiling', 'widely']);
    expect(meta.identity).toMatchObject({
      ageBand: 'elderly',
      gender: 'masculine',
      facialHair: 'beard',
      glasses: true,
    });
    expect(meta.identity.lighting.warmth).toBe('warm');
    expect(['left', 'right']).toContain(meta.identity.lighting.direction);
    const a = await pixels(plain.bytes);
    const b = await pixels(prompted.bytes);
    expect(meanDiff(a, b, CHIN)).toBeGreaterThan(10);
    expect(meanDiff(a, b, EYES)).toBeGreaterThan(5);
  });
});

describe('renderOne', () => {
  it('renders the class prototype at the requested size and format', async () => {
    const img = await renderOne({ className: 'happy', seed: 3, size: 160, format: 'png' });
    const meta = await sharp(img.bytes).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([160, 160, 'png']);
  });

  it('fills the prototype AUs when none are given and honours explicit ones', async () => {
    const size = 224;
    const neutral = await pixels(
      (await renderOne({ className: 'neutral', seed: 3, size, format: 'png' })).bytes,
    );
    const happy = await pixels((await renderOne({ className: 'happy', seed: 3, size, format: 'png' })).bytes);
    const explicit = await pixels(
      (await renderOne({ className: 'happy', aus: {}, seed: 3, size, format: 'png' })).bytes,
    );
    const mouth: Region = { x0: -50, x1: 50, y0: 25, y1: 80 };
    expect(meanDiff(neutral, happy, mouth, size)).toBeGreaterThan(2);
    expect(meanDiff(neutral, explicit, mouth, size)).toBe(0);
  });

  it('rejects an out-of-range size naming the field', async () => {
    const err = await renderOne({ className: 'sad', size: 64 }).catch((e) => e);
    expect(err).toBeInstanceOf(GeneratorInputError);
    expect(err.field).toBe('size');
  });
});
