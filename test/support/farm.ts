import { randomBytes } from 'node:crypto';
import type { Worker } from '@temporalio/worker';
import { DEFAULT_TIMEOUTS, FarmClient } from '../../client/runs';
import { resolveSpec, type Spec } from '../../spec';
import { startWorker } from '../../workers/start';
import type { QueueKind } from '../../workers/worker';
import { testStack } from './stack';

/** A unique id so every test's runs, queues and objects stay apart on the shared stack. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export function s3Options() {
  const { s3 } = testStack();
  return {
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  };
}

export function testSpec(overrides: Record<string, unknown> & { runId: string }): Spec {
  const { s3 } = testStack();
  return resolveSpec({
    target: 24,
    shardSize: 8,
    generator: { backend: 'testpattern', batchSize: 4 },
    calibrator: { backend: 'passthrough' },
    image: { size: 112 },
    output: `s3://${s3.bucket}/farm-tests`,
    ...overrides,
  });
}

/** Short timeouts so a killed worker's activities are retried within seconds in tests. */
export const TEST_TIMEOUTS = { ...DEFAULT_TIMEOUTS, heartbeatSeconds: 5 };

export interface InProcessFarm {
  client: FarmClient;
  queuePrefix: string;
  workers: Worker[];
  running: Promise<void>;
  stop(): Promise<void>;
}

export async function connectClient(queuePrefix: string): Promise<FarmClient> {
  const { temporal } = testStack();
  return FarmClient.connect({
    temporal: { address: temporal.address, namespace: temporal.namespace, uiUrl: temporal.uiUrl },
    s3: s3Options(),
    queuePrefix,
  });
}

/** Client plus in-process workers for the given queues, on a queue prefix of their own. */
export async function startFarm(
  options: {
    serve?: QueueKind[];
    queuePrefix?: string;
    workflowBundlePath?: string;
    testPartDelayMs?: number;
  } = {},
): Promise<InProcessFarm> {
  const { temporal } = testStack();
  const queuePrefix = options.queuePrefix ?? `${uniqueId('t')}-`;
  const worker = await startWorker({
    temporal,
    s3: s3Options(),
    queuePrefix,
    serve: options.serve ?? ['workflows', 'gpu', 'cpu'],
    testPartDelayMs: options.testPartDelayMs,
    shutdownGraceTime: '2s',
    workflowBundlePath: options.workflowBundlePath,
  });
  const client = await connectClient(queuePrefix);
  return {
    client,
    queuePrefix,
    workers: worker.workers,
    running: worker.running,
    async stop() {
      await worker.stop();
      await client.close();
    },
  };
}
