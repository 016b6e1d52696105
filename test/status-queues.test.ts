import { describe, expect, it } from 'vitest';
import { describeQueues, formatQueueLoad, type QueueLoad } from '../client/task-queues';
import { taskQueues } from '../workflows/task-queues';
import { synfarmCli } from './support/cli';
import { connectClient, startFarm, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';
import { waitUntil } from './support/wait';

describe('synfarm status: task-queue backlog and pollers from the Temporal server', () => {
  it('shows work waiting with nobody polling, then the workers that poll, in text and --json', async () => {
    const prefix = `${uniqueId('tq')}-`;
    const client = await connectClient(prefix);
    const spec = testSpec({ runId: uniqueId('tq') });
    const env = { SYNFARM_QUEUE_PREFIX: prefix };
    try {
      // No worker yet: the dataset workflow's first task waits on the workflow queue.
      await client.launch(spec, { timeouts: TEST_TIMEOUTS });
      const waiting = await synfarmCli(['status', spec.runId], env);
      expect(waiting.code).toBe(0);
      expect(waiting.stdout).toMatch(/^queues {5}workflows: 1 task waiting, 0 workers polling$/m);
      expect(waiting.stdout).toMatch(/^queues {5}gpu: 0 tasks waiting, 0 workers polling$/m);

      // A worker on the cpu queue only: it polls there, and the workflow task still waits.
      const cpuOnly = await startFarm({ queuePrefix: prefix, serve: ['cpu'] });
      try {
        // Poll the server in-process (cheap), then ask the real CLI once it has seen the worker.
        await waitUntil(
          'the cpu worker is seen polling',
          async () => (await describeQueues(client.client, taskQueues(prefix)))[2]!.pollers === 1,
          30_000,
        );
        const r = await synfarmCli(['status', spec.runId, '--json'], env);
        const json = JSON.parse(r.stdout) as {
          queues: { kind: string; backlog: number; pollers: number; taskQueue: string }[];
        };
        expect(json.queues).toEqual([
          expect.objectContaining({
            kind: 'workflows',
            taskQueue: `${prefix}synfarm-workflows`,
            backlog: 1,
            pollers: 0,
          }),
          expect.objectContaining({ kind: 'gpu', backlog: 0, pollers: 0 }),
          expect.objectContaining({ kind: 'cpu', backlog: 0, pollers: 1 }),
        ]);
        // The text line for the same numbers (singular and plural as a person reads them).
        expect(formatQueueLoad(json.queues[2] as QueueLoad)).toBe('cpu: 0 tasks waiting, 1 worker polling');
      } finally {
        await cpuOnly.stop();
      }
    } finally {
      await client.client.workflow.getHandle(spec.runId).terminate('test over');
      await client.close();
    }
  }, 300_000);
});
