import { shardOfSidecar } from '../run/layout';
import { buildManifest, buildWidsIndex, type Manifest } from '../run/manifest';
import { parseSidecar, type Sidecar } from '../run/sidecar';
import { ObjectNotFoundError } from '../storage/errors';
import type { RunContext } from './run-context';

export async function getOrUndefined(ctx: RunContext, key: string): Promise<Uint8Array | undefined> {
  try {
    return await ctx.store.get(key);
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return undefined;
    throw err;
  }
}

/**
 * Sidecars never change once written, so a worker keeps each one it has parsed (keyed by object
 * key and size) and a manifest refresh after every commit reads only the new ones.
 */
const sidecarCache = new Map<string, Sidecar>();

async function readSidecar(ctx: RunContext, key: string, size: number): Promise<Sidecar | undefined> {
  const id = `${ctx.store.url}|${key}|${size}`;
  const cached = sidecarCache.get(id);
  if (cached) return cached;
  const bytes = await getOrUndefined(ctx, key);
  if (!bytes) return undefined;
  const sidecar = parseSidecar(bytes);
  sidecarCache.set(id, sidecar);
  return sidecar;
}

/**
 * The committed shards: a sidecar whose tar exists with the size the sidecar records. (The
 * full checksum is verified when a shard is re-committed and by consumers that ask for it;
 * listing reads sidecars but never a tar, so it stays cheap at 1,400 shards.)
 */
export async function listCommitted(ctx: RunContext): Promise<Sidecar[]> {
  const sizes = new Map<string, number>();
  for await (const obj of ctx.store.list(ctx.keys.shardsPrefix)) sizes.set(obj.key, obj.size);
  const committed: Sidecar[] = [];
  for (const [key, size] of sizes) {
    const shard = shardOfSidecar(key);
    if (shard === undefined) continue;
    const sidecar = await readSidecar(ctx, key, size);
    if (sidecar && sizes.get(ctx.keys.shardTar(shard)) === sidecar.bytes) committed.push(sidecar);
  }
  return committed;
}

/**
 * Rewrites manifest.json and the wids index from the committed sidecars. Concurrent commits may
 * race; each writes a manifest that was true at its listing, and the dataset workflow writes
 * the final one after the last shard, so a consumer never sees a shard without its sidecar.
 */
export async function refreshManifest(ctx: RunContext): Promise<Manifest> {
  const manifest = buildManifest({
    runId: ctx.spec.runId,
    baseUrl: ctx.store.url,
    plannedShards: ctx.spec.shardCount,
    plannedSamples: ctx.spec.targetSamples,
    sidecars: await listCommitted(ctx),
  });
  await ctx.store.put(ctx.keys.manifest, `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await ctx.store.put(ctx.keys.widsIndex, `${JSON.stringify(buildWidsIndex(manifest), null, 2)}\n`, {
    contentType: 'application/json',
  });
  return manifest;
}
