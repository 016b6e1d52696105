import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { FarmClient } from '../client/runs';
import { createTestPatternGenerator } from '../models/testpattern';
import { createPlan } from '../plan';
import { runKeys } from '../run/layout';
import { resolveSpec, type Spec } from '../spec';
import { openStore } from '../storage';
import { type Sample, writeTar } from '../webdataset';
import { startWorker } from '../workers/start';
import { benchStack } from './stack';

type Stack = Awaited<ReturnType<typeof benchStack>>;

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

async function withFarm<T>(stack: Stack, fn: (client: FarmClient, prefix: string) => Promise<T>): Promise<T> {
  const prefix = `bench-${randomBytes(3).toString('hex')}-`;
  const worker = await startWorker({
    temporal: stack.temporal,
    s3: stack.s3,
    queuePrefix: prefix,
    serve: ['workflows', 'gpu', 'cpu'],
    shutdownGraceTime: '2s',
  });
  const client = await FarmClient.connect({ temporal: stack.temporal, s3: stack.s3, queuePrefix: prefix });
  try {
    return await fn(client, prefix);
  } finally {
    await worker.stop();
    await client.close();
  }
}

/** The baseline: the same shards generated, packed and uploaded by a plain loop, no orchestration. */
async function plainLoop(s: Spec, stack: Stack): Promise<number> {
  const store = openStore(s.output, stack.s3);
  const plan = createPlan(s);
  const generator = createTestPatternGenerator();
  const t = performance.now();
  for (let shard = 0; shard < plan.shardCount; shard++) {
    const requests = plan.planShard(shard);
    const images = await generator.generate(requests, { size: s.image.size, format: 'jpg', quality: 90 });
    const samples = images.map(
      (img, i): Sample => ({
        __key__: img.key,
        jpg: img.bytes,
        json: JSON.stringify(requests[i]),
        cls: String(requests[i]!.classIndex),
      }),
    );
    await store.putStream(runKeys(`${s.runId}-plain`).shardTar(shard), Readable.from(writeTar(samples)));
  }
  return (performance.now() - t) / 1000;
}

/**
 * Orchestration overhead: the farm (testpattern + passthrough, so the work itself is small and the
 * overhead shows) against a plain in-process loop over the same shards, in one command.
 */
export async function benchFarmOverhead(): Promise<Record<string, number>> {
  const stack = await benchStack();
  const s = spec(stack, `bench-overhead-${randomBytes(3).toString('hex')}`, 2048, 256);
  const plainSeconds = await plainLoop(s, stack);
  const farmSeconds = await withFarm(stack, async (client) => {
    const t = performance.now();
    await client.launch(s, { window: 8 });
    await client.client.workflow.getHandle(s.runId).result();
    return (performance.now() - t) / 1000;
  });
  return {
    samples: s.targetSamples,
    shards: s.shardCount,
    plainLoopSeconds: plainSeconds,
    farmSeconds,
    ratioFarmToPlain: farmSeconds / plainSeconds,
  };
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
