import { AU_IDS, AU_MAX_INTENSITY, type AuId, EMFACS_PROTOTYPES, type ExpressionClass } from './expressions';
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
    ['AU10', 0.6, 1.5, 3.5],
    ['AU4', 0.3, 0.5, 2],
    ['AU25', 0.3, 0.5, 2],
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

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

function clamp(x: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, x));
}

/**
 * The AU intensity vector (every id in AU_IDS, 0..5) for one sample of `className`: the EMFACS
 * prototype with seeded jitter plus natural companions. Unilateral AUs (contempt) get a seeded
 * side of the subject's face in `auSide`.
 */
export function planAus(className: ExpressionClass, rng: Rng): Pick<SampleRequest, 'aus' | 'auSide'> {
  const values = new Float64Array(AU_IDS.length);
  const set = (au: AuId, v: number) => {
    values[AU_INDEX[au]] = v;
  };
  const auSide: Partial<Record<AuId, Side>> = {};

  if (className === 'neutral') {
    if (rng.chance(0.2)) set(rng.pick(NEUTRAL_RESIDUALS), rng.range(0.1, NEUTRAL_MAX));
  } else {
    const [lo, hi] = STRENGTH[className];
    const strength = rng.range(lo, hi);
    for (const au of EMFACS_PROTOTYPES[className]) {
      const v = strength + rng.range(-PROTOTYPE_JITTER, PROTOTYPE_JITTER);
      set(au, clamp(v, PROTOTYPE_MIN, AU_MAX_INTENSITY));
    }
    for (const [au, p, min, max] of COMPANIONS[className] ?? []) {
      if (rng.chance(p)) set(au, rng.range(min, max));
    }
    // A dropped jaw always parts the lips.
    const jaw = values[AU_INDEX.AU26]!;
    if (jaw > 0) set('AU25', clamp(jaw + rng.range(-0.5, 0.5), 1, AU_MAX_INTENSITY));
    if (className === 'contempt') {
      const side: Side = rng.chance(0.5) ? 'left' : 'right';
      auSide.AU12 = side;
      auSide.AU14 = side;
    }
  }

  const aus: AuVector = {};
  AU_IDS.forEach((au, i) => {
    aus[au] = round2(values[i]!);
  });
  return { aus, auSide };
}
