import { randomBytes } from 'node:crypto';
import { FarmClient } from '../client/runs';
import { devUp, readCredentials } from '../infra/dev-stack';
import type { StoreOptions } from '../storage';
import { startWorker } from '../workers/start';

/** Benchmarks run against the developer's dev stack (`synfarm dev up`), started if needed. */
export interface BenchStack {
  s3: StoreOptions;
  bucket: string;
  temporal: { address: string; namespace: string };
}

export async function benchStack(): Promise<BenchStack> {
  const info = await devUp({}, (msg) => process.stderr.write(`${msg}\n`));
  return {
    s3: { endpoint: info.s3.endpoint, region: info.s3.region, credentials: await readCredentials(info) },
    bucket: info.s3.bucket,
    temporal: info.temporal,
  };
}

/** One in-process worker serving every queue under a fresh queue prefix, and a client for it. */
export async function withFarm<T>(
  stack: BenchStack,
  fn: (client: FarmClient, prefix: string) => Promise<T>,
): Promise<T> {
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
