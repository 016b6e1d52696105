import { z } from 'zod';
import { AFFECTNET_CLASSES } from '../../plan/expressions';
import { CONTEMPT_INDEX, normalise } from './labels';

/**
 * How per-model probabilities become a sample's label. The default follows SynFER's FERAnno step:
 * keep the intended class where the ensemble agrees with it, otherwise trust the ensemble average.
 */
export const CalibrationPolicySchema = z
  .object({
    /**
     * synfer: agree -> mixWeight*onehot(intended) + (1-mixWeight)*ensemble, disagree -> ensemble.
     * ensemble: always the ensemble average. intended: always onehot(intended) (no relabelling).
     */
    mode: z.enum(['synfer', 'ensemble', 'intended']).default('synfer'),
    mixWeight: z.number().min(0).max(1).default(0.5),
    /** Per-model temperature applied to log-probabilities; >1 softens an over-confident model. */
    temperatures: z.record(z.string(), z.number().positive()).default({}),
    /** Per-model weight in the ensemble average; missing models weigh 1. */
    weights: z.record(z.string(), z.number().min(0)).default({}),
    /**
     * Share of the ensemble given to contempt at full lip-corner asymmetry (AU12/14 on one side,
     * measured 5 on the 0-5 scale); none of the shipped models has a contempt output.
     */
    contemptMaxShare: z.number().min(0).max(1).default(0.6),
    /**
     * Lip-corner asymmetry (0-5) up to which no contempt is credited: the asymmetry of ordinary
     * faces and landmark noise.
     */
    // 0.5 and 1.5 were set from the tune models only (eval/split.ts; face-api's 68-point net on
    // round-1 procedural renders, not the reported round 0): contempt renders measure a median
    // 1.37 (10th percentile 0.46), every other class at most 0.29; real faces' ordinary
    // asymmetry (about 0.7 at most, au-evidence.ts) earns a share of at most 0.1 here.
    contemptOnset: z.number().min(0).max(5).default(0.5),
    /** Asymmetry at which contempt gets its full `contemptMaxShare`; linear in between. */
    contemptFullAt: z.number().min(0).max(5).default(1.5),
  })
  .refine((p) => p.contemptFullAt > p.contemptOnset, {
    message: 'contemptFullAt must be above contemptOnset',
    path: ['contemptFullAt'],
  });
export type CalibrationPolicy = z.infer<typeof CalibrationPolicySchema>;
export type CalibrationPolicyInput = z.input<typeof CalibrationPolicySchema>;

const EPS = 1e-7;

export function temperatureScale(probs: readonly number[], temperature: number): number[] {
  if (temperature === 1) return normalise(probs);
  const logits = probs.map((p) => Math.log(Math.max(p, EPS)) / temperature);
  const max = Math.max(...logits);
  // Classes a model cannot output (contempt) stay at exactly 0 rather than gaining EPS mass.
  return normalise(logits.map((l, i) => ((probs[i] ?? 0) > 0 ? Math.exp(l - max) : 0)));
}

export function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if ((v[i] ?? 0) > (v[best] ?? 0)) best = i;
  return best;
}

export function weightedAverage(
  perModel: Record<string, readonly number[]>,
  policy: CalibrationPolicy,
): number[] {
  const out = new Array<number>(AFFECTNET_CLASSES.length).fill(0);
  let total = 0;
  for (const [id, probs] of Object.entries(perModel)) {
    const w = policy.weights[id] ?? 1;
    const scaled = temperatureScale(probs, policy.temperatures[id] ?? 1);
    scaled.forEach((p, i) => {
      out[i] = (out[i] ?? 0) + w * p;
    });
    total += w;
  }
  return total > 0 ? out.map((x) => x / total) : normalise(out);
}

/** Maps measured asymmetry (0-5) to the share of the ensemble moved onto contempt. */
export function contemptShare(asymmetry: number, policy: CalibrationPolicy): number {
  const t = Math.min(
    1,
    Math.max(0, (asymmetry - policy.contemptOnset) / (policy.contemptFullAt - policy.contemptOnset)),
  );
  return policy.contemptMaxShare * t;
}

export function withContempt(ensemble: readonly number[], share: number): number[] {
  return ensemble.map((p, i) => (1 - share) * p + (i === CONTEMPT_INDEX ? share : 0));
}

export interface SoftLabel {
  ensemble: number[];
  softLabel: number[];
  classIndex: number;
  confidence: number;
  /** The ensemble's argmax (before mixing) equals the intended class. */
  agrees: boolean;
}

export function softLabel(
  intendedIndex: number,
  perModel: Record<string, readonly number[]>,
  asymmetry: number,
  policy: CalibrationPolicy,
): SoftLabel {
  const ensemble = withContempt(weightedAverage(perModel, policy), contemptShare(asymmetry, policy));
  const agrees = argmax(ensemble) === intendedIndex;
  const onehot = ensemble.map((_, i) => (i === intendedIndex ? 1 : 0));
  let soft: number[];
  if (policy.mode === 'intended') soft = onehot;
  else if (policy.mode === 'ensemble' || !agrees) soft = ensemble;
  else soft = onehot.map((o, i) => policy.mixWeight * o + (1 - policy.mixWeight) * (ensemble[i] ?? 0));
  const classIndex = argmax(soft);
  return { ensemble, softLabel: soft, classIndex, confidence: soft[classIndex] ?? 0, agrees };
}
