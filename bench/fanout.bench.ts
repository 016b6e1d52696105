import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveSpec } from '../spec';
import { progressQuery } from '../workflows/api';
import { benchStack, withFarm } from './stack';

/** Shards committed per second between the times the committed count reached `from` and `to`. */
function rate(samples: readonly { t: number; committed: number }[], from: number, to: number): number {
  const at = (n: number) => samples.find((s) => s.committed >= n)?.t;
  const a = at(from);
  const b = at(to);
  return a === undefined || b === undefined || b <= a ? Number.NaN : (to - from) / ((b - a) / 1000);
}

/**
 * Fan-out (issue 9): `shards` one-sample shards at window 32, testpattern + passthrough so the
 * farm's own per-commit cost shows. Commit times come from polling the progress query (4 per
 * second); figures are commits/s over the first and the last 200 shards, their ratio (goal
 * >= 0.9) and the largest dataset-workflow history. SYNFARM_BENCH_FANOUT_SHARDS sets the size
 * (default 1,439, 5x AffectNet's shard count) for a machine where the full run is too slow.
 */
export async function benchFanout(
  shards = Number(process.env.SYNFARM_BENCH_FANOUT_SHARDS ?? 1439),
  window = 32,
): Promise<Record<string, number>> {
  const stack = await benchStack();
  const spec = resolveSpec({
    runId: `bench-fanout-${randomBytes(3).toString('hex')}`,
    target: shards,
    shardSize: 1,
    image: { size: 112 },
    generator: { backend: 'testpattern', batchSize: 1 },
    calibrator: { backend: 'passthrough' },
    output: `s3://${stack.bucket}/bench`,
  });
  return withFarm(stack, async (client) => {
    const t0 = performance.now();
    await client.launch(spec, { window });
    const handle = client.client.workflow.getHandle(spec.runId);
    const samples: { t: number; committed: number }[] = [{ t: t0, committed: 0 }];
    let done = false;
    const result = handle.result().finally(() => {
      done = true;
    });
    while (!done) {
      const p = await handle.query(progressQuery).catch(() => undefined);
      if (p) samples.push({ t: performance.now(), committed: p.shards.committed });
      await sleep(250);
    }
    const r = await result;
    samples.push({ t: performance.now(), committed: r.shards });
    let largestHistory = 0;
    for await (const wf of client.client.workflow.list({ query: `WorkflowId = '${spec.runId}'` }))
      largestHistory = Math.max(largestHistory, wf.historyLength);
    const span = Math.min(200, Math.floor(shards / 2));
    const first = rate(samples, 0, span);
    const last = rate(samples, shards - span, shards);
    return {
      shards: r.shards,
      window,
      seconds: (performance.now() - t0) / 1000,
      [`commitsPerSecondFirst${span}`]: first,
      [`commitsPerSecondLast${span}`]: last,
      ratioLastToFirst: last / first,
      continuedAsNew: r.continuedAsNew,
      largestDatasetHistoryEvents: largestHistory,
    };
  });
}
