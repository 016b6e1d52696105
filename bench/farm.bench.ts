import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { resolveSpec, type Spec } from '../spec';
import { compare, type Figures } from './compare';
import { createBareFarm } from './farm-bare';
import { type BenchStack, benchStack, withFarm } from './stack';

type Stack = BenchStack;

function spec(stack: Stack, runId: string, target: number, shardSize: number): Spec {
  return resolveSpec({
    runId,
    target,
    shardSize,
    image: { size: 112 },
    generator: { backend: 'testpattern', batchSize: 16 },
    calibrator: { backend: 'passthrough' },
    output: `s3://${stack.bucket}/bench`,
  });
}

interface OverheadCase {
  name: string;
  spec: (runId: string) => Spec;
  window: number;
}

/**
 * Orchestration overhead: the farm (Temporal workflows, one worker process serving all queues)
 * against a bare in-process loop doing the same stages with the same parallelism (bench/farm-bare.ts),
 * interleaved, 3 times each, a fresh run id every time. Two pipelines: testpattern + passthrough
 * (the work is small, so the overhead shows; goal <= 1.3) and the default one, procedural +
 * ensemble + filter + commit (goal <= 1.1). The farm's cost is a round trip per activity, so
 * the default pipeline runs at two shard sizes: 16 samples, where that round trip is a large
 * share of each stage, and 256, a quarter of the default shard size of 1000. One warm-up run
 * per side loads models and JITs.
 */
export async function benchFarmOverhead(): Promise<Figures> {
  const stack = await benchStack();
  const tag = randomBytes(3).toString('hex');
  const cases: OverheadCase[] = [
    { name: 'farm_overhead.testpattern', spec: (id) => spec(stack, id, 2048, 256), window: 8 },
    {
      name: 'farm_overhead.default_pipeline',
      spec: (id) =>
        resolveSpec({ runId: id, target: 64, shardSize: 16, output: `s3://${stack.bucket}/bench` }),
      window: 4,
    },
    {
      name: 'farm_overhead.default_pipeline_256',
      spec: (id) =>
        resolveSpec({ runId: id, target: 512, shardSize: 256, output: `s3://${stack.bucket}/bench` }),
      window: 2,
    },
  ];
  const bare = createBareFarm(stack.s3);
  const figures: Figures = {};
  await withFarm(stack, async (client) => {
    for (const c of cases) {
      let n = 0;
      const fresh = () => c.spec(`bench-${tag}-${c.name.split('.')[1]!.replaceAll('_', '-')}-${n++}`);
      const farmRun = async () => {
        const s = fresh();
        await client.launch(s, { window: c.window });
        await client.client.workflow.getHandle(s.runId).result();
      };
      const bareRun = () => bare(fresh(), c.window);
      const probe = c.spec('probe');
      Object.assign(
        figures,
        { [`${c.name}.samples`]: probe.targetSamples, [`${c.name}.shards`]: probe.shardCount },
        await compare({
          name: c.name,
          sides: [
            { name: 'farm', run: farmRun },
            { name: 'bare_loop', run: bareRun },
          ],
          warmups: 1,
          work: { count: probe.targetSamples, unit: 'samples' },
        }),
      );
    }
  });
  return figures;
}

/** Fan-out at full scale: 5x AffectNet's shard count (1,439 shards of 2 samples) on one machine. */
export async function benchFanOut(shards = 1439, window = 64): Promise<Record<string, number>> {
  const stack = await benchStack();
  const s = spec(stack, `bench-fanout-${randomBytes(3).toString('hex')}`, shards * 2, 2);
  return withFarm(stack, async (client) => {
    const t = performance.now();
    await client.launch(s, { window });
    const result = await client.client.workflow.getHandle(s.runId).result();
    const seconds = (performance.now() - t) / 1000;
    let largestHistory = 0;
    let executions = 0;
    for await (const wf of client.client.workflow.list({ query: `WorkflowId = '${s.runId}'` })) {
      executions++;
      largestHistory = Math.max(largestHistory, wf.historyLength);
    }
    const child = await client.client.workflow.getHandle(`${s.runId}/shard-0`).describe();
    return {
      shards: result.shards,
      samples: result.samples,
      seconds,
      shardsPerSecond: result.shards / seconds,
      datasetExecutions: executions,
      continuedAsNew: result.continuedAsNew,
      largestDatasetHistoryEvents: largestHistory,
      shardWorkflowHistoryEvents: child.historyLength,
    };
  });
}
