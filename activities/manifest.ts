import { setTimeout as sleep } from 'node:timers/promises';
import { shardOfSidecar } from '../run/layout';
import { buildManifest, buildWidsIndex, type Manifest, ManifestSchema } from '../run/manifest';
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

/** A small JSON object the run stores (decisions, guidance), parsed by its schema, if present. */
export async function readStoredJson<T>(
  ctx: RunContext,
  key: string,
  schema: { parse(value: unknown): T },
): Promise<T | undefined> {
  const bytes = await getOrUndefined(ctx, key);
  return bytes ? schema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))) : undefined;
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
 * Rewrites manifest.json and the wids index from the committed sidecars. Two commits may
 * refresh at once; the one whose listing is older must not undo the newer one, so a manifest
 * that already names more shards than this listing found is left as it is (sidecars are only
 * ever added, short of a corrupt shard). The dataset workflow writes the final manifest after
 * the last shard, so a consumer never sees a shard without its sidecar, nor misses one for long.
 */
export async function refreshManifest(ctx: RunContext, options: { final?: boolean } = {}): Promise<Manifest> {
  const manifest = buildManifest({
    runId: ctx.spec.runId,
    baseUrl: ctx.store.url,
    plannedShards: ctx.spec.shardCount,
    plannedSamples: ctx.spec.targetSamples,
    sidecars: await listCommitted(ctx),
  });
  if (!options.final) {
    const previous = await getOrUndefined(ctx, ctx.keys.manifest);
    const parsed = previous
      ? ManifestSchema.safeParse(JSON.parse(Buffer.from(previous).toString('utf8')))
      : undefined;
    if (parsed?.success && parsed.data.totals.shards > manifest.totals.shards) return parsed.data;
  }
  await ctx.store.put(ctx.keys.manifest, `${JSON.stringify(manifest, null, 2)}\n`, {
    contentType: 'application/json',
  });
  await ctx.store.put(ctx.keys.widsIndex, `${JSON.stringify(buildWidsIndex(manifest), null, 2)}\n`, {
    contentType: 'application/json',
  });
  return manifest;
}

/**
 * Commits can finish many times a second; refreshing the manifest for each one lists every
 * shard each time (quadratic over a run). Refreshes of one run in one worker are coalesced:
 * at most one runs and one waits, and every caller gets a refresh that *starts after* its call,
 * so the shard it just committed is always included.
 */
const coalesced = new Map<string, { current: Promise<Manifest>; next?: Promise<Manifest> }>();
const MIN_REFRESH_GAP_MS = 1000;

export function refreshManifestCoalesced(ctx: RunContext): Promise<Manifest> {
  const id = `${ctx.store.url}|${ctx.spec.runId}`;
  const state = coalesced.get(id);
  if (!state) {
    const current = refreshManifest(ctx);
    coalesced.set(id, { current });
    void current.finally(() => advance(id)).catch(() => {});
    return current;
  }
  // The waiting refresh also keeps a short pause after the running one, so a run of many small
  // shards rewrites its manifest a few times a second at most, not once per commit.
  const later = () => sleep(MIN_REFRESH_GAP_MS).then(() => refreshManifest(ctx));
  state.next ??= state.current.then(later, later);
  return state.next;
}

function advance(id: string): void {
  const state = coalesced.get(id);
  if (!state?.next) {
    coalesced.delete(id);
    return;
  }
  state.current = state.next;
  state.next = undefined;
  void state.current.finally(() => advance(id)).catch(() => {});
}
