import { type ActiveBackend, activateBackend } from './backend';
import type { WorkerConfig, WorkerTargets } from './config';
import { createWorkerMetrics, type WorkerMetrics } from './metrics';
import { temporalBindAddress } from './metrics-server';
import { type RunningWorker, startWorker } from './start';

/** Everything one worker process needs; plain data, so the pool can hand it to a child over IPC. */
export interface ProcessPlan {
  config: WorkerConfig;
  targets: WorkerTargets;
  /** This process's place in the pool (0 without a pool): picks its Temporal metrics port. */
  index: number;
  testPartDelayMs?: number;
}

export interface WorkerProcess {
  handle: RunningWorker;
  /** Absent when the process serves no model queue. */
  backend?: ActiveBackend;
  metrics?: WorkerMetrics;
}

/**
 * One worker process: its TF.js backend chosen and reported before any task arrives (a GPU
 * node that fell back to the CPU is seen at once, not hours later), its metrics, its workers.
 */
export async function startWorkerProcess(plan: ProcessPlan): Promise<WorkerProcess> {
  const { config } = plan;
  // CUDA reads it once, when libtensorflow loads: before the backend is activated.
  if (config.gpu !== undefined) process.env.CUDA_VISIBLE_DEVICES = String(config.gpu);
  const backend = config.queues.includes('gpu')
    ? await activateBackend({ backend: config.tfjsBackend, gpu: config.gpu })
    : undefined;
  const metrics = config.metricsPort !== undefined ? createWorkerMetrics() : undefined;
  if (metrics && backend) {
    metrics.tfjsBackend.set({ backend: backend.name, version: backend.version, device: backend.device }, 1);
  }
  const handle = await startWorker({
    temporal: plan.targets.temporal,
    s3: plan.targets.s3,
    queuePrefix: config.queuePrefix,
    serve: config.queues,
    concurrency: config.concurrency,
    workflowBundlePath: config.workflowBundle,
    partCacheBytes: config.partCacheMib * 1024 * 1024,
    testPartDelayMs: plan.testPartDelayMs,
    metrics,
    runtimeMetrics:
      config.metricsPort !== undefined
        ? { prometheusBindAddress: temporalBindAddress(config.metricsPort, plan.index) }
        : undefined,
  });
  return { handle, backend, metrics };
}

export function backendLine(backend: ActiveBackend | undefined): string {
  return backend
    ? `TF.js ${backend.name} ${backend.version} on ${backend.device}`
    : 'TF.js not loaded (no model queue served)';
}
