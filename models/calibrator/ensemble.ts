import * as tf from '@tensorflow/tfjs-core';
import { z } from 'zod';
import {
  activeTfjsBackend,
  initTfjsBackend,
  isNativeBackend,
  type TfjsBackendInfo,
  TfjsBackendOptionsSchema,
} from '../tfjs-backend';
import { type CalibrationItem, type CalibratorHeader, combine, failedCalibration } from './combine';
import { cropFaces } from './crop';
import { type DecodedImage, decodeImage, isFailure } from './decode';
import { bestFace, detectorInput, detectorInputSize, type FoundFace } from './detect';
import { decodeDetections, TFD_ANCHORS } from './face-api-nets';
import { type EnsembleModels, type InferenceRuntime, tfjsRuntime } from './infer';
import { type EnsembleModelFile, loadEnsembleModels } from './load';
import { matchRequests } from './match';
import { OnnxRuntimeError, onnxRuntime } from './onnx/runtime';
import { CalibrationPolicySchema } from './policy';
import type { Calibration, Calibrator } from './schema';

/**
 * The detector runs at the image's own size (capped at 320 px, detect.ts). Upsampling 224 px
 * faces to 320, the default until 2026-12, lost 4.5% of faces and read fewer of the rest as
 * intended (`npm run quality`: found 95.5% -> 100%, FER accuracy 63.1% -> 68.0% with the full
 * ensemble, 800 samples), at twice the detector's cost.
 */
export const DEFAULT_DETECTOR_INPUT = 'auto' as const;

export const EXPRESSION_MODEL_IDS = ['face-api-expression', 'human-emotion'] as const;
export type ExpressionModelId = (typeof EXPRESSION_MODEL_IDS)[number];

export const EnsembleCalibratorOptionsSchema = z.object({
  /** Which expression models vote; at least one. */
  models: z
    .array(z.enum(EXPRESSION_MODEL_IDS))
    .min(1)
    .default([...EXPRESSION_MODEL_IDS]),
  /**
   * Measure AU evidence (and contempt asymmetry) with face-api's 68-point landmark net. The
   * filter's AU rules read it for every sample (an unrequested AU seen strongly rejects), so it
   * runs on every face, not only on the contempt ones.
   */
  landmarks: z.boolean().default(true),
  /** Defaults to the installed packages' model folders. */
  faceApiModelDir: z.string().optional(),
  humanModelDir: z.string().optional(),
  detector: z
    .object({
      /**
       * Tiny face detector input side, a multiple of 32; `auto` runs it at the image's own size
       * (224 px faces at 224, half the work of 320), capped at 320 for larger images (detect.ts).
       * Labels move with it (a few pixels of box change a crop), so the calibrator's version
       * names it.
       */
      inputSize: z
        .union([
          z.literal('auto'),
          z
            .number()
            .int()
            .min(128)
            .max(1024)
            .refine((n) => n % 32 === 0, 'must be a multiple of 32'),
        ])
        .default(DEFAULT_DETECTOR_INPUT),
      scoreThreshold: z.number().min(0).max(1).default(0.5),
    })
    .prefault({}),
  /** When set, an image whose decoded size differs is a per-sample `wrong-size` result. */
  imageSize: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }).optional(),
  /** Samples per forward pass; bounds memory. */
  batchSize: z.number().int().min(1).max(256).default(32),
  policy: CalibrationPolicySchema.prefault({}),
  /**
   * Omitted: keep the backend the process already activated, or choose one automatically. With
   * runtime `onnx` TF.js still prepares the inputs (resize, crop) on this backend.
   */
  backend: TfjsBackendOptionsSchema.optional(),
  /**
   * What runs the networks: `tfjs` on the backend above, or `onnx` on onnxruntime's CPU library
   * (onnx/runtime.ts), the same weights converted in memory at load: same labels, ~3x the images
   * per core of wasm (npm run bench -- calibrator). `auto`: tfjs on a native TF.js backend
   * (tfjs-node, tfjs-node-gpu), else onnx where onnxruntime-node loads, else tfjs.
   */
  runtime: z.enum(['auto', 'tfjs', 'onnx']).default('auto'),
  /** onnxruntime threads per model run; 1 keeps a process on one core (the worker pool adds cores). */
  onnxThreads: z.number().int().min(1).max(64).default(1),
});
export type EnsembleCalibratorOptions = z.input<typeof EnsembleCalibratorOptionsSchema>;
type Options = z.infer<typeof EnsembleCalibratorOptionsSchema>;

export interface EnsembleCalibrator extends Calibrator {
  /** What runs the networks (recorded in every calibration). */
  readonly backend: NonNullable<CalibratorHeader['backend']>;
  /** The exact files the ensemble was built from, for provenance. */
  readonly files: readonly EnsembleModelFile[];
}

/** Same-sized images stacked into one [N, H, W, 3] float tensor (0..255). */
function pixelBatch(images: readonly DecodedImage[]): tf.Tensor4D {
  const { width, height } = images[0]!;
  const size = width * height * 3;
  const values = new Float32Array(images.length * size);
  // TypedArray.set converts bytes to floats natively, ~10x faster than a JS loop.
  images.forEach((img, k) => {
    values.set(img.data, k * size);
  });
  return tf.tensor4d(values, [images.length, height, width, 3]);
}

/** Groups by decoded size, so each group stacks into one batch. */
function bySize<T extends { img: DecodedImage }>(items: readonly T[]): T[][] {
  const groups = new Map<string, T[]>();
  for (const it of items) {
    const k = `${it.img.width}x${it.img.height}`;
    groups.set(k, [...(groups.get(k) ?? []), it]);
  }
  return [...groups.values()];
}

/**
 * The FER ensemble as five stages over a batch: decode (decode.ts) -> detect (detect.ts) ->
 * crop (crop.ts) -> per-model inference (infer.ts) -> combine (combine.ts). Each image is decoded,
 * stacked and cropped once; the detector and every face model run once per batch. All weights
 * are read from node_modules once, here; a missing or corrupt file is a ModelLoadError now,
 * never a failure later inside a worker's activity.
 */
export async function createEnsembleCalibrator(
  options: EnsembleCalibratorOptions = {},
): Promise<EnsembleCalibrator> {
  const opts = EnsembleCalibratorOptionsSchema.parse(options);
  const backend =
    opts.backend || !activeTfjsBackend()
      ? await initTfjsBackend(opts.backend ?? {})
      : (activeTfjsBackend() as TfjsBackendInfo);
  const loaded = await loadEnsembleModels(opts);
  let runtime: InferenceRuntime;
  let computedBy: NonNullable<CalibratorHeader['backend']> = backend;
  try {
    const ort = await chooseOnnx(opts, backend, loaded.models);
    if (ort) {
      runtime = ort;
      computedBy = { name: 'onnxruntime', version: ort.info.version };
    } else {
      runtime = tfjsRuntime(loaded.models);
    }
  } catch (err) {
    loaded.dispose();
    throw err;
  }
  const id = `fer-ensemble(${opts.models.join('+')}${opts.landmarks ? '+landmarks68' : ''})`;
  const version = `face-api@${loaded.faceApiVersion},human-models@${loaded.humanVersion},detector=${opts.detector.inputSize},policy=${opts.policy.mode}/${opts.policy.mixWeight}`;
  const header: CalibratorHeader = { id, version, backend: computedBy };

  return {
    id,
    version,
    backend: computedBy,
    files: loaded.files,
    async calibrate(images, requests) {
      const items = matchRequests(images, requests);
      const out: Calibration[] = [];
      for (let start = 0; start < items.length; start += opts.batchSize) {
        const batch = items.slice(start, start + opts.batchSize);
        out.push(
          ...(await calibrateBatch(batch, {
            opts,
            runtime,
            header,
            backendName: computedBy.name,
            // A native backend's process has the node's cores (see workers/config.ts): there sharp
            // decodes a batch on several threads; elsewhere a process has one core, and decoding
            // on it costs half the CPU.
            decodeOnThisThread: !isNativeBackend(backend.name),
          })),
        );
      }
      return out;
    },
    dispose() {
      runtime.dispose();
      loaded.dispose();
    },
  };
}

/** The onnxruntime runtime when the options call for it (see `runtime`), else undefined. */
async function chooseOnnx(opts: Options, backend: TfjsBackendInfo, models: EnsembleModels) {
  if (opts.runtime === 'tfjs') return undefined;
  if (opts.runtime === 'onnx') return onnxRuntime(models, { threads: opts.onnxThreads });
  if (isNativeBackend(backend.name)) return undefined;
  try {
    return await onnxRuntime(models, { threads: opts.onnxThreads });
  } catch (err) {
    if (err instanceof OnnxRuntimeError) return undefined;
    throw err;
  }
}

interface BatchContext {
  opts: Options;
  runtime: InferenceRuntime;
  header: CalibratorHeader;
  backendName: string;
  decodeOnThisThread: boolean;
}

async function calibrateBatch(items: CalibrationItem[], ctx: BatchContext): Promise<Calibration[]> {
  const results: (Calibration | undefined)[] = new Array(items.length);
  const decoded = await Promise.all(
    items.map(({ image }) =>
      decodeImage(image.bytes, ctx.opts.imageSize, { onThisThread: ctx.decodeOnThisThread }),
    ),
  );
  const ok: { i: number; img: DecodedImage }[] = [];
  decoded.forEach((d, i) => {
    if (isFailure(d)) results[i] = failedCalibration(items[i]!, ctx.header, d);
    else ok.push({ i, img: d });
  });
  for (const group of bySize(ok)) {
    try {
      await calibrateGroup(items, group, ctx, results);
    } catch (err) {
      for (const { i } of group) {
        results[i] ??= failedCalibration(items[i]!, ctx.header, {
          code: 'inference-failed',
          message: `inference failed on backend ${ctx.backendName}: ${(err as Error).message}`,
        });
      }
    }
  }
  return results as Calibration[];
}

/** Detect, crop, infer and combine for images of one size. */
async function calibrateGroup(
  items: CalibrationItem[],
  group: { i: number; img: DecodedImage }[],
  { opts, runtime, header }: BatchContext,
  results: (Calibration | undefined)[],
): Promise<void> {
  const { width, height } = group[0]!.img;
  const threshold = opts.detector.scoreThreshold;
  const pixels = pixelBatch(group.map((g) => g.img));
  try {
    const input = detectorInput(pixels, detectorInputSize(opts.detector.inputSize, width, height));
    let grid: Float32Array;
    try {
      grid = await runtime.detect(input);
    } finally {
      input.dispose();
    }
    const cells = Math.round(Math.sqrt(grid.length / (group.length * TFD_ANCHORS.length * 5)));
    const boxes = decodeDetections(grid, group.length, cells, threshold);
    const faces: { i: number; image: number; face: FoundFace }[] = [];
    group.forEach(({ i }, k) => {
      const face = bestFace(boxes[k] ?? [], width, height, threshold);
      if (isFailure(face)) results[i] = failedCalibration(items[i]!, header, face);
      else faces.push({ i, image: k, face });
    });
    if (faces.length === 0) return;
    const crops = cropFaces(pixels, faces);
    let outputs: Awaited<ReturnType<InferenceRuntime['faces']>>;
    try {
      outputs = await runtime.faces(crops);
    } finally {
      crops.dispose();
    }
    faces.forEach(({ i, face }, f) => {
      results[i] = combine(items[i]!, header, face, outputs, f, opts.policy);
    });
  } finally {
    pixels.dispose();
  }
}
