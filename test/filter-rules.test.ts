import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import {
  decide,
  exposure,
  laplacianVariance,
  measureImage,
  QUALITY_SIDE,
  thresholdsFromSpec,
} from '../filter';
import type { Calibration } from '../models/calibrator/schema';
import { renderOne } from '../models/procedural';
import { resolveSpec } from '../spec';

const spec = resolveSpec({ runId: 'rules', target: 8, output: 'file:///tmp/synfarm-rules' });
const T = thresholdsFromSpec(spec);

function label(overrides: Partial<Calibration> = {}): Calibration {
  return {
    key: '000000_000001',
    calibrator: { id: 'fer-ensemble', version: '1', backend: null },
    intended: { classIndex: 1, className: 'happy' },
    models: { m: [0.05, 0.8, 0.05, 0.02, 0.02, 0.02, 0.02, 0.02] },
    ensemble: [0.05, 0.8, 0.05, 0.02, 0.02, 0.02, 0.02, 0.02],
    softLabel: [0.03, 0.9, 0.03, 0.01, 0.01, 0.01, 0.01, 0],
    classIndex: 1,
    className: 'happy',
    confidence: 0.9,
    agrees: true,
    aus: {
      requested: { AU6: 3, AU12: 3.5 },
      measured: { AU1: 0.5, AU12: 2.5, AU26: 0 },
      lipCornerAsymmetry: 0,
      asymmetricSide: null,
    },
    face: { box: { x: 40, y: 40, width: 140, height: 140 }, score: 0.9, count: 1 },
    error: null,
    ...overrides,
  };
}

const passthrough = (): Calibration =>
  label({
    models: {},
    ensemble: null,
    confidence: 1,
    agrees: true,
    face: null,
    aus: { requested: { AU6: 3, AU12: 3.5 }, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
  });

const goodImage = {
  sharpness: 300,
  meanLuma: 120,
  clippedDark: 0,
  clippedBright: 0,
  phash: '0123456789abcdef',
};

describe('filter rules: each reject reason fires on its fixture and not on a good sample', () => {
  it('keeps a good sample and a passthrough (face: null, no models) sample', () => {
    expect(decide(label(), T, { image: goodImage })).toMatchObject({ keep: true, reasons: [] });
    expect(decide(passthrough(), T)).toMatchObject({ keep: true, reasons: [] });
  });

  it('no face: the calibrator error code is the reason', () => {
    const d = decide(label({ face: null, error: { code: 'no-face', message: 'x' }, classIndex: null }), T);
    expect(d.reasons).toEqual(['no-face']);
  });

  it('face score below minFaceScore', () => {
    const low = label({ face: { box: { x: 0, y: 0, width: 9, height: 9 }, score: 0.4, count: 1 } });
    expect(decide(low, T).reasons).toContain('low-face-score');
    expect(decide(label(), T).reasons).not.toContain('low-face-score');
  });

  it('calibrated confidence below minConfidence', () => {
    expect(decide(label({ confidence: 0.2 }), T).reasons).toContain('low-confidence');
    expect(decide(label({ confidence: 0.31 }), T).reasons).not.toContain('low-confidence');
  });

  it('disagreement rejects under the drop policy or requireAgreement, not under synfer', () => {
    const disagree = label({ agrees: false, classIndex: 0, className: 'neutral' });
    expect(decide(disagree, T).keep).toBe(true);
    const drop = thresholdsFromSpec({ ...spec, calibrator: { ...spec.calibrator, policy: 'drop' } });
    expect(decide(disagree, drop).reasons).toEqual(['disagrees-with-intended']);
    const strict = thresholdsFromSpec({ ...spec, filter: { ...spec.filter, requireAgreement: true } });
    expect(decide(disagree, strict).reasons).toEqual(['disagrees-with-intended']);
    expect(decide(label(), drop).keep).toBe(true);
  });

  it('AU evidence: a strongly requested AU not seen, or an unrequested one strongly seen', () => {
    const base = label();
    const missing = label({ aus: { ...base.aus, measured: { AU1: 0, AU12: 0, AU26: 0 } } });
    const d = decide(missing, T);
    expect(d.reasons).toEqual(['au-missing']);
    expect(d.details?.aus).toEqual(['AU12']);
    const spurious = label({ aus: { ...base.aus, measured: { AU1: 4.8, AU12: 2.5, AU26: 0 } } });
    expect(decide(spurious, T).reasons).toEqual(['au-unrequested']);
    // A weakly requested AU (below auRequestedMin) is not expected to be visible.
    const weak = label({ aus: { ...base.aus, requested: { AU12: 1.5 }, measured: { AU12: 0 } } });
    expect(decide(weak, T).keep).toBe(true);
    // AUs outside auChecked are never judged (their landmark evidence is unreliable).
    const unchecked = label({
      aus: { ...base.aus, requested: { AU4: 4, AU12: 3 }, measured: { AU4: 0, AU12: 2 } },
    });
    expect(decide(unchecked, T).keep).toBe(true);
  });

  it('image quality: blur, under- and over-exposure, clipping', () => {
    expect(decide(label(), T, { image: { ...goodImage, sharpness: 5 } }).reasons).toEqual(['blurred']);
    expect(decide(label(), T, { image: { ...goodImage, meanLuma: 10 } }).reasons).toEqual(['underexposed']);
    expect(decide(label(), T, { image: { ...goodImage, meanLuma: 245 } }).reasons).toEqual(['overexposed']);
    expect(
      decide(label(), T, { image: { ...goodImage, clippedBright: 0.3, clippedDark: 0.2 } }).reasons,
    ).toEqual(['clipped']);
    const off = { ...T, minSharpness: 0 };
    expect(decide(label(), off, { image: { ...goodImage, sharpness: 0 } }).keep).toBe(true);
  });

  it('near-duplicate names the sample it repeats', () => {
    const d = decide(label(), T, { image: goodImage, duplicateOf: '000000_000000' });
    expect(d).toMatchObject({
      keep: false,
      reasons: ['near-duplicate'],
      details: { duplicateOf: '000000_000000' },
    });
  });

  it('load-test rejects the configured fraction by key hash only', () => {
    const t = { ...T, testRejectFraction: 0.5 };
    const rejected = Array.from({ length: 400 }, (_, i) =>
      decide({ ...passthrough(), key: `000000_${String(i).padStart(6, '0')}` }, t),
    ).filter((d) => !d.keep);
    expect(rejected.length).toBeGreaterThan(150);
    expect(rejected.length).toBeLessThan(250);
    expect(rejected.every((d) => d.reasons.join() === 'load-test')).toBe(true);
  });
});

describe('image measurements', () => {
  it('Laplacian variance is 0 on a flat image and large on a checkerboard', () => {
    const flat = new Uint8Array(32 * 32).fill(128);
    const board = new Uint8Array(32 * 32).map((_, i) => (((i % 32) + Math.floor(i / 32)) % 2 ? 255 : 0));
    expect(laplacianVariance(flat, 32, 32)).toBe(0);
    expect(laplacianVariance(board, 32, 32)).toBeGreaterThan(10_000);
  });

  it('exposure reports mean and clipped fractions', () => {
    const px = new Uint8Array([0, 0, 255, 100]);
    expect(exposure(px)).toEqual({ meanLuma: 88.75, clippedDark: 0.5, clippedBright: 0.25 });
  });

  it('a Gaussian-blurred image measures far less sharp than the original', async () => {
    const noise = Buffer.from(Array.from({ length: 96 * 96 * 3 }, (_, i) => (i * 7919) % 251));
    const sharpJpg = await sharp(noise, { raw: { width: 96, height: 96, channels: 3 } })
      .jpeg()
      .toBuffer();
    const blurJpg = await sharp(sharpJpg).blur(4).jpeg().toBuffer();
    const a = await measureImage(sharpJpg, null);
    const b = await measureImage(blurJpg, { x: 10, y: 10, width: 60, height: 60 });
    expect(b.sharpness).toBeLessThan(T.minSharpness);
    expect(a.sharpness).toBeGreaterThan(10 * T.minSharpness);
  });

  it('refuses a face box with no pixel in the image, so the sample goes unjudged', async () => {
    const jpg = (await renderOne({ className: 'happy', seed: 1, size: 224 })).bytes;
    for (const box of [
      { x: 300, y: 300, width: 50, height: 50 },
      { x: -80, y: 10, width: 60, height: 60 },
      { x: Number.NaN, y: 10, width: 60, height: 60 },
      { x: 10, y: 10, width: Number.NaN, height: 60 },
    ])
      await expect(measureImage(jpg, box), JSON.stringify(box)).rejects.toThrow(RangeError);
  });

  it("measures the face crop's luma as sharp would resize it, with or without alpha", async () => {
    const side = QUALITY_SIDE;
    const jpg = (await renderOne({ className: 'happy', seed: 1, size: 224, format: 'jpg' })).bytes;
    const png = (await renderOne({ className: 'sad', seed: 2, size: 224, format: 'png' })).bytes;
    // Half-transparent: the alpha is dropped, as the calibrator drops it, before anything is measured.
    const translucent = await sharp(png).ensureAlpha(0.5).png().toBuffer();
    for (const bytes of [jpg, png, translucent]) {
      // Boxes the crop shrinks into 128 px (there sharp's resize is the same arithmetic), inside
      // the image and leaving it (clipped, as measureImage clips).
      for (const box of [
        { x: 40.6, y: 31.2, width: 131.4, height: 140.7 },
        { x: -6, y: 60, width: 260, height: 200 },
      ]) {
        const left = Math.max(0, Math.floor(box.x));
        const top = Math.max(0, Math.floor(box.y));
        const width = Math.min(224, Math.floor(box.x) + Math.round(box.width)) - left;
        const height = Math.min(224, Math.floor(box.y) + Math.round(box.height)) - top;
        const pixels = await sharp(bytes).removeAlpha().raw().toBuffer();
        const grey = Buffer.alloc(224 * 224);
        for (let i = 0; i < grey.length; i++)
          grey[i] = Math.round(
            0.299 * pixels[3 * i]! + 0.587 * pixels[3 * i + 1]! + 0.114 * pixels[3 * i + 2]!,
          );
        const reference = await sharp(grey, { raw: { width: 224, height: 224, channels: 1 } })
          .extract({ left, top, width, height })
          .resize(side, side, { fit: 'fill', kernel: 'cubic' })
          .extractChannel(0)
          .raw()
          .toBuffer();
        const facts = await measureImage(bytes, box);
        const want = laplacianVariance(reference, side, side);
        expect(Math.abs(facts.sharpness / want - 1)).toBeLessThan(0.03);
        expect(Math.abs(facts.meanLuma - exposure(reference).meanLuma)).toBeLessThan(0.1);
      }
    }
  });
});
