import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createHeldOutJudge,
  EVAL_MODELS,
  type HeldOutJudge,
  type QualityMeasurement,
  TUNE_FER_MODELS,
  viewOf,
} from '../eval';
import { initTfjsBackend } from '../models/tfjs-backend';
import { AFFECTNET_CLASSES } from '../plan/expressions';

const run = promisify(execFile);
const requireHere = createRequire(import.meta.url);
const faceApiDir = path.dirname(requireHere.resolve('@vladmandic/face-api/package.json'));

/**
 * Floors for `npm run quality -- 48` (6 samples per class; the run is deterministic). Each sits
 * well below the figure measured when it was set (in brackets), so noise-free refactors pass
 * and a collapse of the renderer, the ensemble or a judge does not.
 */
const SAMPLES = 48;
const FLOORS = {
  tune: { ferAccuracy: 0.65 /* 0.792 */, faceFound: 0.9 /* 1.0 */ },
  ensemble: { ferAccuracy: 0.62 /* 0.771 */, faceFound: 0.9 /* 1.0 */ },
  'held-out': { ferAccuracy: 0.25 /* 0.354 */, faceFound: 0.9 /* 1.0 */ },
} as const;

describe('the tune/judge split', () => {
  it('keeps every judge out of the tune set and the tune view to tune FER models', () => {
    const tune = new Set<string>(EVAL_MODELS.filter((m) => m.role === 'tune').map((m) => m.id));
    const judges = EVAL_MODELS.filter((m) => m.role === 'judge');
    expect(judges.map((m) => m.kind).sort()).toEqual(['face-detector', 'fer', 'landmarks']);
    for (const j of judges) expect(tune.has(j.id)).toBe(false);
    expect(TUNE_FER_MODELS.every((id) => tune.has(id))).toBe(true);
    // The second detector is not the farm's.
    expect(judges.find((m) => m.kind === 'face-detector')?.inFarm).toBe(false);
  });
});

describe('the held-out judge', () => {
  let judge: HeldOutJudge;
  beforeAll(async () => {
    await initTfjsBackend({ backend: 'wasm' });
    judge = await createHeldOutJudge();
  });
  afterAll(() => judge?.dispose());

  it('finds and reads real smiling faces as happy, and finds no face in a blank image', async () => {
    // Real photos shipped with face-api's demo (the calibrator tests use the same crops).
    const photos = await Promise.all(
      [
        { file: 'sample3.jpg', left: 840, top: 80, size: 640 },
        { file: 'sample6.jpg', left: 1280, top: 160, size: 600 },
      ].map((f) =>
        sharp(path.join(faceApiDir, 'demo', f.file))
          .extract({ left: f.left, top: f.top, width: f.size, height: f.size })
          .resize(224, 224)
          .jpeg()
          .toBuffer(),
      ),
    );
    const blank = await sharp({ create: { width: 224, height: 224, channels: 3, background: '#808080' } })
      .jpeg()
      .toBuffer();
    const [a, b, none] = await judge.judge([...photos, blank]);
    for (const r of [a, b]) {
      expect(r?.face?.score).toBeGreaterThan(0.7);
      expect(AFFECTNET_CLASSES[r?.classIndex ?? -1]).toBe('happy');
    }
    expect(none).toEqual({ face: null, probs: null, classIndex: null, asymmetry: null });
  });
});

describe('npm run quality', () => {
  it(`stays above its floors at ${SAMPLES} samples in every view`, async () => {
    const { stdout } = await run('npm', ['run', '-s', 'quality', '--', String(SAMPLES), '--json'], {
      maxBuffer: 16 * 1024 * 1024,
    });
    const m = JSON.parse(stdout) as QualityMeasurement;
    expect(m.samples).toBe(SAMPLES);
    for (const [view, floor] of Object.entries(FLOORS)) {
      const v = viewOf(m, view as keyof typeof FLOORS);
      expect(v.perClass.map((r) => r.samples)).toEqual(AFFECTNET_CLASSES.map(() => SAMPLES / 8));
      expect(v.correct / v.samples, `${view} FER accuracy`).toBeGreaterThanOrEqual(floor.ferAccuracy);
      expect(v.faceFound / v.samples, `${view} face found`).toBeGreaterThanOrEqual(floor.faceFound);
      // The skin-tone split covers the same samples and the same correct readings.
      const sum = (key: 'samples' | 'correct') => v.perSkinTone.reduce((a, t) => a + t[key], 0);
      expect([sum('samples'), sum('correct')]).toEqual([v.samples, v.correct]);
      expect(v.perSkinTone.map((t) => t.skinTone)).toEqual([1, 2, 3, 4, 5, 6]);
    }
  }, 120_000);
});
