import { z } from 'zod';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { skinToneLegend } from '../plan/prompt';
import { SKIN_TONES } from '../plan/request';
import { runKeys } from '../run/layout';
import { RunObjects } from '../run/objects';
import type { Sidecar } from '../run/sidecar';
import type { ObjectStore } from '../storage/object-store';
import { ENTROPY_BINS, emptyQuality, MAX_ENTROPY_BITS, mergeQuality } from './metrics';

const ratio = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 1e4) / 1e4 : null);

export const RunReportSchema = z.object({
  format: z.literal('synfarm-report-v1'),
  runId: z.string(),
  shards: z.number().int(),
  /** Committed shards whose sidecar predates the quality aggregates (not in the figures below). */
  shardsWithoutQuality: z.array(z.number().int()),
  committedSamples: z.number().int(),
  shortfall: z.number().int(),
  generatedSamples: z.number().int(),
  /** Faces found / images the detector looked at; null when no detector ran (passthrough). */
  faceDetectionRate: z.number().nullable(),
  /**
   * SynFER's Table 1 metric over every generated sample: calibrated class == intended class. A
   * sample without a calibrated class (no face) counts as a miss.
   */
  ferAccuracy: z.object({
    overall: z.number().nullable(),
    perClass: z.record(z.string(), z.number().nullable()),
  }),
  confusion: z.object({
    classes: z.array(z.string()),
    /** [intended][calibrated]; `unlabeled` holds each intended class's samples with no class. */
    matrix: z.array(z.array(z.number().int())),
    unlabeled: z.array(z.number().int()),
  }),
  rejectsByReason: z.record(z.string(), z.number().int()),
  entropy: z.object({
    /** Bin edges in bits, ENTROPY_BINS + 1 of them, over [0, log2(8)]. */
    edges: z.array(z.number()),
    counts: z.array(z.number().int()),
  }),
  committedClassHistogram: z.array(z.number().int()),
  /**
   * Per class (AffectNet order): samples the spec's mix asked for, and how many of those the
   * rounds could not fill (requested = delivered + short, by the spec's `balanceBy` label).
   */
  classRequested: z.array(z.number().int()).default([]),
  classShortfall: z.array(z.number().int()).default([]),
  guidanceRounds: z.number().int(),
  /**
   * Per planned skin tone (1 very fair .. 6 dark brown): generated and committed samples, and FER
   * accuracy. Null when a committed shard's sidecar predates these counts.
   */
  bySkinTone: z
    .object({
      tones: z.array(z.number().int()),
      generated: z.array(z.number().int()),
      committed: z.array(z.number().int()),
      ferAccuracy: z.array(z.number().nullable()),
    })
    .nullable()
    .default(null),
});
export type RunReport = z.infer<typeof RunReportSchema>;

/** The committed sidecars, by the one definition in run/objects.ts, in shard order. */
export async function committedSidecars(store: ObjectStore, runId: string): Promise<Sidecar[]> {
  return (await new RunObjects(store, runId).listShards()).committed;
}

/** The report from sidecars alone (pure, for tests and for any caller holding sidecars). */
export function reportFromSidecars(runId: string, sidecars: readonly Sidecar[]): RunReport {
  const q = emptyQuality();
  const rejectsByReason: Record<string, number> = {};
  const histogram = AFFECTNET_CLASSES.map(() => 0);
  const short = AFFECTNET_CLASSES.map(() => 0);
  const without: number[] = [];
  let guidanceRounds = 0;
  let everyToneCounted = true;
  for (const s of sidecars) {
    if (!s.quality?.bySkinTone) everyToneCounted = false;
    if (s.quality) mergeQuality(q, s.quality);
    else without.push(s.shard);
    for (const [r, n] of Object.entries(s.rejectsByReason))
      rejectsByReason[r] = (rejectsByReason[r] ?? 0) + n;
    s.classHistogram.forEach((n, i) => {
      histogram[i] = (histogram[i] ?? 0) + n;
    });
    s.classShortfall?.forEach((n, i) => {
      short[i] = (short[i] ?? 0) + n;
    });
    guidanceRounds += s.guidance?.length ?? 0;
  }
  const perClass: Record<string, number | null> = {};
  let correct = 0;
  AFFECTNET_CLASSES.forEach((name, c) => {
    const row = q.confusion[c]!;
    const n = row.reduce((a, b) => a + b, 0) + q.unlabeled[c]!;
    perClass[name] = ratio(row[c]!, n);
    correct += row[c]!;
  });
  return {
    format: 'synfarm-report-v1',
    runId,
    shards: sidecars.length,
    shardsWithoutQuality: without,
    committedSamples: sidecars.reduce((n, s) => n + s.samples, 0),
    shortfall: sidecars.reduce((n, s) => n + s.shortfall, 0),
    generatedSamples: q.generated,
    faceDetectionRate: ratio(q.faceDetected, q.faceDetected + q.noFace),
    ferAccuracy: { overall: ratio(correct, q.generated), perClass },
    confusion: { classes: [...AFFECTNET_CLASSES], matrix: q.confusion, unlabeled: q.unlabeled },
    rejectsByReason: Object.fromEntries(
      Object.entries(rejectsByReason).sort(([a], [b]) => a.localeCompare(b)),
    ),
    entropy: {
      edges: Array.from(
        { length: ENTROPY_BINS + 1 },
        (_, i) => Math.round(((i * MAX_ENTROPY_BITS) / ENTROPY_BINS) * 1e4) / 1e4,
      ),
      counts: q.entropyBins,
    },
    committedClassHistogram: histogram,
    classRequested: histogram.map((n, i) => n + short[i]!),
    classShortfall: short,
    guidanceRounds,
    bySkinTone:
      everyToneCounted && sidecars.length > 0 && q.bySkinTone
        ? {
            tones: [...SKIN_TONES],
            generated: q.bySkinTone.generated,
            committed: q.bySkinTone.committed,
            ferAccuracy: q.bySkinTone.correct.map((n, i) => ratio(n, q.bySkinTone!.generated[i]!)),
          }
        : null,
  };
}

/**
 * Builds the run's quality report from its committed sidecars and writes it as
 * `<runId>/report.json` beside the manifest. Sidecars carry the aggregates (see run/sidecar.ts),
 * so the report costs one small read per shard whatever the run's size.
 */
export async function buildRunReport(
  store: ObjectStore,
  runId: string,
  sidecars?: readonly Sidecar[],
): Promise<RunReport> {
  const report = reportFromSidecars(runId, sidecars ?? (await committedSidecars(store, runId)));
  await store.put(runKeys(runId).report, `${JSON.stringify(report, null, 2)}\n`, {
    contentType: 'application/json',
  });
  return report;
}

const pct = (x: number | null) => (x === null ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)}%`);

/** The report as `synfarm report RUN` prints it. */
export function formatReport(r: RunReport): string {
  const lines: string[] = [];
  lines.push(
    `run ${r.runId}: ${r.shards} shards committed, ${r.committedSamples} samples (shortfall ${r.shortfall})`,
  );
  if (r.shardsWithoutQuality.length > 0)
    lines.push(
      `  ${r.shardsWithoutQuality.length} shard(s) have no quality aggregates (older sidecars); not counted below`,
    );
  lines.push(`generated and judged: ${r.generatedSamples}; face detected: ${pct(r.faceDetectionRate)}`);
  lines.push(`FER accuracy of generated images (calibrated == intended): ${pct(r.ferAccuracy.overall)}`);
  const short = r.confusion.classes.map((c) => c.slice(0, 5).padStart(6));
  lines.push('');
  lines.push(`intended \\ calibrated ${short.join('')}  no-lbl   acc`);
  r.confusion.classes.forEach((name, i) => {
    const row = r.confusion.matrix[i]!.map((n) => String(n).padStart(6)).join('');
    lines.push(
      `${name.padEnd(21)}${row}${String(r.confusion.unlabeled[i]).padStart(8)} ${pct(r.ferAccuracy.perClass[name] ?? null)}`,
    );
  });
  lines.push('');
  const reasons = Object.entries(r.rejectsByReason).sort((a, b) => b[1] - a[1]);
  lines.push(
    reasons.length === 0 ? 'rejects: none' : `rejects: ${reasons.map(([k, v]) => `${k} ${v}`).join(', ')}`,
  );
  const max = Math.max(1, ...r.entropy.counts);
  lines.push('soft-label entropy of committed samples (bits):');
  r.entropy.counts.forEach((n, i) => {
    const bar = '#'.repeat(Math.round((n / max) * 40));
    lines.push(
      `  ${r.entropy.edges[i]!.toFixed(2)}-${r.entropy.edges[i + 1]!.toFixed(2)} ${String(n).padStart(7)} ${bar}`,
    );
  });
  if (r.guidanceRounds > 0) lines.push(`guided deficit rounds: ${r.guidanceRounds}`);
  if (r.bySkinTone) {
    const t = r.bySkinTone;
    lines.push(`by planned skin tone (${skinToneLegend()}): generated -> committed, FER accuracy`);
    t.tones.forEach((tone, i) => {
      lines.push(
        `  ${tone} ${String(t.generated[i]).padStart(9)} -> ${String(t.committed[i]).padStart(7)}  ${pct(t.ferAccuracy[i] ?? null)}`,
      );
    });
  }
  if (r.classRequested.length > 0) {
    lines.push('class mix, requested -> delivered (short):');
    r.confusion.classes.forEach((name, i) => {
      const short = r.classShortfall[i] ?? 0;
      lines.push(
        `  ${name.padEnd(9)} ${String(r.classRequested[i]).padStart(7)} -> ${String(r.committedClassHistogram[i]).padStart(7)}${short > 0 ? ` (short ${short})` : ''}`,
      );
    });
  }
  return lines.join('\n');
}
