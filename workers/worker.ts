import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type ActivityInterceptorsFactory,
  type NativeConnection,
  Worker,
  type WorkerOptions,
} from '@temporalio/worker';
import { type ActivityDeps, activitiesForQueue, createActivities } from '../activities';
import type { TaskQueues } from '../workflows/task-queues';
import { installQuietRuntime } from './runtime';

export const QUEUE_KINDS = ['workflows', 'gpu', 'cpu'] as const;
export type QueueKind = (typeof QUEUE_KINDS)[number];

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const WORKFLOWS_PATH = path.join(HERE, '..', 'workflows', 'index.ts');
/** Where `npm run build:workflows` writes the production bundle. */
export const WORKFLOW_BUNDLE_PATH = path.join(HERE, '..', 'dist', 'workflow-bundle.js');

export interface FarmWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  queues: TaskQueues;
  serve: readonly QueueKind[];
  deps: ActivityDeps;
  /** Concurrent activity tasks per queue; GPU: size to the device's batch capacity. */
  concurrency?: Partial<Record<QueueKind, number>>;
  /** How long running activities get to checkpoint after a shutdown signal. */
  shutdownGraceTime?: string;
  /**
   * A bundle built ahead of time (production). Without it the worker bundles from source at
   * start, which is what development wants: a stale bundle is never picked up by accident.
   */
  workflowBundlePath?: string;
  /** Activity interceptors (metrics), applied on every activity queue. */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

/** Creates one Temporal worker per served queue, all sharing one connection and one set of models. */
export async function createFarmWorkers(options: FarmWorkerOptions): Promise<Worker[]> {
  installQuietRuntime();
  const activities = createActivities(options.deps);
  const base = {
    connection: options.connection,
    namespace: options.namespace,
    shutdownGraceTime: options.shutdownGraceTime ?? '20s',
  } satisfies Partial<WorkerOptions>;
  const workers: Worker[] = [];
  for (const kind of options.serve) {
    const concurrency = options.concurrency?.[kind];
    if (kind === 'workflows') {
      const bundlePath = options.workflowBundlePath;
      if (bundlePath && !existsSync(bundlePath)) {
        throw Object.assign(
          new Error(`workflow bundle ${bundlePath} does not exist: run npm run build:workflows`),
          {
            code: 'missing-bundle',
          },
        );
      }
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: options.queues.workflows,
          ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: WORKFLOWS_PATH }),
          ...(concurrency ? { maxConcurrentWorkflowTaskExecutions: concurrency } : {}),
        }),
      );
    } else {
      workers.push(
        await Worker.create({
          ...base,
          taskQueue: options.queues[kind],
          activities: activitiesForQueue(activities, kind),
          ...(options.activityInterceptors
            ? { interceptors: { activity: options.activityInterceptors } }
            : {}),
          ...(concurrency ? { maxConcurrentActivityTaskExecutions: concurrency } : {}),
        }),
      );
    }
  }
  return workers;
}

/** Runs the workers until they stop (shutdown signal or `shutdown()`); rejects if one fails. */
export async function runFarmWorkers(workers: readonly Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}
