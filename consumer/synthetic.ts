import { Readable } from 'node:stream';
import sharp from 'sharp';
import { sampleKey } from '../plan/keys';
import { runKeys } from '../run/layout';
import { buildManifest, buildWidsIndex } from '../run/manifest';
import type { Sidecar } from '../run/sidecar';
import type { ObjectStore } from '../storage';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';

/**
 * Writes runs in the farm's exact layout (tar, then sidecar; manifest, wids index, `_SUCCESS`)
 * without Temporal or models, so the consumer can be tested, benchmarked and demonstrated alone,
 * including the in-between states a live reader must handle (a tar whose sidecar is not written yet).
 */

/** `count` distinct small JPEGs (made once, then cycled through by the samples). */
export async function syntheticImages(count = 8, size = 64): Promise<Uint8Array[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const pixels = Buffer.alloc(size * size * 3);
      for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 7 + i * 37 + (p % 11) * 13) % 256;
      const jpeg = await sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer();
      return new Uint8Array(jpeg);
    }),
  );
}

export function syntheticSamples(shard: number, count: number, images: readonly Uint8Array[]): Sample[] {
  return Array.from({ length: count }, (_, index) => ({
    __key__: sampleKey(shard, index),
    jpg: images[(shard * 31 + index) % images.length] as Uint8Array,
    json: JSON.stringify({ shard, index, calibrated: (shard + index) % 8 }),
    cls: String((shard + index) % 8),
  }));
}

/** Writes a shard's tar only (not committed yet) and returns the sidecar that would commit it. */
export async function writeShardTar(
  store: ObjectStore,
  runId: string,
  shard: number,
  samples: readonly Sample[],
): Promise<Sidecar> {
  const keys = runKeys(runId);
  const digest = new StreamDigest();
  await store.putStream(keys.shardTar(shard), Readable.from(digestingStream(writeTar(samples), digest)));
  const classHistogram = [0, 0, 0, 0, 0, 0, 0, 0];
  for (const s of samples) {
    const cls = Number(typeof s.cls === 'string' ? s.cls : new TextDecoder().decode(s.cls));
    classHistogram[cls] = (classHistogram[cls] ?? 0) + 1;
  }
  return {
    format: 'synfarm-shard-v1',
    runId,
    shard,
    tar: keys.shardTar(shard),
    samples: samples.length,
    bytes: digest.bytes,
    sha256: digest.sha256,
    planned: samples.length,
    shortfall: 0,
    rounds: 1,
    classHistogram,
    rejectsByReason: {},
    keys: { first: samples[0]?.__key__ ?? null, last: samples.at(-1)?.__key__ ?? null },
  };
}

/** The commit marker: from here on the shard exists for consumers. */
export async function commitSidecar(store: ObjectStore, sidecar: Sidecar): Promise<void> {
  await store.put(runKeys(sidecar.runId).shardSidecar(sidecar.shard), `${JSON.stringify(sidecar)}\n`);
}

export async function writeRunManifest(
  store: ObjectStore,
  runId: string,
  sidecars: readonly Sidecar[],
  planned: { shards: number; samples: number },
): Promise<void> {
  const keys = runKeys(runId);
  const manifest = buildManifest({
    runId,
    baseUrl: store.url,
    plannedShards: planned.shards,
    plannedSamples: planned.samples,
    sidecars,
  });
  await store.put(keys.manifest, `${JSON.stringify(manifest, null, 2)}\n`);
  await store.put(keys.widsIndex, `${JSON.stringify(buildWidsIndex(manifest), null, 2)}\n`);
}

/** A complete run: `counts[i]` samples in shard i, committed, with manifest and `_SUCCESS`. */
export async function writeSyntheticRun(
  store: ObjectStore,
  runId: string,
  counts: readonly number[],
  options: { images?: readonly Uint8Array[] } = {},
): Promise<Sidecar[]> {
  const images = options.images ?? (await syntheticImages());
  const keys = runKeys(runId);
  await store.put(keys.spec, `${JSON.stringify({ runId, synthetic: true })}\n`);
  const sidecars: Sidecar[] = [];
  for (const [shard, count] of counts.entries()) {
    const sidecar = await writeShardTar(store, runId, shard, syntheticSamples(shard, count, images));
    await commitSidecar(store, sidecar);
    sidecars.push(sidecar);
  }
  const total = counts.reduce((a, b) => a + b, 0);
  await writeRunManifest(store, runId, sidecars, { shards: counts.length, samples: total });
  await store.put(keys.success, `${JSON.stringify({ runId, shards: counts.length, samples: total })}\n`);
  return sidecars;
}
