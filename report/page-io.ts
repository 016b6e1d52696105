import { AFFECTNET_CLASSES } from '../plan/expressions';
import { createPlan } from '../plan/plan';
import { runKeys } from '../run/layout';
import type { Sidecar } from '../run/sidecar';
import { parseResolvedSpec } from '../spec';
import { ObjectNotFoundError } from '../storage/errors';
import type { ObjectStore } from '../storage/object-store';
import { renderReportHtml } from './html';
import type { ReportPage } from './page';
import { type PreviewSample, parseShardPreview, SHEET_PER_GROUP, type ShardPreview } from './preview';
import { buildRunReport, committedSidecars, type RunReport } from './report';

const PREVIEW_READS_IN_FLIGHT = 8;

async function readPreview(store: ObjectStore, key: string): Promise<ShardPreview | undefined> {
  try {
    return parseShardPreview(await store.get(key));
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/** Every committed shard's preview (undefined where a shard has none), a few reads at a time. */
async function readPreviews(store: ObjectStore, runId: string, shards: readonly number[]) {
  const keys = runKeys(runId);
  const out: (ShardPreview | undefined)[] = new Array(shards.length);
  let next = 0;
  const lane = async () => {
    while (next < shards.length) {
      const i = next++;
      out[i] = await readPreview(store, keys.shardPreview(shards[i]!));
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
 * What report.html shows, from the run's stored objects: spec.json (what was requested), the
 * committed sidecars (the figures) and the shards' previews (thumbnails, commit times).
 */
export async function collectReportPage(
  store: ObjectStore,
  runId: string,
  given?: { sidecars: readonly Sidecar[]; report: RunReport },
  now: Date = new Date(),
): Promise<ReportPage> {
  const keys = runKeys(runId);
  const spec = parseResolvedSpec(Buffer.from(await store.get(keys.spec)).toString('utf8'), {
    source: `${store.url}/${keys.spec}`,
  });
  const sidecars = given?.sidecars ?? (await committedSidecars(store, runId));
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
    store,
    runId,
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
    shortfallByClass: {
      counts: requestedByClass.map((n, c) => Math.max(0, n - (delivered[c] ?? 0))),
      source: 'derived',
    },
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
  const sidecars = await committedSidecars(store, runId);
  const report = await buildRunReport(store, runId, sidecars);
  if (!options.html) return { report };
  const page = await collectReportPage(store, runId, { sidecars, report });
  const htmlKey = runKeys(runId).reportHtml;
  await store.put(htmlKey, renderReportHtml(page), { contentType: 'text/html; charset=utf-8' });
  return { report, htmlKey };
}
