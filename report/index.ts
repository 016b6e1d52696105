export {
  addCommitted,
  addGenerated,
  ENTROPY_BINS,
  emptyQuality,
  entropyBin,
  entropyBits,
  MAX_ENTROPY_BITS,
  mergeQuality,
  type QualityAggregate,
} from './metrics';
export { buildRunReport, formatReport, type RunReport, RunReportSchema, reportFromSidecars } from './report';
