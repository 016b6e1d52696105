import type { Calibration } from '../models/calibrator/schema';
import type { AuId } from '../plan/expressions';
import type { Spec } from '../spec/schema';
import type { ImageFacts } from './quality';

/** The filter's thresholds, as the spec's `filter` section (and calibrator policy) resolve them. */
export interface FilterThresholds {
  minFaceScore: number;
  minConfidence: number;
  /** Reject samples whose ensemble class differs from the intended one. */
  requireAgreement: boolean;
  /**
   * Load-test knob, not a quality rule: rejects this fraction of samples, chosen by a hash of
   * the key (so reproducibly), with reason `load-test`. Lets the farm's deficit rounds be
   * exercised with the `passthrough` calibrator, which never rejects anything.
   */
  testRejectFraction: number;
  auRequestedMin: number;
  auMissingBelow: number;
  auUnrequestedAbove: number;
  auChecked: readonly AuId[];
  minSharpness: number;
  minMeanLuma: number;
  maxMeanLuma: number;
  maxClippedFraction: number;
}

/** Every reject reason the filter itself gives (calibration error codes are passed through). */
export const REJECT_REASONS = [
  'low-face-score',
  'several-faces',
  'low-confidence',
  'disagrees-with-intended',
  'au-missing',
  'au-unrequested',
  'blurred',
  'underexposed',
  'overexposed',
  'clipped',
  'near-duplicate',
  'load-test',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** The calibrator's `drop` policy is agreement enforced by the filter (the ensemble labels as `synfer`). */
export function thresholdsFromSpec(spec: Pick<Spec, 'filter' | 'calibrator'>): FilterThresholds {
  return {
    ...spec.filter,
    requireAgreement: spec.filter.requireAgreement || spec.calibrator.policy === 'drop',
  };
}

export interface Decision {
  key: string;
  keep: boolean;
  reasons: string[];
  /** Which AUs contradicted the request, and the key a near-duplicate repeats. */
  details?: { aus?: string[]; duplicateOf?: string };
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
 * AUs whose landmark evidence contradicts the request: strongly requested but not seen, or not
 * requested but strongly seen. Without measured AUs (no landmarks, passthrough) there is no evidence.
 */
export function auContradictions(
  calibration: Calibration,
  t: Pick<FilterThresholds, 'auRequestedMin' | 'auMissingBelow' | 'auUnrequestedAbove' | 'auChecked'>,
): { missing: AuId[]; unrequested: AuId[] } {
  const measured = calibration.aus.measured;
  const missing: AuId[] = [];
  const unrequested: AuId[] = [];
  if (!measured) return { missing, unrequested };
  for (const au of t.auChecked) {
    const m = measured[au];
    if (m === undefined) continue;
    const r = calibration.aus.requested[au] ?? 0;
    if (r >= t.auRequestedMin && m < t.auMissingBelow) missing.push(au);
    else if (r < 0.5 && m >= t.auUnrequestedAbove) unrequested.push(au);
  }
  return { missing, unrequested };
}

/** Quality reasons from the pixels of the face crop; thresholds of 0 (or 255 / 1) switch a check off. */
export function qualityReasons(facts: ImageFacts, t: FilterThresholds): RejectReason[] {
  const reasons: RejectReason[] = [];
  if (t.minSharpness > 0 && facts.sharpness < t.minSharpness) reasons.push('blurred');
  if (facts.meanLuma < t.minMeanLuma) reasons.push('underexposed');
  if (facts.meanLuma > t.maxMeanLuma) reasons.push('overexposed');
  if (facts.clippedDark + facts.clippedBright > t.maxClippedFraction) reasons.push('clipped');
  return reasons;
}

export interface SampleEvidence {
  /** Pixel measurements of the sample; null when the image was not judged (no face found). */
  image?: ImageFacts | null;
  /** The earlier kept sample this one nearly repeats. */
  duplicateOf?: string;
}

/**
 * Keep or reject one sample, with every reason that applies (not just the first), so the
 * reject statistics show all that is wrong with a generator's output.
 */
export function decide(
  calibration: Calibration,
  thresholds: FilterThresholds,
  evidence: SampleEvidence = {},
): Decision {
  const reasons: string[] = [];
  const details: NonNullable<Decision['details']> = {};
  if (calibration.error) reasons.push(calibration.error.code);
  else if (calibration.face && calibration.face.score < thresholds.minFaceScore)
    reasons.push('low-face-score');
  if (calibration.face && calibration.face.count > 1) reasons.push('several-faces');
  if (!calibration.error && calibration.confidence < thresholds.minConfidence) reasons.push('low-confidence');
  if (!calibration.error && thresholds.requireAgreement && !calibration.agrees)
    reasons.push('disagrees-with-intended');
  const au = auContradictions(calibration, thresholds);
  if (au.missing.length > 0) reasons.push('au-missing');
  if (au.unrequested.length > 0) reasons.push('au-unrequested');
  if (au.missing.length + au.unrequested.length > 0) details.aus = [...au.missing, ...au.unrequested];
  if (evidence.image) reasons.push(...qualityReasons(evidence.image, thresholds));
  if (evidence.duplicateOf !== undefined) {
    reasons.push('near-duplicate');
    details.duplicateOf = evidence.duplicateOf;
  }
  if (thresholds.testRejectFraction > 0 && keyFraction(calibration.key) < thresholds.testRejectFraction) {
    reasons.push('load-test');
  }
  return {
    key: calibration.key,
    keep: reasons.length === 0,
    reasons,
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
}
