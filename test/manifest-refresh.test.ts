import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { refreshManifestCoalesced } from '../activities/manifest';
import type { RunContext } from '../activities/run-context';
import { commitSidecar, syntheticImages, syntheticSamples, writeShardTar } from '../consumer';
import { runKeys } from '../run/layout';
import { openStore } from '../storage';
import type { ObjectStore } from '../storage/object-store';

async function commitShard(store: ObjectStore, runId: string, shard: number, images: Uint8Array[]) {
  await commitSidecar(store, await writeShardTar(store, runId, shard, syntheticSamples(shard, 2, images)));
}

describe('manifest refresh after commits', () => {
  it('coalesces concurrent refreshes, and each caller gets one that includes its shard', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-manifest-'));
    const inner = openStore(pathToFileURL(dir).href);
    let manifestWrites = 0;
    // The real file store, counting manifest writes on the way through.
    const store = new Proxy(inner, {
      get(target, prop) {
        const value = Reflect.get(target, prop, target);
        if (prop === 'put') {
          return (key: string, body: Uint8Array | string, o?: { contentType?: string }) => {
            if (key.endsWith('manifest.json')) manifestWrites++;
            return target.put(key, body, o);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const runId = 'coalesce';
    const ctx = {
      spec: { runId, shardCount: 12, targetSamples: 24 },
      store,
      keys: runKeys(runId),
    } as unknown as RunContext;
    const images = await syntheticImages(2, 32);

    const waits: Promise<unknown>[] = [];
    for (let shard = 0; shard < 12; shard++) {
      await commitShard(store, runId, shard, images);
      waits.push(
        refreshManifestCoalesced(ctx).then((m) => expect(m.shards.map((s) => s.shard)).toContain(shard)),
      );
    }
    await Promise.all(waits);
    // twelve commits, far fewer full rewrites; the last one names every shard
    expect(manifestWrites).toBeLessThan(12);
    const manifest = JSON.parse(Buffer.from(await store.get(runKeys(runId).manifest)).toString());
    expect(manifest.totals.shards).toBe(12);
    expect(manifest.state).toBe('complete');
  });
});
