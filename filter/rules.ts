import type { Calibration } from '../models/calibrator/schema';

/** The filter's thresholds, as the spec's `filter` section resolves them. */
export interface FilterThresholds {
  minFaceScore: number;
  minConfidence: number;
  requireAgreement: boolean;
  /**
   * Load-test knob, not a quality rule: rejects this fraction of samples, chosen by a hash of
   * the key (so reproducibly), with reason `load-test`. Lets the farm's deficit rounds be
   * exercised with the `passthrough` calibrator, which never rejects anything.
   */
  testRejectFraction: number;
}

export interface Decision {
  key: string;
  keep: boolean;
  reasons: string[];
}

/**
 * FNV-1a over the key, then murmur3's finaliser (keys differ only in their last digits, and
 * FNV alone leaves the high bits nearly equal), mapped to [0, 1): a stable draw per sample.
 */
export function keyFraction(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/**
 * Keep or reject one sample, with every reason that applies (not just the first), so the
 * reject statistics show all that is wrong with a generator's output.
 */
export function decide(calibration: Calibration, thresholds: FilterThresholds): Decision {
  const reasons: string[] = [];
  if (calibration.error) reasons.push(calibration.error.code);
  else if (calibration.face && calibration.face.score < thresholds.minFaceScore)
    reasons.push('low-face-score');
  if (calibration.face && calibration.face.count > 1) reasons.push('several-faces');
  if (!calibration.error && calibration.confidence < thresholds.minConfidence) reasons.push('low-confidence');
  if (thresholds.requireAgreement && !calibration.agrees) reasons.push('disagrees-with-intended');
  if (thresholds.testRejectFraction > 0 && keyFraction(calibration.key) < thresholds.testRejectFraction) {
    reasons.push('load-test');
  }
  return { key: calibration.key, keep: reasons.length === 0, reasons };
}
