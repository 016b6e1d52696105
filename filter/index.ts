export { type DedupeIndex, DedupeIndexSchema, HashIndex } from './dedupe';
export { areaAverage, dHash, hamming, pHash } from './phash';
export {
  exposure,
  type ImageFacts,
  laplacianVariance,
  MEASUREMENT,
  measureImage,
  QUALITY_SIDE,
} from './quality';
export {
  auContradictions,
  type Decision,
  decide,
  type FilterThresholds,
  keyFraction,
  qualityReasons,
  REJECT_REASONS,
  type RejectReason,
  type SampleEvidence,
  thresholdsFromSpec,
} from './rules';
