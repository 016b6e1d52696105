import type { Client } from '@temporalio/client';
import proto, { type temporal } from '@temporalio/proto';
import type { TaskQueues } from '../workflows/task-queues';

// A CommonJS package: its namespaces are reached through the default export under ESM.
const { TaskQueueType, DescribeTaskQueueMode } = proto.temporal.api.enums.v1;

/** One task queue's load, from the Temporal server's task-queue statistics. */
export interface QueueLoad {
  kind: keyof TaskQueues;
  taskQueue: string;
  /** Tasks waiting for a worker (approximate: the server counts its backlog lazily). */
  backlog: number;
  /** Workers that polled this queue in the last minutes, by identity. */
  pollers: number;
  /** Age of the oldest waiting task, seconds; 0 when nothing waits. */
  backlogAgeSeconds: number;
}

type Stats = temporal.api.taskqueue.v1.ITaskQueueStats | null | undefined;

function seconds(d: { seconds?: unknown; nanos?: number | null } | null | undefined): number {
  if (!d) return 0;
  return Number(d.seconds ?? 0) + (d.nanos ?? 0) / 1e9;
}

/**
 * Backlog and pollers of the farm's three queues (workflow tasks on the workflow queue,
 * activity tasks on the gpu and cpu queues). Servers that do not fill `stats` in the default
 * mode (before the API's report_stats there) are asked again in the enhanced mode.
 */
export async function describeQueues(client: Client, queues: TaskQueues): Promise<QueueLoad[]> {
  const service = client.workflowService;
  const namespace = client.options.namespace;
  return Promise.all(
    (Object.keys(queues) as (keyof TaskQueues)[]).map(async (kind) => {
      const taskQueueType =
        kind === 'workflows'
          ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW
          : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
      const name = queues[kind];
      const res = await service.describeTaskQueue({
        namespace,
        taskQueue: { name },
        taskQueueType,
        reportStats: true,
      });
      let stats: Stats = res.stats;
      if (!stats) {
        const enhanced = await service.describeTaskQueue({
          namespace,
          taskQueue: { name },
          apiMode: DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
          taskQueueTypes: [taskQueueType],
          reportStats: true,
        });
        stats = enhanced.versionsInfo?.['']?.typesInfo?.[String(taskQueueType)]?.stats;
      }
      const identities = new Set((res.pollers ?? []).map((p) => p.identity ?? ''));
      return {
        kind,
        taskQueue: name,
        backlog: Number(stats?.approximateBacklogCount ?? 0),
        pollers: identities.size,
        backlogAgeSeconds: seconds(stats?.approximateBacklogAge),
      };
    }),
  );
}

export function formatQueueLoad(q: QueueLoad): string {
  const tasks = `${q.backlog.toLocaleString('en-US')} ${q.backlog === 1 ? 'task' : 'tasks'} waiting`;
  const workers = `${q.pollers} ${q.pollers === 1 ? 'worker' : 'workers'} polling`;
  return `${q.kind}: ${tasks}, ${workers}`;
}
