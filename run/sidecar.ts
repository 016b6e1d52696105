import { z } from 'zod';

/**
 * A committed shard's sidecar. Written last, after the tar is complete, so its existence is
 * the commit marker (as img2dataset's per-shard stats file is): consumers and resume logic
 * treat a shard as present only when this exists and matches the tar.
 */
export const SidecarSchema = z.object({
  format: z.literal('synfarm-shard-v1'),
  runId: z.string(),
  shard: z.number().int().min(0),
  tar: z.string(),
  samples: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  planned: z.number().int().min(0),
  shortfall: z.number().int().min(0),
  rounds: z.number().int().min(1),
  /** Calibrated class index -> samples, AffectNet order. */
  classHistogram: z.array(z.number().int().min(0)),
  /**
   * Per class (AffectNet order, by the spec's `filter.balanceBy` label): planned samples the
   * rounds could not fill. Optional: sidecars written before class quotas still parse.
   */
  classShortfall: z.array(z.number().int().min(0)).optional(),
  rejectsByReason: z.record(z.string(), z.number().int().min(0)),
  keys: z.object({ first: z.string().nullable(), last: z.string().nullable() }),
  /**
   * Label-quality aggregates for the run report (report/), so it reads sidecars, never tars.
   * Optional: sidecars written before it existed still parse.
   */
  quality: z
    .object({
      /** Calibrated samples over every round, kept or not: the generator's output as judged. */
      generated: z.number().int().min(0),
      faceDetected: z.number().int().min(0),
      /** Samples the detector looked at and found no face in (passthrough labels count in neither). */
      noFace: z.number().int().min(0),
      /** [intended][calibrated] counts over every generated sample with a calibrated class. */
      confusion: z.array(z.array(z.number().int().min(0))),
      /** Per intended class: generated samples without a calibrated class (no face, decode error). */
      unlabeled: z.array(z.number().int().min(0)),
      /** Soft-label entropy histogram of the committed samples (report/metrics.ts bins). */
      entropyBins: z.array(z.number().int().min(0)),
      /**
       * Per planned skin tone (SKIN_TONES order): generated samples, those calibrated as intended,
       * and those committed. Expressions read worse on darker skin, and filters and quotas act on
       * labels, so a run can deliver a lighter mix than it planned. Absent in older sidecars.
       */
      bySkinTone: z
        .object({
          generated: z.array(z.number().int().min(0)),
          correct: z.array(z.number().int().min(0)),
          committed: z.array(z.number().int().min(0)),
        })
        .optional(),
    })
    .optional(),
  /** Per deficit round: how guidance steered each class and its acceptance before and after. */
  guidance: z
    .array(
      z.object({
        round: z.number().int().min(1),
        classes: z.array(
          z.object({
            className: z.string(),
            gain: z.number(),
            suppress: z.array(z.string()),
            confusedWith: z.string().nullable(),
            /** Kept / generated for this class in the round the guidance was computed from. */
            acceptanceBefore: z.number().min(0).max(1),
            /** The same in the guided round (null when the round generated none of this class). */
            acceptanceAfter: z.number().min(0).max(1).nullable(),
            /** Kept and calibrated as the intended class, before and after. */
            recognisedBefore: z.number().min(0).max(1),
            recognisedAfter: z.number().min(0).max(1).nullable(),
            samplesAfter: z.number().int().min(0),
          }),
        ),
      }),
    )
    .optional(),
});
export type Sidecar = z.infer<typeof SidecarSchema>;

export function parseSidecar(bytes: Uint8Array | string): Sidecar {
  const text = typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);
  return SidecarSchema.parse(JSON.parse(text));
}
