/**
 * Records Temporal histories of the current workflows into test/fixtures/histories/, for the
 * replay test (test/workflow-replay.test.ts): a dataset run that continued as new, a shard with
 * deficit rounds, a cancelled run and its resume. Re-record after a workflow change that is
 * meant to ship only to new runs (see README, "Changing a workflow during a long run").
 *
 *   node --import tsx scripts/record-histories.ts
 *
 * It brings up a stack of its own (.state/record-histories, ports 47233/48233/47070 moved by
 * SYNFARM_TEST_PORT_OFFSET) with in-process workers on small testpattern runs, and stops it.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { FarmClient } from '../client/runs';
import { devDown, devUp } from '../infra/dev-stack';
import { PROJECT_ROOT } from '../infra/paths';
import { waitFor } from '../infra/processes';
import { ensureTool } from '../infra/tools';
import { runKeys } from '../run/layout';
import { resolveSpec, type Spec } from '../spec';
import { createWorkerDeps } from '../workers/deps';
import { installQuietRuntime } from '../workers/runtime';
import { createFarmWorkers } from '../workers/worker';
import { taskQueues } from '../workflows/task-queues';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const exec = promisify(execFile);
const offset = Number(process.env.SYNFARM_TEST_PORT_OFFSET ?? 0);
const STACK = {
  stateDir: path.join(PROJECT_ROOT, '.state', 'record-histories'),
  temporalPort: 47233 + offset,
  temporalUiPort: 48233 + offset,
  s3Port: 47070 + offset,
  bucket: 'record',
  // Low, so a 60-shard run continues as new (as test/global-setup.ts does).
  dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 200 },
};
export const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const TIMEOUTS = { heartbeatSeconds: 5 };

function spec(output: string, runId: string, overrides: Record<string, unknown> = {}): Spec {
  return resolveSpec({
    runId,
    target: 24,
    shardSize: 8,
    generator: { backend: 'testpattern', batchSize: 4 },
    calibrator: { backend: 'passthrough' },
    image: { size: 112 },
    output,
    ...overrides,
  });
}

/**
 * Exports one execution's history with the Temporal CLI, in the JSON form its `workflow show`
 * and the web UI export (what `historyFromJSON` reads).
 */
async function save(name: string, handle: WorkflowHandle, runId: string | undefined, address: string) {
  const temporal = await ensureTool('temporal');
  const args = [
    'workflow',
    'show',
    '--address',
    address,
    '--workflow-id',
    handle.workflowId,
    '--output',
    'json',
  ];
  const { stdout } = await exec(temporal, [...args, ...(runId ? ['--run-id', runId] : [])], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const events = (JSON.parse(stdout) as { events: unknown[] }).events.length;
  const file = path.join(FIXTURES, `${name}.json`);
  await writeFile(file, stdout.endsWith('\n') ? stdout : `${stdout}\n`);
  process.stderr.write(`recorded ${path.relative(PROJECT_ROOT, file)} (${events} events)\n`);
}

/** Every execution of a workflow id, oldest first. */
async function executions(client: FarmClient, workflowId: string) {
  const out: Array<{ runId: string; status: string; start: Date }> = [];
  for await (const wf of client.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    out.push({ runId: wf.runId, status: wf.status.name, start: wf.startTime });
  return out.sort((a, b) => a.start.getTime() - b.start.getTime());
}

async function main(): Promise<void> {
  await devDown(STACK);
  await rm(STACK.stateDir, { recursive: true, force: true });
  const info = await devUp(STACK);
  const addr = info.temporal.address;
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-histories-'));
  const output = pathToFileURL(dir).href;
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: info.temporal.address });
  const prefix = 'record-';
  const workers = await createFarmWorkers({
    connection,
    namespace: info.temporal.namespace,
    queues: taskQueues(prefix),
    serve: ['workflows', 'gpu', 'cpu'],
    // A pause per part, so the cancel lands while shards are running.
    deps: createWorkerDeps({ s3: {}, testPartDelayMs: 150 }),
    shutdownGraceTime: '2s',
  });
  const running = Promise.all(workers.map((w) => w.run()));
  const client = await FarmClient.connect({ temporal: info.temporal, s3: {}, queuePrefix: prefix });
  try {
    await mkdir(FIXTURES, { recursive: true });

    // 1. A dataset run long enough to continue as new: its first execution ends in the hand-over.
    const can = spec(output, 'history-can', {
      target: 120,
      shardSize: 2,
      generator: { backend: 'testpattern', batchSize: 2 },
    });
    await client.launch(can, { timeouts: TIMEOUTS, window: 8 });
    const canHandle = client.client.workflow.getHandle(can.runId);
    await canHandle.result();
    const chain = await executions(client, can.runId);
    const first = chain.find((e) => e.status === 'CONTINUED_AS_NEW');
    if (!first) throw new Error('the long run did not continue as new: lower the history threshold');
    await save('dataset-continued-as-new', canHandle, first.runId, addr);

    // 2. A shard with deficit rounds: rejects make the filter come up short.
    const deficit = spec(output, 'history-deficit', { filter: { testRejectFraction: 0.3, maxRounds: 3 } });
    await client.launch(deficit, { timeouts: TIMEOUTS });
    await client.client.workflow.getHandle(deficit.runId).result();
    let recorded = false;
    for (let s = 0; s < deficit.shardCount && !recorded; s++) {
      const shard = client.client.workflow.getHandle(`${deficit.runId}/shard-${s}`);
      const result = (await shard.result()) as { rounds: number };
      if (result.rounds > 1) {
        await save('shard-deficit-rounds', shard, undefined, addr);
        recorded = true;
      }
    }
    if (!recorded) throw new Error('no shard needed a deficit round: raise testRejectFraction');

    // 3. A run cancelled once a shard is committed, then 4. resumed to completion.
    const cancelled = spec(output, 'history-cancel');
    await client.launch(cancelled, { timeouts: TIMEOUTS, window: 1 });
    const store = client.store(output);
    const committed = await waitFor(
      async () => (await store.head(runKeys(cancelled.runId).shardSidecar(0))) !== null,
      120_000,
    );
    if (!committed) throw new Error('no shard committed in time');
    await client.cancel(cancelled.runId);
    const handle = client.client.workflow.getHandle(cancelled.runId);
    await handle.result().catch(() => undefined);
    const [cancelledRun] = await executions(client, cancelled.runId);
    await save('dataset-cancelled', handle, cancelledRun!.runId, addr);
    await client.resume(cancelled.runId, { timeouts: TIMEOUTS });
    await client.client.workflow.getHandle(cancelled.runId).result();
    const resumed = (await executions(client, cancelled.runId)).at(-1)!;
    await save('dataset-resumed', handle, resumed.runId, addr);
  } finally {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
    await running;
    await client.close();
    await connection.close();
    await devDown(STACK);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
