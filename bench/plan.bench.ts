import { createPlan } from '../plan';
import { resolveSpec } from '../spec';

const MB = 1024 * 1024;

/**
 * Plans every shard of a 5x AffectNet run one at a time, materialising each shard's requests and
 * dropping them, as the farm does. Reports throughput, peak RSS (sampled after every shard, so it
 * shows whether memory stays flat) and how long listing the shards takes (no per-sample work).
 */
export async function benchPlan(): Promise<Record<string, number>> {
  const spec = resolveSpec({
    runId: 'bench-plan',
    target: '5x affectnet',
    output: 'file:///tmp/synfarm-bench',
  });

  const listStart = performance.now();
  const plan = createPlan(spec);
  const shards = [...plan.shards()];
  const shardListMs = performance.now() - listStart;

  const startRss = process.memoryUsage().rss;
  let peakRss = startRss;
  let samples = 0;
  let checksum = 0;
  const start = performance.now();
  for (const shard of shards) {
    const requests = plan.planShard(shard.index);
    samples += requests.length;
    // Touch the output so the work cannot be optimised away.
    checksum = (checksum + requests[requests.length - 1]!.generatorSeed) >>> 0;
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
  }
  const seconds = (performance.now() - start) / 1000;
  if (samples !== spec.targetSamples)
    throw new Error(`planned ${samples} samples, expected ${spec.targetSamples}`);

  return {
    shards: shards.length,
    samples,
    seconds: round(seconds, 2),
    samplesPerSecond: Math.round(samples / seconds),
    shardListMs: round(shardListMs, 3),
    startRssMb: round(startRss / MB, 1),
    peakRssMb: round(peakRss / MB, 1),
    checksum,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchPlan());
}
