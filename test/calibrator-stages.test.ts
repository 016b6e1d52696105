import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnsembleCalibrator, type EnsembleCalibrator } from '../models/calibrator';
import { cropFaces } from '../models/calibrator/crop';
import { type DecodedImage, decodeImage, isFailure, MIN_IMAGE_SIDE } from '../models/calibrator/decode';
import { bestFace, detectorInput, detectorInputSize, type FoundFace } from '../models/calibrator/detect';
import { decodeDetections, TFD_ANCHORS } from '../models/calibrator/face-api-nets';
import { createProceduralGenerator } from '../models/procedural';
import { initTfjsBackend } from '../models/tfjs-backend';
import { createPlan } from '../plan/plan';
import { resolveSpec } from '../spec';

/** A 64x48 PNG: left half pure red, right half pure blue. */
async function halves(): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 48 * 3);
  for (let y = 0; y < 48; y++)
    for (let x = 0; x < 64; x++) raw.set(x < 32 ? [255, 0, 0] : [0, 0, 255], (y * 64 + x) * 3);
  return sharp(raw, { raw: { width: 64, height: 48, channels: 3 } })
    .png()
    .toBuffer();
}

beforeAll(async () => {
  await initTfjsBackend({ backend: 'wasm' });
});

describe('decode stage', () => {
  it('gives the RGB pixels of a known image, row-major', async () => {
    const img = (await decodeImage(await halves())) as DecodedImage;
    expect(isFailure(img)).toBe(false);
    expect([img.width, img.height, img.data.length]).toEqual([64, 48, 64 * 48 * 3]);
    expect([...img.data.subarray(0, 3)]).toEqual([255, 0, 0]);
    expect([...img.data.subarray((10 * 64 + 40) * 3, (10 * 64 + 40) * 3 + 3)]).toEqual([0, 0, 255]);
  });

  it('names what is wrong: undecodable, wrong size, too small', async () => {
    const png = await halves();
    expect(await decodeImage(png.subarray(0, 40))).toMatchObject({ code: 'decode-failed' });
    expect(await decodeImage(png, { width: 224, height: 224 })).toMatchObject({ code: 'wrong-size' });
    const tiny = await sharp({
      create: { width: MIN_IMAGE_SIDE - 1, height: 60, channels: 3, background: '#fff' },
    })
      .png()
      .toBuffer();
    expect(await decodeImage(tiny)).toMatchObject({ code: 'too-small' });
  });
});

describe('detect stage', () => {
  it('auto runs 224 px faces at 224, keeps 320 for larger images, never below the grid minimum', () => {
    expect(detectorInputSize('auto', 224, 224)).toBe(224);
    expect(detectorInputSize('auto', 512, 512)).toBe(320);
    expect(detectorInputSize('auto', 100, 60)).toBe(128);
    expect(detectorInputSize(416, 224, 224)).toBe(416);
  });

  it('feeds images already at the input size unresampled, and pads others bottom/right before resizing', () => {
    const same = tf.randomUniform([2, 224, 224, 3], 0, 255) as tf.Tensor4D;
    const fed = detectorInput(same, 224);
    expect(tf.max(tf.abs(tf.sub(fed, same))).dataSync()[0]).toBe(0);
    const wide = tf.fill([1, 64, 128, 3], 200) as tf.Tensor4D;
    const padded = detectorInput(wide, 128);
    expect(padded.shape).toEqual([1, 128, 128, 3]);
    const column = tf.slice(padded, [0, 0, 5, 0], [1, 128, 1, 1]).dataSync();
    expect(column[10]).toBeCloseTo(200, 3); // image rows on top
    expect(column[120]).toBe(0); // padding below
    tf.dispose([same, fed, wide, padded]);
  });

  it('decodes a grid cell with a high score into a box at that cell, and drops low scores', () => {
    const cells = 7;
    const fields = TFD_ANCHORS.length * 5;
    const grid = new Float32Array(cells * cells * fields).fill(-10);
    const o = (3 * cells + 2) * fields; // row 3, column 2, anchor 0
    grid.set([0, 0, 0, 0, 5], o);
    const [boxes] = decodeDetections(grid, 1, cells, 0.5);
    expect(boxes).toHaveLength(1);
    const b = boxes![0]!;
    expect(b.x + b.width / 2).toBeCloseTo(2.5 / cells, 6);
    expect(b.y + b.height / 2).toBeCloseTo(3.5 / cells, 6);
    expect(b.width).toBeCloseTo(TFD_ANCHORS[0]![0] / cells, 6);
    expect(decodeDetections(grid, 1, cells, 0.999)[0]).toEqual([]);
  });

  it('turns the best box into pixels clipped to the image and a square centred on it', () => {
    const face = bestFace(
      [{ x: 0.5, y: -0.1, width: 0.6, height: 0.4, score: 0.91234 }],
      200,
      100,
      0.5,
    ) as FoundFace;
    // Fractions are of the padded square's side (200).
    const close = (got: Record<string, number>, want: Record<string, number>) => {
      for (const [k, v] of Object.entries(want)) expect(got[k]).toBeCloseTo(v, 9);
    };
    close(face.box, { x: 100, y: 0, width: 100, height: 60 });
    close(face.square, { x: 100, y: -40, side: 120 });
    expect(face.score).toBe(0.9123);
    expect(bestFace([], 200, 100, 0.5)).toMatchObject({ code: 'no-face' });
  });
});

describe('crop stage', () => {
  it('cuts each face from its own image in one pass, black outside the image', () => {
    const a = tf.fill([1, 32, 32, 3], 10);
    const b = tf.fill([1, 32, 32, 3], 250);
    const pixels = tf.concat([a, b]) as tf.Tensor4D;
    const face = (x: number, y: number, side: number) =>
      ({ box: { x, y, width: side, height: side }, score: 1, count: 1, square: { x, y, side } }) as FoundFace;
    const crops = cropFaces(pixels, [
      { image: 1, face: face(0, 0, 31) },
      { image: 0, face: face(-31, 0, 62) },
    ]);
    expect(crops.shape).toEqual([2, 112, 112, 3]);
    const values = crops.arraySync() as number[][][][];
    expect(values[0]![50]![50]).toEqual([250, 250, 250]);
    expect(values[1]![50]![10]).toEqual([0, 0, 0]); // left half lies outside image 0
    expect(values[1]![50]![100]).toEqual([10, 10, 10]);
    tf.dispose([a, b, pixels, crops]);
  });
});

describe('the ensemble on 224 px procedural faces', () => {
  const N = 12;
  let wasm: EnsembleCalibrator;
  let onnx: EnsembleCalibrator;
  let images: { key: string; bytes: Uint8Array }[];
  let requests: ReturnType<ReturnType<typeof createPlan>['planShard']>;
  beforeAll(async () => {
    const spec = resolveSpec({ runId: 'stages-test', target: N, shardSize: N, output: 'file:///tmp/unused' });
    requests = createPlan(spec).planShard(0, 0);
    images = await createProceduralGenerator().generate(requests, spec.image);
    wasm = await createEnsembleCalibrator({ backend: { backend: 'wasm' }, runtime: 'tfjs', batchSize: 8 });
    onnx = await createEnsembleCalibrator({ runtime: 'onnx', batchSize: 8 });
  });
  afterAll(() => {
    wasm?.dispose();
    onnx?.dispose();
  });

  it('leaves no tensor behind across calls, with faces, failures and both runtimes', async () => {
    const mixed = [...images.slice(0, 5), { key: requests[5]!.key, bytes: Buffer.from('not an image') }];
    await wasm.calibrate(mixed, requests.slice(0, 6));
    await onnx.calibrate(mixed, requests.slice(0, 6));
    const before = tf.memory().numTensors;
    for (let r = 0; r < 2; r++) {
      await wasm.calibrate(mixed, requests.slice(0, 6));
      await onnx.calibrate(mixed, requests.slice(0, 6));
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('runtime auto runs the networks on onnxruntime here, and records it', async () => {
    const auto = await createEnsembleCalibrator({ models: ['human-emotion'], landmarks: false });
    try {
      expect(auto.backend.name).toBe('onnxruntime');
      const [c] = await auto.calibrate(images.slice(0, 1), requests.slice(0, 1));
      expect(c!.calibrator.backend).toEqual(auto.backend);
    } finally {
      auto.dispose();
    }
  });

  it('onnxruntime gives the labels, faces and AU evidence of the wasm path on the same images', async () => {
    const a = await wasm.calibrate(images, requests);
    const b = await onnx.calibrate(images, requests);
    expect(onnx.backend.name).toBe('onnxruntime');
    expect(b.map((c) => c.calibrator.backend?.name)).toEqual(Array(N).fill('onnxruntime'));
    expect(a.filter((c) => c.face).length).toBeGreaterThan(N / 2);
    a.forEach((x, i) => {
      const y = b[i]!;
      expect(y.className).toBe(x.className);
      expect(y.face?.count).toBe(x.face?.count);
      if (x.face && y.face) expect(Math.abs(y.face.box.x - x.face.box.x)).toBeLessThan(0.01);
      for (const [model, probs] of Object.entries(x.models))
        probs.forEach((p, j) => {
          expect(Math.abs(y.models[model]![j]! - p)).toBeLessThan(2e-3);
        });
      for (const [au, v] of Object.entries(x.aus.measured ?? {}))
        expect(Math.abs((y.aus.measured as Record<string, number>)[au]! - v)).toBeLessThan(0.05);
    });
  });
});
