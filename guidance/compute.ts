import type { Calibration } from '../models/calibrator/schema';
import {
  AFFECTNET_CLASSES,
  AU_IDS,
  type AuId,
  EMFACS_PROTOTYPES,
  type ExpressionClass,
} from '../plan/expressions';
import type { ClassGuidance, Guidance, GuidanceSettings } from './schema';

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** One sample's outcome in a round: its calibration and whether the filter kept it. */
export interface RoundSample {
  calibration: Calibration;
  keep: boolean;
}

/** The most frequent wrong calibrated class among a class's samples (ties: lowest index). */
function mostConfusedWith(samples: readonly RoundSample[], intended: number): number | null {
  const counts = AFFECTNET_CLASSES.map(() => 0);
  for (const s of samples) {
    const c = s.calibration.classIndex;
    if (c !== null && c !== intended) counts[c]! += 1;
  }
  let best = -1;
  counts.forEach((n, i) => {
    if (n > 0 && (best < 0 || n > counts[best]!)) best = i;
  });
  return best < 0 ? null : best;
}

/**
 * Non-prototype AUs (the planner's companions) requested clearly more often in the misread
 * samples than in the kept ones: the data's own hint of what pulled the reading away.
 */
export function companionsOfMisreads(samples: readonly RoundSample[], intended: ExpressionClass): AuId[] {
  const own = new Set<AuId>(EMFACS_PROTOTYPES[intended]);
  const c = AFFECTNET_CLASSES.indexOf(intended);
  const misread = samples.filter((s) => s.calibration.classIndex !== null && s.calibration.classIndex !== c);
  const kept = samples.filter((s) => s.keep);
  if (misread.length < 2) return [];
  const rate = (group: readonly RoundSample[], au: AuId) =>
    group.length === 0
      ? 0
      : group.filter((s) => (s.calibration.aus.requested[au] ?? 0) > 0).length / group.length;
  return AU_IDS.filter((au) => !own.has(au) && rate(misread, au) > rate(kept, au) + 0.2);
}

/** AUs of the confused class's prototype the intended class does not itself need. */
export function confusingAus(intended: ExpressionClass, confused: ExpressionClass): AuId[] {
  const own = new Set(EMFACS_PROTOTYPES[intended]);
  return EMFACS_PROTOTYPES[confused].filter((au) => !own.has(au));
}

/**
 * Guidance for round `round + 1` from round `round`'s outcome: every class kept-and-recognised
 * less often than `guidanceMinAcceptance` gets its prototype AUs raised by a gain that compounds with the
 * previous guidance (capped), and the AUs that pushed the ensemble to the class it was most often
 * read as are lowered. Classes doing well keep the guidance that got them there. Undefined when
 * there is nothing to steer.
 */
export function computeGuidance(
  round: number,
  samples: readonly RoundSample[],
  previous: Guidance | undefined,
  settings: GuidanceSettings,
): Guidance | undefined {
  if (!settings.guidance) return undefined;
  const classes: Guidance['classes'] = {};
  AFFECTNET_CLASSES.forEach((name, c) => {
    const prev = previous?.classes[name];
    const mine = samples.filter((s) => s.calibration.intended.classIndex === c);
    if (mine.length === 0) {
      if (prev) classes[name] = prev;
      return;
    }
    const kept = mine.filter((s) => s.keep).length;
    const misread = mine.filter(
      (s) => s.calibration.classIndex !== null && s.calibration.classIndex !== c,
    ).length;
    const acceptance = kept / mine.length;
    // Under the synfer policy a misread sample is kept with a soft label; it still means the
    // generator missed the class, so guidance counts only samples kept and read as intended.
    const recognised = mine.filter((s) => s.keep && s.calibration.classIndex === c).length / mine.length;
    const basis = {
      samples: mine.length,
      kept,
      misread,
      acceptance: round4(acceptance),
      recognised: round4(recognised),
    };
    if (recognised >= settings.guidanceMinAcceptance) {
      if (prev) classes[name] = { ...prev, basis };
      return;
    }
    const confusedIndex = mostConfusedWith(mine, c);
    const confusedWith =
      confusedIndex === null ? (prev?.confusedWith ?? null) : AFFECTNET_CLASSES[confusedIndex]!;
    const suppress = new Set<AuId>(prev?.suppress ?? []);
    if (confusedWith) for (const au of confusingAus(name, confusedWith)) suppress.add(au);
    for (const au of companionsOfMisreads(mine, name)) suppress.add(au);
    const gain = Math.min(
      settings.guidanceMaxGain,
      (prev?.gain ?? 1) * (1 + settings.guidanceGain * (1 - recognised)),
    );
    const guided: ClassGuidance = {
      gain: round4(gain),
      suppress: [...suppress].sort(),
      suppressFactor: settings.guidanceSuppress,
      confusedWith,
      basis,
    };
    classes[name] = guided;
  });
  if (Object.keys(classes).length === 0) return undefined;
  return { format: 'synfarm-guidance-v1', round: round + 1, basedOnRound: round, classes };
}
