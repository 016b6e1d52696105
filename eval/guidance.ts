import { decide, thresholdsFromSpec } from '../filter/rules';
import { applyGuidance, computeGuidance } from '../guidance';
import type { Calibration } from '../models/calibrator';
import { createPlan } from '../plan/plan';
import { measureQuality, type QualityMeasurement, qualitySpec } from './quality';

/**
 * The guidance loop's effect: round 0 as measureQuality renders it, guidance from its
 * calibrations (filter rules without the image checks), then round 1 rendered as planned and as
 * guided. With `tuneOnly` the calibrations come from the tune models alone, so guidance settings
 * can be tuned without a judge. Returns [round 0, round 1 planned, round 1 guided].
 */
export async function measureGuidance(samples = 800, tuneOnly = false): Promise<QualityMeasurement[]> {
  const spec = qualitySpec(samples);
  const thresholds = thresholdsFromSpec(spec);
  const round0: Calibration[] = [];
  const first = await measureQuality({ samples, tuneOnly, onCalibrations: (l) => round0.push(...l) });
  const guidance = computeGuidance(
    0,
    round0.map((calibration) => ({ calibration, keep: decide(calibration, thresholds).keep })),
    undefined,
    spec.filter,
  );
  const counts = Object.fromEntries(spec.classes.map((c) => [c.name, samples / spec.classes.length]));
  const round1 = createPlan(spec).planRound(0, 1, { classes: counts });
  const planned = await measureQuality({ samples, tuneOnly, planned: round1 });
  const steered = applyGuidance(round1, guidance).map((g) => g.request);
  const guided = await measureQuality({ samples, tuneOnly, planned: steered });
  return [first, planned, guided];
}
