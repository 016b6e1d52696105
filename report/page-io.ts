import { AFFECTNET_CLASSES } from '../plan/expressions';
import { createPlan } from '../plan/plan';
import { RunObjects } from '../run/objects';
import type { Sidecar } from '../run/sidecar';
import type { ObjectStore } from '../storage/object-store';
import { renderReportHtml } from './html';
import type { ReportPage } from './page';
import { type PreviewSample, SHEET_PER_GROUP, type ShardPreview, ShardPreviewSchema } from './preview';
import { buildRunReport, type RunReport } from './report';

const PREVIEW_READS_IN_FLIGHT = 8;

/** Every committed shard's preview (undefined where a shard has none), a few reads at a time. */
async function readPreviews(objects: RunObjects, shards: readonly number[]) {
  const out: (ShardPreview | undefined)[] = new Array(shards.length);
  let next = 0;
  const lane = async () => {
    while (next < shards.length) {
      const i = next++;
      out[i] = await objects.json(objects.keys.shardPreview(shards[i]!), ShardPreviewSchema);
    }
  };
  await Promise.all(Array.from({ length: PREVIEW_READS_IN_FLIGHT }, lane));
  return out;
}

/** The thumbnails the page shows: per group (class, reason), the first SHEET_PER_GROUP in shard order. */
export function pickThumbnails(previews: readonly (ShardPreview | undefined)[]): {
  kept: PreviewSample[];
  rejects: PreviewSample[];
} {
  const kept: PreviewSample[] = [];
  const rejects: PreviewSample[] = [];
  const perClass = new Map<number, number>();
  const perReason = new Map<string, number>();
  for (const p of previews) {
    for (const s of p?.kept ?? []) {
      const c = s.calibrated ?? s.intended;
      if ((perClass.get(c) ?? 0) >= SHEET_PER_GROUP) continue;
      perClass.set(c, (perClass.get(c) ?? 0) + 1);
      kept.push(s);
    }
    for (const s of p?.rejects ?? []) {
      const room = s.reasons.filter((r) => (perReason.get(r) ?? 0) < SHEET_PER_GROUP);
      if (room.length === 0) continue;
      for (const r of room) perReason.set(r, (perReason.get(r) ?? 0) + 1);
      rejects.push(s);
    }
  }
  return { kept, rejects };
}

/**
 * Per class, what the committed shards lack: summed from the sidecars' `classShortfall` (class
 * quotas, by the spec's balanceBy label) when every one recorded it; for runs from before
 * quotas, requested minus delivered (calibrated label) over the run, where positive.
 */
export function shortfallByClass(
  sidecars: readonly Sidecar[],
  requested: readonly number[],
  delivered: readonly number[],
): ReportPage['shortfallByClass'] {
  if (sidecars.length > 0 && sidecars.every((s) => s.classShortfall !== undefined)) {
    const counts = AFFECTNET_CLASSES.map(() => 0);
    for (const s of sidecars)
      s.classShortfall?.forEach((n, c) => {
        counts[c] = (counts[c] ?? 0) + n;
      });
    return { counts, source: 'recorded' };
  }
  return { counts: requested.map((n, c) => Math.max(0, n - (delivered[c] ?? 0))), source: 'derived' };
}

/**
 * What report.html shows, from the run's stored objects: spec.json (what was requested), the
 * committed sidecars (the figures) and the shards' previews (thumbnails, commit times).
 */
export async function collectReportPage(
  store: ObjectStore,
  runId: string,
  given?: { sidecars: readonly Sidecar[]; report: RunReport },
  now: Date = new Date(),
): Promise<ReportPage> {
  const objects = new RunObjects(store, runId);
  const spec = await objects.spec();
  const sidecars = given?.sidecars ?? (await objects.listShards()).committed;
  const report = given?.report ?? (await buildRunReport(store, runId, sidecars));
  const plan = createPlan(spec);
  const requestedByClass = AFFECTNET_CLASSES.map(() => 0);
  for (const s of sidecars) {
    const counts = plan.classCounts(s.shard);
    AFFECTNET_CLASSES.forEach((name, c) => {
      requestedByClass[c]! += counts[name] ?? 0;
    });
  }
  const delivered = report.committedClassHistogram;
  const previews = await readPreviews(
    objects,
    sidecars.map((s) => s.shard),
  );
  const commits = previews
    .filter((p): p is ShardPreview => p !== undefined)
    .map((p) => ({ shard: p.shard, at: p.committedAt, samples: p.samples }))
    .sort((a, b) => a.at.localeCompare(b.at) || a.shard - b.shard);
  return {
    runId,
    generatedAt: now.toISOString(),
    state: sidecars.length === spec.shardCount ? 'complete' : 'running',
    plannedShards: spec.shardCount,
    plannedSamples: spec.targetSamples,
    report,
    requestedByClass,
    shortfallByClass: shortfallByClass(sidecars, requestedByClass, delivered),
    commits,
    ...pickThumbnails(previews),
    shardsWithoutPreview: previews.filter((p) => p === undefined).length,
  };
}

/**
 * Writes report.json and, with `html`, the self-contained report.html beside the manifest, from
 * one read of the committed sidecars. Returns the report and the page's object key.
 */
export async function writeRunReports(
  store: ObjectStore,
  runId: string,
  options: { html: boolean },
): Promise<{ report: RunReport; htmlKey?: string }> {
  const objects = new RunObjects(store, runId);
  const sidecars = (await objects.listShards()).committed;
  const report = await buildRunReport(store, runId, sidecars);
  if (!options.html) return { report };
  const page = await collectReportPage(store, runId, { sidecars, report });
  const htmlKey = objects.keys.reportHtml;
  await store.put(htmlKey, renderReportHtml(page), { contentType: 'text/html; charset=utf-8' });
  return { report, htmlKey };
}
