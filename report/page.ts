import { z } from 'zod';
import { PreviewSampleSchema } from './preview';
import { RunReportSchema } from './report';

/**
 * Everything report.html shows, gathered from the run's objects (report/page-io.ts) and rendered
 * by a pure function (report/html.ts): so the page can be tested, and re-rendered, without a run.
 */
export const ReportPageSchema = z.object({
  runId: z.string(),
  /** When the page was built (ISO 8601). */
  generatedAt: z.string(),
  state: z.enum(['running', 'complete']),
  plannedShards: z.number().int().min(0),
  plannedSamples: z.number().int().min(0),
  report: RunReportSchema,
  /** Samples the plan asked for per class (AffectNet order), over the committed shards. */
  requestedByClass: z.array(z.number().int().min(0)),
  /**
   * Per class, what the committed shards still lack. `recorded`: as the run wrote it in its
   * sidecars; `derived`: requested minus delivered by calibrated label, for runs that did not.
   */
  shortfallByClass: z.object({
    counts: z.array(z.number().int().min(0)),
    source: z.enum(['recorded', 'derived']),
  }),
  /** Commit time and size of every committed shard that has a preview, in time order. */
  commits: z.array(z.object({ shard: z.number().int(), at: z.string(), samples: z.number().int() })),
  /** Committed samples' thumbnails (grouped by calibrated class on the page). */
  kept: z.array(PreviewSampleSchema),
  /** Rejected samples' thumbnails (grouped by reason on the page). */
  rejects: z.array(PreviewSampleSchema),
  /** Committed shards written before previews existed: no thumbnails nor commit time from them. */
  shardsWithoutPreview: z.number().int().min(0),
});
export type ReportPage = z.infer<typeof ReportPageSchema>;
