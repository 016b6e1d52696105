import { z } from 'zod';
import { AFFECTNET_CLASSES } from '../../plan/expressions';
import { AuVectorSchema, type SampleRequest } from '../../plan/request';
import { TFJS_BACKEND_NAMES } from '../tfjs-backend';

const Probabilities8 = z.array(z.number().min(0).max(1)).length(AFFECTNET_CLASSES.length);

export const FaceBoxSchema = z.object({
  /** Pixels in the decoded image. */
  x: z.number(),
  y: z.number(),
  width: z.number().positive(),
  height: z.number().positive(),
});

/** One sample's calibration, stored as JSON beside the sample (and in its `.json`). */
export const CalibrationSchema = z.object({
  key: z.string(),
  calibrator: z.object({
    id: z.string(),
    version: z.string(),
    /** What computed the numbers: a TF.js backend, or onnxruntime (its CPU library) for the models. */
    backend: z
      .object({ name: z.enum([...TFJS_BACKEND_NAMES, 'onnxruntime']), version: z.string() })
      .nullable(),
  }),
  intended: z.object({ classIndex: z.number().int(), className: z.enum(AFFECTNET_CLASSES) }),
  /** Each model's probabilities mapped onto AffectNet's 8 classes, before temperature scaling. */
  models: z.record(z.string(), Probabilities8),
  /** Weighted, temperature-scaled average of `models`, with the landmark contempt share applied. */
  ensemble: Probabilities8.nullable(),
  /** The training target after the policy (see policy.ts). */
  softLabel: Probabilities8.nullable(),
  classIndex: z
    .number()
    .int()
    .min(0)
    .max(AFFECTNET_CLASSES.length - 1)
    .nullable(),
  className: z.enum(AFFECTNET_CLASSES).nullable(),
  confidence: z.number().min(0).max(1),
  agrees: z.boolean(),
  aus: z.object({
    requested: AuVectorSchema,
    /** Rough 0-5 AU evidence from the 68 landmarks; null without a face or landmarks. */
    measured: AuVectorSchema.nullable(),
    lipCornerAsymmetry: z.number().min(0).max(5).nullable(),
    asymmetricSide: z.enum(['left', 'right']).nullable(),
  }),
  face: z
    .object({
      box: FaceBoxSchema,
      score: z.number().min(0).max(1),
      /** Faces found above the score threshold; more than one is a reason to reject. */
      count: z.number().int().min(1),
    })
    .nullable(),
  error: z
    .object({
      code: z.enum(['decode-failed', 'wrong-size', 'too-small', 'no-face', 'inference-failed']),
      message: z.string(),
    })
    .nullable(),
});
export type Calibration = z.infer<typeof CalibrationSchema>;

export interface CalibrationImage {
  key: string;
  bytes: Uint8Array;
}

/** What every calibrator offers; the worker loads one per process and reuses it. */
export interface Calibrator {
  readonly id: string;
  readonly version: string;
  calibrate(images: readonly CalibrationImage[], requests: readonly SampleRequest[]): Promise<Calibration[]>;
  dispose(): void;
}
