import { runKeys } from '../run/layout';
import type { Manifest } from '../run/manifest';
import { RunObjects } from '../run/objects';
import { type ObjectStore, openStore, redactUrl, type StoreOptions } from '../storage';
import { RunNotFoundError } from './errors';

/** One committed shard as a consumer needs it. */
export interface CommittedShard {
  shard: number;
  /** Object key relative to the run's output URL. */
  key: string;
  /** Absolute URL: `s3://bucket/prefix/run/shards/shard-000001.tar` or `file:///...`. */
  url: string;
  samples: number;
  bytes: number;
  sha256: string;
}

/** A run as seen at one moment: only shards whose sidecar (the commit marker) exists. */
export interface RunHandle {
  outputUrl: string;
  runId: string;
  store: ObjectStore;
  /** The custom S3 endpoint in force (options or environment), for `--endpoint-url`; undefined on AWS. */
  endpoint: string | undefined;
  /** The last manifest.json, or null before the first commit wrote one. */
  manifest: Manifest | null;
  /** Sorted by shard index. */
  shards: CommittedShard[];
  /** True when `_SUCCESS` exists: no shard will be added. */
  complete: boolean;
  /** Sample keys the run index excludes as cross-shard near-duplicates (readers skip them). */
  excluded: ReadonlySet<string>;
}

export interface OpenRunOptions {
  /** An already open store for `outputUrl` (reused, e.g. across polls); else opened from storeOptions. */
  store?: ObjectStore;
  env?: Record<string, string | undefined>;
}

/**
 * Opens a run for reading. The manifest can lag the sidecars (the dataset workflow indexes shards as
 * they finish, a moment after each commit), so
 * the shard list comes from listing `shards/`: a shard counts when its sidecar is listed (the tar is
 * written before it). Sidecars the manifest already describes with the listed tar size are not fetched.
 */
export async function openRun(
  outputUrl: string,
  runId: string,
  storeOptions: StoreOptions = {},
  options: OpenRunOptions = {},
): Promise<RunHandle> {
  const env = options.env ?? process.env;
  const store = options.store ?? openStore(outputUrl, storeOptions, env);
  const keys = runKeys(runId);
  const complete = (await store.head(keys.success)) !== null;
  const manifest = (await new RunObjects(store, runId).manifest()) ?? null;
  const shards = await listCommittedShards(store, runId, manifest);
  if (shards.length === 0 && manifest === null && (await store.head(keys.spec)) === null) {
    throw new RunNotFoundError(runId, redactUrl(outputUrl));
  }
  const endpoint = outputUrl.startsWith('s3://')
    ? storeOptions.endpoint || env.SYNFARM_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
    : undefined;
  const excluded = new Set(manifest?.excluded.map((x) => x.key) ?? []);
  return { outputUrl, runId, store, endpoint: endpoint || undefined, manifest, shards, complete, excluded };
}

/** The same run re-read: new commits, a newer manifest, `_SUCCESS`. */
export function refreshRun(run: RunHandle): Promise<RunHandle> {
  return openRun(run.outputUrl, run.runId, run.endpoint ? { endpoint: run.endpoint } : {}, {
    store: run.store,
  });
}

/**
 * The run's shards as a reader sees them, by the one definition in run/objects.ts: committed
 * shards, plus damaged ones (a sidecar whose tar is missing or of another size), which are kept
 * so a reader reports them (TarFormatError or ChecksumMismatchError) instead of silently losing
 * them. Shards the manifest already describes cost no request beyond the listing.
 */
export async function listCommittedShards(
  store: ObjectStore,
  runId: string,
  manifest: Manifest | null = null,
): Promise<CommittedShard[]> {
  const objects = new RunObjects(store, runId);
  const known = new Map(manifest?.shards.map((s) => [s.shard, s]) ?? []);
  const { committed, damaged } = await objects.listShardRecords(
    async (shard) => known.get(shard) ?? (await objects.sidecar(shard)),
  );
  const base = store.url.replace(/\/+$/, '');
  return [...committed, ...damaged.map((d) => d.record)]
    .map((r) => {
      const key = objects.keys.shardTar(r.shard);
      return {
        shard: r.shard,
        key,
        url: `${base}/${key}`,
        samples: r.samples,
        bytes: r.bytes,
        sha256: r.sha256,
      };
    })
    .sort((a, b) => a.shard - b.shard);
}
