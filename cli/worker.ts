import { NativeConnection } from '@temporalio/worker';
import type { Command } from 'commander';
import { resolveConnections } from '../infra/connections';
import { log } from '../log/logger';
import { createWorkerDeps } from '../workers/deps';
import { installQuietRuntime } from '../workers/runtime';
import { createFarmWorkers, QUEUE_KINDS, type QueueKind, runFarmWorkers } from '../workers/worker';
import { taskQueues } from '../workflows/task-queues';

function parseQueues(value: string): QueueKind[] {
  if (value === 'all') return [...QUEUE_KINDS];
  const kinds = value.split(',').map((s) => s.trim());
  for (const k of kinds) {
    if (!(QUEUE_KINDS as readonly string[]).includes(k)) {
      throw Object.assign(
        new Error(`--queues: got "${k}"; expected all, or a comma list of ${QUEUE_KINDS.join(', ')}`),
        {
          code: 'invalid-option',
        },
      );
    }
  }
  return kinds as QueueKind[];
}

const int = (v: string) => Number.parseInt(v, 10);

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('serve task queues: workflows, gpu (generate, calibrate), cpu (filter, commit, manifest)')
    .option('--queues <list>', 'all, or a comma list of workflows,gpu,cpu', 'all')
    .option('--gpu <index>', 'pin this process to one GPU (sets CUDA_VISIBLE_DEVICES before TF.js loads)')
    .option('--gpu-concurrency <n>', 'generate/calibrate tasks at once (size to the device)', int, 2)
    .option('--cpu-concurrency <n>', 'filter/commit tasks at once', int, 8)
    .option('--workflow-concurrency <n>', 'workflow tasks at once', int)
    .option('--workflow-bundle <file>', 'workflow code bundled ahead of time (npm run build:workflows)')
    .option(
      '--queue-prefix <prefix>',
      'task-queue prefix (must match the launcher)',
      process.env.SYNFARM_QUEUE_PREFIX ?? '',
    )
    .action(
      async (opts: {
        queues: string;
        gpu?: string;
        gpuConcurrency: number;
        cpuConcurrency: number;
        workflowConcurrency?: number;
        queuePrefix: string;
        workflowBundle?: string;
      }) => {
        const serve = parseQueues(opts.queues);
        // Must happen before any model code loads TF.js, which reads it once.
        if (opts.gpu !== undefined) process.env.CUDA_VISIBLE_DEVICES = opts.gpu;
        installQuietRuntime();
        const conn = await resolveConnections();
        const connection = await NativeConnection.connect({ address: conn.temporal.address });
        const delay = Number(process.env.SYNFARM_TEST_PART_DELAY_MS ?? 0);
        let workers: Awaited<ReturnType<typeof createFarmWorkers>>;
        try {
          workers = await createFarmWorkers({
            connection,
            namespace: conn.temporal.namespace,
            queues: taskQueues(opts.queuePrefix),
            serve,
            deps: createWorkerDeps({ s3: conn.s3, testPartDelayMs: delay }),
            concurrency: {
              gpu: opts.gpuConcurrency,
              cpu: opts.cpuConcurrency,
              workflows: opts.workflowConcurrency,
            },
            workflowBundlePath: opts.workflowBundle,
          });
        } catch (err) {
          await connection.close();
          throw err;
        }
        // Temporal's runtime turns the first SIGINT/SIGTERM into a graceful shutdown (stop
        // polling, let activities checkpoint); a second one means "now".
        let signals = 0;
        const now = (sig: NodeJS.Signals) => {
          signals++;
          if (signals === 1)
            process.stderr.write(`${sig}: finishing running tasks; send again to exit now\n`);
          else process.exit(130);
        };
        process.on('SIGINT', now);
        process.on('SIGTERM', now);
        process.stderr.write(`worker serving ${serve.join(', ')} on ${conn.temporal.address}\n`);
        log.info('worker started', { queues: serve, prefix: opts.queuePrefix });
        try {
          await runFarmWorkers(workers);
        } finally {
          await connection.close();
        }
      },
    );
}
