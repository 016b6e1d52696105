import { NativeConnection, type Worker } from '@temporalio/worker';
import sharp from 'sharp';
import { connectionOptions, type TemporalTarget } from '../infra/temporal-connection';
import type { StoreOptions } from '../storage';
import { taskQueues } from '../workflows/task-queues';
import { createWorkerDeps } from './deps';
import { metricsInterceptor } from './instrument';
import type { WorkerMetrics } from './metrics';
import { installRuntime, type RuntimeMetrics } from './runtime';
import { createFarmWorkers, type QueueKind } from './worker';

export interface StartWorkerOptions {
  temporal: TemporalTarget;
  s3: StoreOptions;
  queuePrefix?: string;
  serve: readonly QueueKind[];
  /** Concurrent tasks per queue kind, per process. */
  concurrency?: Partial<Record<QueueKind, number>>;
  /** How long running activities get to checkpoint after a shutdown signal. */
  shutdownGraceTime?: string;
  workflowBundlePath?: string;
  /** Test hook (SYNFARM_TEST_PART_DELAY_MS): pause before each part so a test can kill mid-stage. */
  testPartDelayMs?: number;
  /** Where Temporal's SDK metrics are exported (Prometheus); set once per process. */
  runtimeMetrics?: RuntimeMetrics;
  /** synfarm's own metrics: stores, models and activity results are instrumented into it. */
  metrics?: WorkerMetrics;
  /** Memory for staged parts read back by later stages (see workers/deps.ts); 0 turns it off. */
  partCacheBytes?: number;
}

/** A worker process's Temporal workers, running; `stop()` drains them and closes the connection. */
export interface RunningWorker {
  workers: Worker[];
  /** Settles when every worker has stopped; rejects if one failed. */
  running: Promise<void>;
  stop(): Promise<void>;
}

/**
 * The one way synfarm starts a worker in a process: the CLI, the demo, the tests and the
 * benches all come through here, so what they run is what production runs. One connection,
 * one set of models, one Temporal worker per served queue.
 */
export async function startWorker(options: StartWorkerOptions): Promise<RunningWorker> {
  installRuntime({ metrics: options.runtimeMetrics });
  // Every image a worker touches is new, so libvips' operation cache only hashes each one and
  // holds up to 50 MB of them; without it generate and filter spend a few percent less CPU.
  sharp.cache(false);
  const connection = await NativeConnection.connect(connectionOptions(options.temporal));
  let workers: Worker[];
  try {
    workers = await createFarmWorkers({
      connection,
      namespace: options.temporal.namespace,
      queues: taskQueues(options.queuePrefix ?? ''),
      serve: options.serve,
      deps: createWorkerDeps({
        s3: options.s3,
        testPartDelayMs: options.testPartDelayMs,
        metrics: options.metrics,
        partCacheBytes: options.partCacheBytes,
      }),
      concurrency: options.concurrency,
      shutdownGraceTime: options.shutdownGraceTime,
      workflowBundlePath: options.workflowBundlePath,
      activityInterceptors: options.metrics ? [metricsInterceptor(options.metrics)] : undefined,
    });
  } catch (err) {
    await connection.close();
    throw err;
  }
  const running = Promise.all(workers.map((w) => w.run())).then(() => undefined);
  const closed = running.finally(() => connection.close());
  return {
    workers,
    running: closed,
    async stop() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await closed;
    },
  };
}
