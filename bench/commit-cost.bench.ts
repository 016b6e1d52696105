import { randomBytes } from 'node:crypto';
import { type ActivityDeps, createActivities } from '../activities';
import { commitSidecar, syntheticImages, syntheticSamples, writeShardTar } from '../consumer';
import { indexEntryOf, mergeIndex } from '../run/manifest';
import { RunObjects } from '../run/objects';
import { resolveSpec, specToJson } from '../spec';
import { openStore, S3ObjectStore } from '../storage';
import { inActivity } from '../test/support/in-activity';
import { createModelProvider } from '../workers/models';
import { median } from './compare';
import { benchStack } from './stack';

/**
 * S3 requests per committed shard (issue 9): the commit activity plus the run index merge of
 * that shard, counted by an S3 client middleware, with 100 and with 1,400 shards already
 * committed. Per-commit work must not grow with the run, so the two counts should be equal.
 * Committed shards are laid down directly (tar, sidecar, hashes, index) to reach 1,400 fast;
 * the measured shards go through generate, calibrate and filter first (not counted).
 */
export async function benchCommitCost(levels = [100, 1400], measured = 3): Promise<Record<string, number>> {
  const stack = await benchStack();
  const runId = `bench-commit-${randomBytes(3).toString('hex')}`;
  // Measured shards come from the top, laid-down ones from the bottom: they never meet.
  const planned = Math.max(...levels) + measured * levels.length;
  const spec = resolveSpec({
    runId,
    target: planned,
    shardSize: 1,
    image: { size: 112 },
    generator: { backend: 'testpattern', batchSize: 1 },
    calibrator: { backend: 'passthrough' },
    output: `s3://${stack.bucket}/bench`,
  });
  const store = openStore(spec.output, stack.s3);
  if (!(store instanceof S3ObjectStore)) throw new Error('the commit-cost bench needs S3');
  const requests: string[] = [];
  store.observeRequests((c) => requests.push(c));
  const deps: ActivityDeps = {
    openStore: () => store,
    models: createModelProvider({ openStore: () => store }),
  };
  const acts = createActivities(deps);
  const objects = new RunObjects(store, runId);
  await store.put(objects.keys.spec, specToJson(spec));
  const images = await syntheticImages(2, 32);
  const meta = { runId, baseUrl: store.url, plannedShards: planned, plannedSamples: planned };

  const out: Record<string, number> = {};
  let committed = 0;
  let next = planned - 1;
  for (const level of levels) {
    process.stderr.write(`  laying down shards ${committed}..${level - 1}\n`);
    const entries = [];
    for (; committed < level; committed++) {
      const sidecar = await writeShardTar(store, runId, committed, syntheticSamples(committed, 1, images));
      await objects.putJson(objects.keys.dedupeIndex(committed), {
        format: 'synfarm-dedupe-v1',
        shard: committed,
        hashes: [],
      });
      await commitSidecar(store, sidecar);
      entries.push(indexEntryOf(sidecar));
    }
    await objects.writeIndex(mergeIndex(await objects.manifest(), meta, entries).manifest);
    const counts: number[] = [];
    for (let m = 0; m < measured; m++, next--) {
      const ref = { outputUrl: spec.output, runId, shard: next };
      await inActivity(() => acts.generate({ ...ref, round: 0 }));
      await inActivity(() => acts.calibrate({ ...ref, round: 0 }));
      await inActivity(() => acts.filter({ ...ref, round: 0 }));
      requests.length = 0;
      const result = await inActivity(() => acts.commit(ref));
      const { alreadyCommitted: _, ...entry } = result;
      await inActivity(() => acts.recordShards({ outputUrl: spec.output, runId }, [entry]));
      counts.push(requests.length);
      const byCommand: Record<string, number> = {};
      for (const c of requests) byCommand[c] = (byCommand[c] ?? 0) + 1;
      process.stderr.write(`  at ${level}, shard ${next}: ${JSON.stringify(byCommand)}\n`);
      if (m === 0) out[`at${level}_firstMergeInThisProcessRequests`] = requests.length;
    }
    // The first merge of a level may load hashes this process has not seen; steady state is the rest.
    out[`at${level}_requestsPerCommittedShard`] = median(counts.slice(1));
  }
  const [low, high] = levels;
  out.ratioHighToLow =
    out[`at${high}_requestsPerCommittedShard`]! / out[`at${low}_requestsPerCommittedShard`]!;
  await store.deletePrefix(`${runId}/`);
  return out;
}
