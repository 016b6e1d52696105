import { setTimeout as sleep } from 'node:timers/promises';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { FarmClient, type RunStatus } from '../client/runs';
import { describeQueues, formatQueueLoad, type QueueLoad } from '../client/task-queues';
import { resolveConnections } from '../infra/connections';
import { loadSpec } from '../spec';
import { redact } from '../storage/redact';
import { wholeNumber } from './options';
import { formatDuration, formatRejects, progressLine } from './output';

/** Every run command: connect, act, and close the connection whatever happens. */
async function withClient<T>(fn: (client: FarmClient) => Promise<T>): Promise<T> {
  const conn = await resolveConnections();
  const client = await FarmClient.connect({
    temporal: conn.temporal,
    s3: conn.s3,
    queuePrefix: conn.queuePrefix,
  });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

export function describeStatus(status: RunStatus): string {
  const s = redact(status) as RunStatus;
  const lines = [
    `run        ${s.runId} (${s.workflow}${s.progress?.state === 'paused' ? ', paused: no shard starts until synfarm unpause' : ''})`,
    `output     ${s.outputUrl}`,
    `shards     ${s.committed.shards}/${s.committed.plannedShards} committed`,
    `samples    ${s.committed.samples.toLocaleString('en-US')} committed of ${s.committed.plannedSamples.toLocaleString('en-US')} planned`,
    `rejects    ${formatRejects(s.rejectsByReason)}`,
  ];
  const short = Object.entries(s.classShortfall);
  if (short.length > 0)
    lines.push(
      `short      ${short.map(([c, n]) => `${c} ${n}`).join(', ')} (by class, after the last round)`,
    );
  if (s.progress) {
    lines.push(
      `running    ${s.progress.shards.running} shards (window ${s.progress.window}), ${s.progress.shards.failed} failed`,
      `rate       ${s.progress.rate.toFixed(1)} samples/s, ETA ${formatDuration(s.progress.etaSeconds)}`,
    );
    for (const f of s.progress.failed) lines.push(`failed     shard ${f.shard}: ${f.message}`);
  }
  if (s.failure) lines.push(`failure    ${s.failure}`);
  if (s.uiUrl) lines.push(`web UI     ${s.uiUrl}`);
  return lines.join('\n');
}

/** Follows a run until it closes: a live bar on a TTY, a line per change otherwise. */
export async function watchRun(client: FarmClient, runId: string, output?: string): Promise<RunStatus> {
  const tty = process.stderr.isTTY;
  const bar = tty
    ? new SingleBar({
        format: ' {bar} {value}/{total} shards | {samples} samples | {rate}/s | ETA {eta_h}',
        hideCursor: true,
      })
    : undefined;
  let last = '';
  let status = await client.status(runId, output);
  bar?.start(status.committed.plannedShards, status.committed.shards, {
    samples: 0,
    rate: '0.0',
    eta_h: '-',
  });
  while (status.workflow === 'running' || status.workflow === 'continued') {
    await sleep(1000);
    status = await client.status(runId, output);
    const p = status.progress;
    if (p) {
      bar?.update(p.shards.committed, {
        samples: p.samples.committed,
        rate: p.rate.toFixed(1),
        eta_h: formatDuration(p.etaSeconds),
      });
      const line = progressLine(p);
      if (!tty && line !== last) process.stderr.write(`${line}\n`);
      last = line;
    }
  }
  bar?.update(status.committed.shards);
  bar?.stop();
  return status;
}

/**
 * How soon a stage on a dead worker is retried elsewhere: the stage heartbeat timeout. Small
 * values suit small shards (tests, chaos runs); the default suits long GPU stages.
 */
const HEARTBEAT_OPTION = [
  '--heartbeat <seconds>',
  'stage heartbeat timeout: a stage silent this long is retried on another worker',
  wholeNumber(1),
] as const;

function heartbeat(opts: { heartbeat?: number }) {
  return opts.heartbeat === undefined ? undefined : { heartbeatSeconds: opts.heartbeat };
}

export function registerRunCommands(program: Command): void {
  program
    .command('launch')
    .argument('<spec>', 'run spec file (YAML or JSON)')
    .description('validate a spec, write spec.json once and start the run')
    .option('--wait', 'follow the run with a progress bar until it ends')
    .option('--window <n>', 'shards in flight at once', wholeNumber(1))
    .option(...HEARTBEAT_OPTION)
    .action(async (specPath: string, opts: { wait?: boolean; window?: number; heartbeat?: number }) => {
      const spec = await loadSpec(specPath);
      await withClient(async (client) => {
        const { uiUrl, complete } = await client.launch(spec, {
          window: opts.window,
          timeouts: heartbeat(opts),
        });
        if (complete) {
          process.stdout.write(
            `${spec.runId} is complete (${complete.shards} shards committed): nothing to launch\n`,
          );
          return;
        }
        process.stdout.write(
          `launched ${spec.runId}: ${spec.targetSamples.toLocaleString('en-US')} samples in ${spec.shardCount} shards -> ${spec.output}\n`,
        );
        if (uiUrl) process.stdout.write(`web UI: ${uiUrl}\n`);
        if (opts.wait) {
          const status = await watchRun(client, spec.runId, spec.output);
          process.stdout.write(`${describeStatus(status)}\n`);
          if (status.workflow !== 'completed') process.exitCode = 1;
        }
      });
    });

  program
    .command('status')
    .argument('<run>', 'run id')
    .description(
      'progress of a run (from the workflow while it runs, from the sidecars otherwise) and each task ' +
        "queue's backlog and pollers (queues of the config's queuePrefix, SYNFARM_QUEUE_PREFIX)",
    )
    .option('--watch', 'keep following until the run ends')
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .option('--json', 'machine-readable output')
    .action(async (runId: string, opts: { watch?: boolean; output?: string; json?: boolean }) => {
      await withClient(async (client) => {
        // Failure messages quote what a worker saw; a URL in one loses its credentials here.
        const status = redact(
          opts.watch ? await watchRun(client, runId, opts.output) : await client.status(runId, opts.output),
        ) as RunStatus;
        // The pool's side of the picture: is work waiting, and is anyone there to take it?
        const queues: QueueLoad[] | { error: string } = await describeQueues(
          client.client,
          client.taskQueues(),
        ).catch((err: Error) => ({ error: err.message }));
        const queueLines = Array.isArray(queues)
          ? queues.map((q) => `queues     ${formatQueueLoad(q)}`)
          : [`queues     unavailable: ${queues.error}`];
        process.stdout.write(
          opts.json
            ? `${JSON.stringify({ ...status, queues }, null, 2)}\n`
            : `${describeStatus(status)}\n${queueLines.join('\n')}\n`,
        );
      });
    });

  program
    .command('resume')
    .argument('<run>', 'run id')
    .description('run the missing shards of a failed, cancelled or lost run against its stored spec.json')
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .option('--wait', 'follow the run until it ends')
    .option(...HEARTBEAT_OPTION)
    .action(async (runId: string, opts: { output?: string; wait?: boolean; heartbeat?: number }) => {
      await withClient(async (client) => {
        const { uiUrl, complete } = await client.resume(runId, {
          output: opts.output,
          timeouts: heartbeat(opts),
        });
        if (complete) {
          process.stdout.write(
            `${runId} is complete (${complete.shards} shards committed): nothing to resume\n`,
          );
          return;
        }
        process.stdout.write(`resumed ${runId}${uiUrl ? ` (${uiUrl})` : ''}\n`);
        if (opts.wait) {
          const status = await watchRun(client, runId, opts.output);
          process.stdout.write(`${describeStatus(status)}\n`);
          if (status.workflow !== 'completed') process.exitCode = 1;
        }
      });
    });

  program
    .command('gc')
    .argument('<run>', 'run id')
    .description(
      'abort the unfinished multipart uploads a killed worker left under a stopped run (resume does this too)',
    )
    .option('--output <url>', 'the run output URL, when Temporal no longer knows the run')
    .action(async (runId: string, opts: { output?: string }) => {
      await withClient(async (client) => {
        const { abortedUploads } = await client.gc(runId, { output: opts.output });
        process.stdout.write(`${runId}: aborted ${abortedUploads} unfinished upload(s)\n`);
      });
    });

  program
    .command('pause')
    .argument('<run>', 'run id')
    .description('start no new shards (running ones finish); undo with: synfarm unpause RUN')
    .action(async (runId: string) => {
      await withClient(async (client) => {
        await client.setPaused(runId, true);
        process.stdout.write(`paused ${runId}\n`);
      });
    });

  program
    .command('unpause')
    .argument('<run>', 'run id')
    .description('let a paused run start shards again')
    .action(async (runId: string) => {
      await withClient(async (client) => {
        await client.setPaused(runId, false);
        process.stdout.write(`unpaused ${runId}\n`);
      });
    });

  program
    .command('window')
    .argument('<run>', 'run id')
    .argument('<shards>', 'shards in flight at once', wholeNumber(1))
    .description('change how many shards run at once, while the run goes on')
    .action(async (runId: string, size: number) => {
      await withClient(async (client) => {
        await client.setWindow(runId, size);
        process.stdout.write(`window of ${runId} set to ${size}\n`);
      });
    });

  program
    .command('cancel')
    .argument('<run>', 'run id')
    .description('cancel a run: every running shard stops at its next checkpoint; resume later')
    .action(async (runId: string) => {
      await withClient(async (client) => {
        await client.cancel(runId);
        process.stdout.write(`cancellation requested for ${runId}\n`);
      });
    });

  program
    .command('list')
    .description('runs known to Temporal, with their state')
    .action(async () => {
      await withClient(async (client) => {
        const runs = await client.list();
        if (runs.length === 0) process.stdout.write('no runs\n');
        for (const r of runs) {
          process.stdout.write(
            `${r.runId.padEnd(32)} ${r.state.padEnd(12)} ${r.started?.toISOString() ?? ''}\n`,
          );
        }
      });
    });
}
