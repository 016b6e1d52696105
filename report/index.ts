export { renderReportHtml } from './html';
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
export { type ReportPage, ReportPageSchema } from './page';
export { collectReportPage, writeRunReports } from './page-io';
export { PreviewCollector, previewQuota, type ShardPreview, ShardPreviewSchema } from './preview';
export { buildRunReport, formatReport, type RunReport, RunReportSchema, reportFromSidecars } from './report';
