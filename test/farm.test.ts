import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeys } from '../run/layout';
import { ManifestSchema } from '../run/manifest';
import { parseSidecar } from '../run/sidecar';
import { readSamples } from '../webdataset';
import { type InProcessFarm, startFarm, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';

describe('farm: a run through the real Temporal server and S3', () => {
  let farm: InProcessFarm;
  beforeAll(async () => {
    farm = await startFarm();
  });
  afterAll(async () => {
    await farm?.stop();
  });

  it('commits exactly the planned samples: unique keys, exact counts, sidecar checksums match', async () => {
    const spec = testSpec({ runId: uniqueId('farm') });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.shards).toBe(3);
    expect(result.samples).toBe(24);

    const store = farm.client.store(spec.output);
    const keys = runKeys(spec.runId);
    const allKeys = new Set<string>();
    for (let shard = 0; shard < 3; shard++) {
      const sidecar = parseSidecar(await store.get(keys.shardSidecar(shard)));
      const tar = await store.get(keys.shardTar(shard));
      const { createHash } = await import('node:crypto');
      expect(createHash('sha256').update(tar).digest('hex')).toBe(sidecar.sha256);
      expect(tar.length).toBe(sidecar.bytes);
      let n = 0;
      for await (const sample of readSamples([tar], { name: keys.shardTar(shard) })) {
        expect(sample.__key__.startsWith(String(shard).padStart(6, '0'))).toBe(true);
        expect(Object.keys(sample).sort()).toEqual(['__key__', '__url__', 'cls', 'jpg', 'json']);
        allKeys.add(sample.__key__);
        n++;
      }
      expect(n).toBe(8);
      expect(sidecar.samples).toBe(8);
    }
    expect(allKeys.size).toBe(24);
    const manifest = ManifestSchema.parse(JSON.parse(Buffer.from(await store.get(keys.manifest)).toString()));
    expect(manifest.state).toBe('complete');
    expect(manifest.totals.samples).toBe(24);
    expect(await store.head(keys.success)).not.toBeNull();
    const staging: string[] = [];
    for await (const o of store.list(keys.stagingPrefix)) staging.push(o.key);
    expect(staging).toEqual([]);
  });
});
