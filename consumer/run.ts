import { runKeys } from '../run/layout';
import { type Manifest, ManifestSchema } from '../run/manifest';
import { parseSidecar } from '../run/sidecar';
import { ObjectNotFoundError, type ObjectStore, openStore, redactUrl, type StoreOptions } from '../storage';
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
}

export interface OpenRunOptions {
  /** An already open store for `outputUrl` (reused, e.g. across polls); else opened from storeOptions. */
  store?: ObjectStore;
  env?: Record<string, string | undefined>;
}

/**
 * Opens a run for reading. The manifest can lag the sidecars (it is rewritten after each commit), so
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
  const manifest = await readManifest(store, keys.manifest);
  const shards = await listCommittedShards(store, runId, manifest);
  if (shards.length === 0 && manifest === null && (await store.head(keys.spec)) === null) {
    throw new RunNotFoundError(runId, redactUrl(outputUrl));
  }
  const endpoint = outputUrl.startsWith('s3://')
    ? storeOptions.endpoint || env.SYNFARM_S3_ENDPOINT || env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL
    : undefined;
  return { outputUrl, runId, store, endpoint: endpoint || undefined, manifest, shards, complete };
}

/** The same run re-read: new commits, a newer manifest, `_SUCCESS`. */
export function refreshRun(run: RunHandle): Promise<RunHandle> {
  return openRun(run.outputUrl, run.runId, run.endpoint ? { endpoint: run.endpoint } : {}, {
    store: run.store,
  });
}

async function readManifest(store: ObjectStore, key: string): Promise<Manifest | null> {
  try {
    return ManifestSchema.parse(JSON.parse(new TextDecoder().decode(await store.get(key))));
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw error;
  }
}

/** Committed shards of a run, from one listing plus the sidecars the manifest does not describe. */
export async function listCommittedShards(
  store: ObjectStore,
  runId: string,
  manifest: Manifest | null = null,
): Promise<CommittedShard[]> {
  const keys = runKeys(runId);
  const sizes = new Map<string, number>();
  for await (const object of store.list(keys.shardsPrefix)) sizes.set(object.key, object.size);
  const known = new Map(manifest?.shards.map((s) => [s.shard, s]) ?? []);
  const base = store.url.replace(/\/+$/, '');
  const shards: CommittedShard[] = [];
  for (const key of sizes.keys()) {
    const match = /\/shard-(\d{6})\.json$/.exec(key);
    if (!match || key !== keys.shardSidecar(Number(match[1]))) continue;
    const shard = Number(match[1]);
    const tarKey = keys.shardTar(shard);
    const tarSize = sizes.get(tarKey);
    if (tarSize === undefined) continue;
    let entry = known.get(shard);
    if (!entry || entry.bytes !== tarSize) {
      let sidecar: ReturnType<typeof parseSidecar>;
      try {
        sidecar = parseSidecar(await store.get(key));
      } catch (error) {
        if (error instanceof ObjectNotFoundError) continue; // deleted between list and get
        throw error;
      }
      entry = { shard, url: '', samples: sidecar.samples, bytes: sidecar.bytes, sha256: sidecar.sha256 };
    }
    // A tar whose size differs from its sidecar's was damaged after commit: listed all the same,
    // so a reader reports it (TarFormatError or ChecksumMismatchError) instead of silently losing it.
    shards.push({
      shard,
      key: tarKey,
      url: `${base}/${tarKey}`,
      samples: entry.samples,
      bytes: entry.bytes,
      sha256: entry.sha256,
    });
  }
  return shards.sort((a, b) => a.shard - b.shard);
}
