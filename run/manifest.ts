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
  }),
  classHistogram: z.array(z.number().int()),
  rejectsByReason: z.record(z.string(), z.number().int()),
  /** e.g. `s3://bucket/prefix/run/shards/shard-{000000..000007}.tar`, for webdataset. */
  urlTemplate: z.string().nullable(),
});
export type Manifest = z.infer<typeof ManifestSchema>;

/** `{000000..000007}` when the shards are contiguous, else a comma list: webdataset expands both. */
export function braceRange(shards: readonly number[]): string | null {
  if (shards.length === 0) return null;
  const sorted = [...shards].sort((a, b) => a - b);
  const contiguous = sorted.every((s, i) => i === 0 || s === sorted[i - 1]! + 1);
  if (sorted.length === 1) return shardName(sorted[0]!).slice('shard-'.length);
  if (contiguous) return `{${shardName(sorted[0]!).slice(6)}..${shardName(sorted.at(-1)!).slice(6)}}`;
  return `{${sorted.map((s) => shardName(s).slice(6)).join(',')}}`;
}

export function buildManifest(args: {
  runId: string;
  baseUrl: string;
  plannedShards: number;
  plannedSamples: number;
  sidecars: readonly Sidecar[];
}): Manifest {
  const sidecars = [...args.sidecars].sort((a, b) => a.shard - b.shard);
  const classHistogram: number[] = [];
  const rejectsByReason: Record<string, number> = {};
  for (const s of sidecars) {
    s.classHistogram.forEach((n, i) => {
      classHistogram[i] = (classHistogram[i] ?? 0) + n;
    });
    for (const [reason, n] of Object.entries(s.rejectsByReason))
      rejectsByReason[reason] = (rejectsByReason[reason] ?? 0) + n;
  }
  const base = args.baseUrl.replace(/\/+$/, '');
  const range = braceRange(sidecars.map((s) => s.shard));
  return {
    format: 'synfarm-manifest-v1',
    runId: args.runId,
    state: sidecars.length === args.plannedShards ? 'complete' : 'running',
    plannedShards: args.plannedShards,
    plannedSamples: args.plannedSamples,
    shards: sidecars.map((s) => ({
      shard: s.shard,
      url: `${base}/${args.runId}/shards/${shardName(s.shard)}.tar`,
      samples: s.samples,
      bytes: s.bytes,
      sha256: s.sha256,
    })),
    totals: {
      shards: sidecars.length,
      samples: sidecars.reduce((n, s) => n + s.samples, 0),
      bytes: sidecars.reduce((n, s) => n + s.bytes, 0),
      shortfall: sidecars.reduce((n, s) => n + s.shortfall, 0),
    },
    classHistogram,
    rejectsByReason,
    urlTemplate: range === null ? null : `${base}/${args.runId}/shards/shard-${range}.tar`,
  };
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
