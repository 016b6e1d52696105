import { z } from 'zod';
import { AFFECTNET_CLASSES, AU_IDS } from '../plan/expressions';

export const ClassGuidanceSchema = z.object({
  /** Multiplier on the class's prototype AUs, compounded over rounds and capped. */
  gain: z.number().min(1),
  /** AUs (not in the class's prototype) that pushed the ensemble to the confused class. */
  suppress: z.array(z.enum(AU_IDS)),
  /** Multiplier on the suppressed AUs. */
  suppressFactor: z.number().min(0).max(1),
  confusedWith: z.enum(AFFECTNET_CLASSES).nullable(),
  /** What the round guidance was computed from saw for this class. */
  basis: z.object({
    samples: z.number().int().min(0),
    kept: z.number().int().min(0),
    misread: z.number().int().min(0),
    acceptance: z.number().min(0).max(1),
    /** Kept and read as the intended class: what guidance tries to raise. */
    recognised: z.number().min(0).max(1),
  }),
});
export type ClassGuidance = z.infer<typeof ClassGuidanceSchema>;

/**
 * Steering for one generation round of one shard, stored as `r<round>/guidance.json` beside the
 * round's parts (never in a workflow payload). Computed by the previous round's filter from its
 * stored labels, so it is a pure function of stored data and a re-run computes the same bytes.
 */
export const GuidanceSchema = z.object({
  format: z.literal('synfarm-guidance-v1'),
  round: z.number().int().min(1),
  basedOnRound: z.number().int().min(0),
  classes: z.partialRecord(z.enum(AFFECTNET_CLASSES), ClassGuidanceSchema),
});
export type Guidance = z.infer<typeof GuidanceSchema>;

export interface GuidanceSettings {
  guidance: boolean;
  guidanceMinAcceptance: number;
  guidanceGain: number;
  guidanceMaxGain: number;
  guidanceSuppress: number;
}

/** What applyGuidance did to one request, recorded in the sample's `.json`. */
export interface GuidanceApplied {
  round: number;
  gain: number;
  confusedWith: string | null;
  /** AU -> [planned, applied] for every AU whose intensity changed. */
  changed: Record<string, [number, number]>;
}
