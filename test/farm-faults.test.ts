import { setTimeout } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStatus } from '../cli/runs';
import type { FarmClient } from '../client/runs';
import { devUp, signalServer } from '../infra/dev-stack';
import { isAlive } from '../infra/processes';
import { runKeys, shardOfSidecar } from '../run/layout';
import { parseSidecar } from '../run/sidecar';
import { type Spec, specToJson } from '../spec';
import { readSamples } from '../webdataset';
import { progressQuery } from '../workflows/api';
import { shardWorkflow } from '../workflows/shard';
import { taskQueues } from '../workflows/task-queues';
import { TEST_STACK_CONFIG } from './global-setup';
import { exited, spawnWorker } from './support/child-worker';
import {
  connectClient,
  type InProcessFarm,
  startFarm,
  TEST_TIMEOUTS,
  testSpec,
  uniqueId,
} from './support/farm';
import { waitUntil } from './support/wait';

const { PendingActivityState } = temporal.api.enums.v1;

const SHARDS = 3;
const BASE = { target: 24, shardSize: 8, seed: 4242 };

async function shardTars(client: FarmClient, spec: Spec): Promise<Buffer[]> {
  const store = client.store(spec.output);
  const out: Buffer[] = [];
  for (let s = 0; s < spec.shardCount; s++)
    out.push(Buffer.from(await store.get(runKeys(spec.runId).shardTar(s))));
  return out;
}

async function committedShardSet(client: FarmClient, spec: Spec): Promise<Set<number>> {
  const out = new Set<number>();
  for await (const o of client.store(spec.output).list(runKeys(spec.runId).shardsPrefix)) {
    const shard = shardOfSidecar(o.key);
    if (shard !== undefined) out.add(shard);
  }
  return out;
}

async function committedShards(client: FarmClient, spec: Spec): Promise<number> {
  return (await committedShardSet(client, spec)).size;
}

/** Shard workflow ids of this run started since `since` (one entry per execution), from visibility. */
async function shardExecutionsSince(
  client: FarmClient,
  spec: Spec,
  since: Date,
  atLeast: number,
): Promise<string[]> {
  const query = `WorkflowType = 'shardWorkflow' AND StartTime >= '${since.toISOString()}'`;
  let ids: string[] = [];
  // Visibility is written asynchronously: wait until it shows at least the expected executions.
  await waitUntil('visibility lists the shard executions', async () => {
    ids = [];
    for await (const wf of client.client.workflow.list({ query }))
      if (wf.workflowId.startsWith(`${spec.runId}/`)) ids.push(wf.workflowId);
    return ids.length >= atLeast;
  });
  return ids;
}

async function stagedGenerateParts(client: FarmClient, spec: Spec): Promise<number> {
  let n = 0;
  for await (const o of client.store(spec.output).list(runKeys(spec.runId).stagingPrefix))
    if (o.key.includes('/gen-')) n++;
  return n;
}

/**
 * True once an activity of this type has started on a worker (not merely been scheduled): a fault
 * aimed "inside generate" must find generate running, or the worker has nothing to drain.
 */
async function pendingActivityOf(client: FarmClient, spec: Spec, type: string): Promise<boolean> {
  for (let s = 0; s < spec.shardCount; s++) {
    try {
      const d = await client.client.workflow.getHandle(`${spec.runId}/shard-${s}`).describe();
      const running = (d.raw.pendingActivities ?? []).some(
        (a) =>
          a.activityType?.name === type && a.state === PendingActivityState.PENDING_ACTIVITY_STATE_STARTED,
      );
      if (running) return true;
    } catch {
      // child not started yet
    }
  }
  return false;
}

describe('farm under faults: nothing lost, nothing doubled, byte-identical results', () => {
  let farm: InProcessFarm;
  let reference: Buffer[];
  beforeAll(async () => {
    farm = await startFarm();
    const spec = testSpec({ runId: uniqueId('ref'), ...BASE });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    await farm.client.client.workflow.getHandle(spec.runId).result();
    reference = await shardTars(farm.client, spec);
    expect(reference).toHaveLength(SHARDS);
  });
  afterAll(async () => {
    await farm?.stop();
  });

  it('a worker SIGKILLed inside generate and then inside commit: a new worker finishes, same bytes', async () => {
    const prefix = `${uniqueId('crash')}-`;
    const client = await connectClient(prefix);
    const spec = testSpec({ runId: uniqueId('crash'), ...BASE });
    const slow = { SYNFARM_TEST_PART_DELAY_MS: '400' };
    try {
      let worker = spawnWorker(prefix, slow);
      await client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 2 });
      await waitUntil(
        'generate has stored a part',
        async () => (await stagedGenerateParts(client, spec)) >= 1,
        90_000,
      ).catch((err) => {
        throw new Error(
          `${err.message}\nworker output:\n${(worker as unknown as { output: string }).output}`,
        );
      });
      worker.kill('SIGKILL');
      await exited(worker);

      worker = spawnWorker(prefix, slow);
      await waitUntil('a commit is running', () => pendingActivityOf(client, spec, 'commit'), 90_000);
      worker.kill('SIGKILL');
      await exited(worker);

      worker = spawnWorker(prefix);
      const result = await client.client.workflow.getHandle(spec.runId).result();
      worker.kill('SIGTERM');
      await exited(worker);
      expect(result.samples).toBe(24);
      expect(await shardTars(client, spec)).toEqual(reference);
    } finally {
      await client.close();
    }
  }, 240_000);

  it('the Temporal server SIGKILLed mid-run and restarted on the same database: the run finishes', async () => {
    const slow = await startFarm({ testPartDelayMs: 300 });
    try {
      const spec = testSpec({ runId: uniqueId('lost'), ...BASE });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 1 });
      const store = slow.client.store(spec.output);
      await waitUntil(
        'a shard is committed',
        async () => (await store.head(runKeys(spec.runId).shardSidecar(0))) !== null,
      );
      // The kill must land on an unfinished run, or it proves nothing.
      expect(await slow.client.workflowState(spec.runId)).toBe('running');
      expect(await committedShards(slow.client, spec)).toBeLessThan(SHARDS);
      const pid = await signalServer(TEST_STACK_CONFIG, 'temporal', 'SIGKILL');
      expect(pid).toBeDefined();
      await waitUntil('the server is gone', async () => !isAlive(pid!), 10_000);
      await devUp(TEST_STACK_CONFIG);
      const result = await slow.client.client.workflow.getHandle(spec.runId).result();
      expect(result.samples).toBe(24);
      expect(await shardTars(slow.client, spec)).toEqual(reference);
    } finally {
      await slow.stop();
    }
  }, 180_000);

  it('a run cancelled half-way and resumed runs only the missing shards, and ends identical', async () => {
    const slow = await startFarm({ testPartDelayMs: 150 });
    try {
      const spec = testSpec({ runId: uniqueId('resume'), ...BASE });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 1 });
      const store = slow.client.store(spec.output);
      await waitUntil(
        'a shard is committed',
        async () => (await store.head(runKeys(spec.runId).shardSidecar(0))) !== null,
      );
      await slow.client.cancel(spec.runId);
      await slow.client.client.workflow
        .getHandle(spec.runId)
        .result()
        .catch(() => undefined);
      expect(await slow.client.workflowState(spec.runId)).toBe('cancelled');
      expect(await store.head(runKeys(spec.runId).success)).toBeNull();
      const committed = await committedShardSet(slow.client, spec);
      const missing = [...Array(SHARDS).keys()].filter((s) => !committed.has(s));
      expect(missing.length).toBeGreaterThan(0);

      const resumedAt = new Date();
      await slow.client.resume(spec.runId, { timeouts: TEST_TIMEOUTS });
      const result = await slow.client.client.workflow.getHandle(spec.runId).result();
      expect(result.samples).toBe(24);
      expect(await shardTars(slow.client, spec)).toEqual(reference);
      // Only the shards missing at the cancel ran again, each once.
      const ran = await shardExecutionsSince(slow.client, spec, resumedAt, missing.length);
      expect(ran.sort()).toEqual(missing.map((s) => `${spec.runId}/shard-${s}`));
    } finally {
      await slow.stop();
    }
  }, 180_000);

  it('a shard whose earlier execution still runs is started again only after it closes', async () => {
    const slow = await startFarm({ testPartDelayMs: 300 });
    try {
      const spec = testSpec({ runId: uniqueId('overlap'), ...BASE });
      const queues = taskQueues(slow.queuePrefix);
      await slow.client.store(spec.output).put(runKeys(spec.runId).spec, specToJson(spec));
      // A leftover execution of shard 0, as a terminated parent may leave behind for a moment.
      const leftover = await slow.client.client.workflow.start(shardWorkflow, {
        workflowId: `${spec.runId}/shard-0`,
        taskQueue: queues.workflows,
        args: [
          {
            outputUrl: spec.output,
            runId: spec.runId,
            shard: 0,
            queues,
            maxRounds: 3,
            timeouts: TEST_TIMEOUTS,
          },
        ],
      });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 3 });
      const result = await slow.client.client.workflow.getHandle(spec.runId).result();
      expect((await leftover.result()).alreadyCommitted).toBe(false);
      expect(result.shards).toBe(SHARDS);
      expect(result.samples).toBe(24);
      expect(await shardTars(slow.client, spec)).toEqual(reference);
    } finally {
      await slow.stop();
    }
  }, 120_000);

  it('pause holds new shards, the window can change, unpause lets the run finish', async () => {
    const slow = await startFarm({ testPartDelayMs: 150 });
    try {
      const spec = testSpec({ runId: uniqueId('pause'), ...BASE });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 1 });
      await slow.client.setPaused(spec.runId, true);
      await slow.client.setWindow(spec.runId, 3);
      const handle = slow.client.client.workflow.getHandle(spec.runId);
      await waitUntil('the paused run has drained', async () => {
        const p = await handle.query(progressQuery);
        return p.state === 'paused' && p.shards.running === 0;
      });
      const held = await handle.query(progressQuery);
      expect(held.window).toBe(3);
      expect(describeStatus(await slow.client.status(spec.runId))).toContain(
        '(running, paused: no shard starts until synfarm unpause)',
      );
      expect(held.shards.committed).toBeLessThan(SHARDS);
      await setTimeout(1500);
      expect((await handle.query(progressQuery)).shards.committed).toBe(held.shards.committed);
      await slow.client.setPaused(spec.runId, false);
      expect((await handle.result()).samples).toBe(24);
    } finally {
      await slow.stop();
    }
  }, 120_000);

  it('a worker stops gracefully on SIGTERM, and at once on a second signal', async () => {
    const prefix = `${uniqueId('sig')}-`;
    let worker = spawnWorker(prefix);
    await waitUntil(
      'the worker serves',
      async () => (worker as unknown as { output: string }).output.includes('worker serving'),
      60_000,
    );
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);

    worker = spawnWorker(prefix, { SYNFARM_TEST_PART_DELAY_MS: '5000' });
    const client = await connectClient(prefix);
    try {
      await waitUntil(
        'the worker serves',
        async () => (worker as unknown as { output: string }).output.includes('worker serving'),
        60_000,
      );
      const spec = testSpec({ runId: uniqueId('sig'), ...BASE });
      await client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 1 });
      await waitUntil('generate is running', () => pendingActivityOf(client, spec, 'generate'), 30_000);
      worker.kill('SIGTERM');
      await setTimeout(300);
      worker.kill('SIGTERM');
      expect(await exited(worker)).toBe(130);
      await client.cancel(spec.runId);
    } finally {
      await client.close();
    }
  }, 120_000);

  it('a shard cancelled on its own fails the run instead of letting it succeed short', async () => {
    const slow = await startFarm({ testPartDelayMs: 300 });
    try {
      const spec = testSpec({ runId: uniqueId('lone'), ...BASE });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 3 });
      await waitUntil('shard 1 is running', () => pendingActivityOf(slow.client, spec, 'generate'));
      await slow.client.client.workflow.getHandle(`${spec.runId}/shard-1`).cancel();
      const err = await slow.client.client.workflow
        .getHandle(spec.runId)
        .result()
        .catch((e) => e);
      expect(err.cause?.type).toBe('ShardsFailed');
      expect(err.cause?.message).toContain('1: cancelled');
      expect(await slow.client.store(spec.output).head(runKeys(spec.runId).success)).toBeNull();
    } finally {
      await slow.stop();
    }
  }, 120_000);

  it('the default pipeline (procedural, ensemble, filter, dedupe) cancelled and resumed: same tars, sidecars and index', async () => {
    const base = {
      target: 16,
      shardSize: 8,
      seed: 77,
      generator: { backend: 'procedural', batchSize: 4 },
      calibrator: { backend: 'ensemble' },
    };
    const snapshot = async (spec: Spec) => {
      const store = farm.client.store(spec.output);
      const keys = runKeys(spec.runId);
      const text = async (key: string) =>
        Buffer.from(await store.get(key))
          .toString('utf8')
          .split(spec.runId)
          .join('RUN');
      return {
        tars: await shardTars(farm.client, spec),
        sidecars: await Promise.all([0, 1].map((s) => text(keys.shardSidecar(s)))),
        manifest: await text(keys.manifest),
        wids: await text(keys.widsIndex),
      };
    };
    const undisturbed = testSpec({ runId: uniqueId('defref'), ...base });
    await farm.client.launch(undisturbed, { timeouts: TEST_TIMEOUTS, window: 1 });
    await farm.client.client.workflow.getHandle(undisturbed.runId).result();

    const spec = testSpec({ runId: uniqueId('defcut'), ...base });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 1 });
    const store = farm.client.store(spec.output);
    await waitUntil(
      'a shard is committed',
      async () => (await store.head(runKeys(spec.runId).shardSidecar(0))) !== null,
      120_000,
    );
    // The last shard may commit before the cancel lands: then there is nothing to cancel or resume.
    await farm.client.cancel(spec.runId).catch((e: Error) => {
      if (!/not running \(completed\)/.test(e.message)) throw e;
    });
    await farm.client.client.workflow
      .getHandle(spec.runId)
      .result()
      .catch(() => undefined);
    const { complete } = await farm.client.resume(spec.runId);
    if (!complete) await farm.client.client.workflow.getHandle(spec.runId).result();
    const resumed = await snapshot(spec);
    expect(resumed).toEqual(await snapshot(undisturbed));
    // Each sidecar's skin-tone counts describe its own shard: what was committed per planned tone
    // is what its tar holds, and every generated sample is counted once.
    for (const [s, tar] of resumed.tars.entries()) {
      const sidecar = parseSidecar(resumed.sidecars[s]!);
      const tones = [0, 0, 0, 0, 0, 0];
      for await (const sample of readSamples([tar]))
        tones[JSON.parse(Buffer.from(sample.json as Uint8Array).toString()).identity.skinTone - 1]! += 1;
      expect(sidecar.quality?.bySkinTone?.committed).toEqual(tones);
      const generated = sidecar.quality?.bySkinTone?.generated ?? [];
      expect(generated.reduce((a, b) => a + b, 0)).toBe(sidecar.quality?.generated);
    }
  }, 300_000);
});
