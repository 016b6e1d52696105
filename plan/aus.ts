import {
  AU_IDS,
  AU_MAX_INTENSITY,
  type AuId,
  byClass,
  EMFACS_PROTOTYPES,
  type ExpressionClass,
} from './expressions';
import type { Rng } from './random';
import type { AuVector, SampleRequest } from './request';

type Side = 'left' | 'right';

/**
 * Prototype AUs share one per-sample expression strength (a strong smile raises both cheeks and
 * lip corners), each jittered a little. Contempt is subtle by nature, so its range starts lower.
 */
const STRENGTH: Record<ExpressionClass, readonly [number, number]> = {
  neutral: [0, 0],
  happy: [2.5, 4.5],
  sad: [2.5, 4.5],
  surprise: [2.5, 4.5],
  fear: [2.5, 4.5],
  disgust: [2.5, 4.5],
  anger: [2.5, 4.5],
  contempt: [2, 4],
};
const PROTOTYPE_JITTER = 0.5;
/** Lowest intensity a prototype AU may take: FACS "B" (slight but clearly present). */
export const PROTOTYPE_MIN = 2;

/**
 * Non-prototype AUs that commonly co-occur with an expression in FACS-coded data, with the
 * probability of appearing and the intensity range when they do. AU43 (eyes closed) stays small:
 * a fully closed eye hides the expression from FER models.
 */
const COMPANIONS: Partial<Record<ExpressionClass, readonly (readonly [AuId, number, number, number])[]>> = {
  happy: [
    ['AU25', 0.45, 1, 3],
    ['AU7', 0.3, 0.5, 2],
    ['AU43', 0.1, 0.2, 0.8],
  ],
  sad: [
    ['AU17', 0.5, 1, 3],
    ['AU43', 0.2, 0.2, 0.8],
  ],
  disgust: [
    ['AU16', 0.4, 1.5, 3.5],
    ['AU17', 0.3, 1, 3],
    ['AU15', 0.3, 1, 2.5],
    ['AU25', 0.5, 1, 3],
    ['AU4', 0.3, 0.5, 2],
  ],
  anger: [
    ['AU17', 0.4, 1, 3],
    ['AU10', 0.2, 0.5, 2],
  ],
  fear: [['AU43', 0.05, 0.2, 0.6]],
};
/** A neutral face is relaxed, not frozen: now and then lips slightly apart or lids slightly low. */
const NEUTRAL_RESIDUALS: readonly AuId[] = ['AU25', 'AU43'];
export const NEUTRAL_MAX = 0.5;

const AU_INDEX = Object.fromEntries(AU_IDS.map((au, i) => [au, i])) as Record<AuId, number>;
const AU25 = AU_INDEX.AU25;
const AU26 = AU_INDEX.AU26;

// Planning runs once per sample, millions of times per run: the per-class tables below are
// resolved to dense AU indices once, so planAus allocates nothing but its result.
const PROTOTYPE_INDICES = byClass((name) => EMFACS_PROTOTYPES[name].map((au) => AU_INDEX[au]));
const COMPANION_TABLE = Object.fromEntries(
  Object.entries(COMPANIONS).map(([name, rows]) => [
    name,
    rows.map(([au, p, min, max]) => [AU_INDEX[au], p, min, max] as const),
  ]),
) as Partial<Record<ExpressionClass, readonly (readonly [number, number, number, number])[]>>;
const NEUTRAL_RESIDUAL_INDICES = NEUTRAL_RESIDUALS.map((au) => AU_INDEX[au]);

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

/** The AU record in AU_IDS order (its JSON key order), written out so V8 gives it one fixed shape. */
function auRecord(v: Float64Array): AuVector {
  return {
    AU1: v[0]!,
    AU2: v[1]!,
    AU4: v[2]!,
    AU5: v[3]!,
    AU6: v[4]!,
    AU7: v[5]!,
    AU9: v[6]!,
    AU10: v[7]!,
    AU12: v[8]!,
    AU14: v[9]!,
    AU15: v[10]!,
    AU16: v[11]!,
    AU17: v[12]!,
    AU20: v[13]!,
    AU23: v[14]!,
    AU25: v[15]!,
    AU26: v[16]!,
    AU43: v[17]!,
  };
}
if (Object.keys(auRecord(new Float64Array(AU_IDS.length))).join() !== AU_IDS.join()) {
  throw new Error('auRecord must list every AU of AU_IDS, in that order');
}

/** Scratch vector for callers that do not keep it: planning is synchronous, no two calls overlap. */
const scratch = new Float64Array(AU_IDS.length);

/**
 * The AU intensity vector (every id in AU_IDS, 0..5) for one sample of `className`: the EMFACS
 * prototype with seeded jitter plus natural companions. Unilateral AUs (contempt) get a seeded
 * side of the subject's face in `auSide`. `values` receives the same intensities (rounded, in
 * AU_IDS order), so the prompt can be written from them without reading the record back by name.
 */
export function planAus(
  className: ExpressionClass,
  rng: Rng,
  values: Float64Array = scratch,
): Pick<SampleRequest, 'aus' | 'auSide'> {
  const { aus, side } = drawAus(className, rng, values.fill(0));
  return { aus, auSide: side === undefined ? {} : { AU12: side, AU14: side } };
}

function roundAll(values: Float64Array): AuVector {
  for (let i = 0; i < values.length; i++) values[i] = round2(values[i]!);
  return auRecord(values);
}

function drawAus(className: ExpressionClass, rng: Rng, values: Float64Array): { aus: AuVector; side?: Side } {
  if (className === 'neutral') {
    if (rng.chance(0.2)) {
      const au = rng.pick(NEUTRAL_RESIDUAL_INDICES);
      values[au] = rng.range(0.1, NEUTRAL_MAX);
    }
    return { aus: roundAll(values) };
  }
  const [lo, hi] = STRENGTH[className];
  const strength = rng.range(lo, hi);
  for (const au of PROTOTYPE_INDICES[className]) {
    const v = strength + rng.range(-PROTOTYPE_JITTER, PROTOTYPE_JITTER);
    values[au] = clamp(v, PROTOTYPE_MIN, AU_MAX_INTENSITY);
  }
  const companions = COMPANION_TABLE[className];
  if (companions !== undefined) {
    for (const [au, p, min, max] of companions) if (rng.chance(p)) values[au] = rng.range(min, max);
  }
  // A dropped jaw always parts the lips.
  const jaw = values[AU26]!;
  if (jaw > 0) values[AU25] = clamp(jaw + rng.range(-0.5, 0.5), 1, AU_MAX_INTENSITY);
  if (className !== 'contempt') return { aus: roundAll(values) };
  const side: Side = rng.chance(0.5) ? 'left' : 'right';
  return { aus: roundAll(values), side };
}
