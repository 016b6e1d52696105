import { z } from 'zod';
import { shardName } from '../plan/keys';
import type { Sidecar } from './sidecar';

/**
 * The run's consumer contract: committed shards with counts, sizes and checksums, totals and
 * a brace-expanded URL template. Rewritten as shards commit; `state` becomes `complete` only
 * when every planned shard is committed (and `_SUCCESS` is written beside it).
 */
export const ManifestSchema = z.object({
  format: z.literal('synfarm-manifest-v1'),
  runId: z.string(),
  state: z.enum(['running', 'complete']),
  plannedShards: z.number().int(),
  plannedSamples: z.number().int(),
  shards: z.array(
    z.object({
      shard: z.number().int(),
      url: z.string(),
      samples: z.number().int(),
      bytes: z.number().int(),
      sha256: z.string(),
    }),
  ),
  totals: z.object({
    shards: z.number().int(),
    samples: z.number().int(),
    bytes: z.number().int(),
    shortfall: z.number().int(),
    /** Per class, AffectNet order: what the committed shards could not fill. */
    classShortfall: z.array(z.number().int()).default([]),
  }),
  classHistogram: z.array(z.number().int()),
  rejectsByReason: z.record(z.string(), z.number().int()),
  /** e.g. `s3://bucket/prefix/run/shards/shard-{000000..000007}.tar`, for webdataset. */
  urlTemplate: z.string().nullable(),
  /**
   * Run-level near-duplicates: samples readers skip, each with the earlier key (in key order)
   * it duplicates. Only ever grows; final when `state` is `complete` (see README, "Dedupe").
   */
  excluded: z.array(z.object({ key: z.string(), duplicateOf: z.string() })).default([]),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** What the run index keeps of one committed shard: the sidecar's counts, nothing per sample. */
export const IndexEntrySchema = z.object({
  shard: z.number().int().min(0),
  samples: z.number().int().min(0),
  bytes: z.number().int().min(0),
  sha256: z.string(),
  shortfall: z.number().int().min(0),
  classHistogram: z.array(z.number().int().min(0)),
  classShortfall: z.array(z.number().int().min(0)).optional(),
  rejectsByReason: z.record(z.string(), z.number().int().min(0)),
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export function indexEntryOf(s: Sidecar): IndexEntry {
  const { shard, samples, bytes, sha256, shortfall, classHistogram, classShortfall, rejectsByReason } = s;
  return {
    shard,
    samples,
    bytes,
    sha256,
    shortfall,
    classHistogram,
    ...(classShortfall ? { classShortfall } : {}),
    rejectsByReason,
  };
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The index with `entries` merged in: shards already present are left as they are (a sidecar
 * never changes), new ones are added and counted into the totals. The result never names fewer
 * shards than `previous`, and is the same whatever order the entries arrive in, so the final
 * index of a disturbed run is byte-identical to an undisturbed one's.
 */
export function mergeIndex(
  previous: Manifest | undefined,
  args: { runId: string; baseUrl: string; plannedShards: number; plannedSamples: number },
  entries: readonly IndexEntry[],
  excluded: readonly { key: string; duplicateOf: string }[] = [],
): { manifest: Manifest; added: number[] } {
  const base = args.baseUrl.replace(/\/+$/, '');
  const shards = new Map((previous?.shards ?? []).map((s) => [s.shard, s]));
  const totals = {
    ...(previous?.totals ?? { shards: 0, samples: 0, bytes: 0, shortfall: 0, classShortfall: [] }),
  };
  totals.classShortfall = [...totals.classShortfall];
  const classHistogram = [...(previous?.classHistogram ?? [])];
  const rejectsByReason = { ...(previous?.rejectsByReason ?? {}) };
  const added: number[] = [];
  for (const e of [...entries].sort((a, b) => a.shard - b.shard)) {
    if (shards.has(e.shard)) continue;
    added.push(e.shard);
    shards.set(e.shard, {
      shard: e.shard,
      url: `${base}/${args.runId}/shards/${shardName(e.shard)}.tar`,
      samples: e.samples,
      bytes: e.bytes,
      sha256: e.sha256,
    });
    totals.shards += 1;
    totals.samples += e.samples;
    totals.bytes += e.bytes;
    totals.shortfall += e.shortfall;
    e.classHistogram.forEach((n, i) => {
      classHistogram[i] = (classHistogram[i] ?? 0) + n;
    });
    e.classShortfall?.forEach((n, i) => {
      totals.classShortfall[i] = (totals.classShortfall[i] ?? 0) + n;
    });
    for (const [reason, n] of Object.entries(e.rejectsByReason))
      rejectsByReason[reason] = (rejectsByReason[reason] ?? 0) + n;
  }
  const list = [...shards.values()].sort((a, b) => a.shard - b.shard);
  const byKey = new Map((previous?.excluded ?? []).map((x) => [x.key, x]));
  // The smallest duplicate wins, so the final list does not depend on the order shards came in.
  for (const x of excluded) {
    const prev = byKey.get(x.key);
    if (!prev || x.duplicateOf < prev.duplicateOf) byKey.set(x.key, { ...x });
  }
  const range = braceRange(list.map((s) => s.shard));
  return {
    added,
    manifest: {
      format: 'synfarm-manifest-v1',
      runId: args.runId,
      state: list.length >= args.plannedShards ? 'complete' : 'running',
      plannedShards: args.plannedShards,
      plannedSamples: args.plannedSamples,
      shards: list,
      totals,
      classHistogram,
      rejectsByReason: sortedCounts(rejectsByReason),
      urlTemplate: range === null ? null : `${base}/${args.runId}/shards/shard-${range}.tar`,
      excluded: [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    },
  };
}

/** `{000000..000007}` when the shards are contiguous, else a comma list: webdataset expands both. */
export function braceRange(shards: readonly number[]): string | null {
  if (shards.length === 0) return null;
  const sorted = [...shards].sort((a, b) => a - b);
  const contiguous = sorted.every((s, i) => i === 0 || s === sorted[i - 1]! + 1);
  if (sorted.length === 1) return shardName(sorted[0]!).slice('shard-'.length);
  if (contiguous) return `{${shardName(sorted[0]!).slice(6)}..${shardName(sorted.at(-1)!).slice(6)}}`;
  return `{${sorted.map((s) => shardName(s).slice(6)).join(',')}}`;
}

/** The index of exactly these sidecars (tests, and readers without a manifest). */
export function buildManifest(args: {
  runId: string;
  baseUrl: string;
  plannedShards: number;
  plannedSamples: number;
  sidecars: readonly Sidecar[];
}): Manifest {
  return mergeIndex(undefined, args, args.sidecars.map(indexEntryOf)).manifest;
}

/** The `wids` shard index (random access for webdataset's indexed reader). */
export function buildWidsIndex(manifest: Manifest): Record<string, unknown> {
  return {
    __kind__: 'wids-shard-index-v1',
    wids_version: 1,
    name: manifest.runId,
    shardlist: manifest.shards.map((s) => ({ url: s.url, nsamples: s.samples, filesize: s.bytes })),
  };
}
