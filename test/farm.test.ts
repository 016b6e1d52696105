import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPlan } from '../plan';
import { runKeys } from '../run/layout';
import { ManifestSchema } from '../run/manifest';
import { parseSidecar } from '../run/sidecar';
import { readSamples } from '../webdataset';
import { buildWorkflowBundle } from '../workers/bundle';
import { progressQuery } from '../workflows/api';
import { datasetWorkflow } from '../workflows/dataset';
import { taskQueues } from '../workflows/task-queues';
import { type InProcessFarm, startFarm, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';
import { waitUntil } from './support/wait';

describe('farm: a run through the real Temporal server and S3', () => {
  let farm: InProcessFarm;
  beforeAll(async () => {
    farm = await startFarm();
  });
  afterAll(async () => {
    await farm?.stop();
  });

  it('commits exactly the planned samples: unique keys, exact counts, sidecar checksums match', async () => {
    const spec = testSpec({ runId: uniqueId('farm') });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.shards).toBe(3);
    expect(result.samples).toBe(24);

    const store = farm.client.store(spec.output);
    const keys = runKeys(spec.runId);
    const allKeys = new Set<string>();
    for (let shard = 0; shard < 3; shard++) {
      const sidecar = parseSidecar(await store.get(keys.shardSidecar(shard)));
      const tar = await store.get(keys.shardTar(shard));
      const { createHash } = await import('node:crypto');
      expect(createHash('sha256').update(tar).digest('hex')).toBe(sidecar.sha256);
      expect(tar.length).toBe(sidecar.bytes);
      let n = 0;
      for await (const sample of readSamples([tar], { name: keys.shardTar(shard) })) {
        expect(sample.__key__.startsWith(String(shard).padStart(6, '0'))).toBe(true);
        expect(Object.keys(sample).sort()).toEqual(['__key__', '__url__', 'cls', 'jpg', 'json']);
        allKeys.add(sample.__key__);
        n++;
      }
      expect(n).toBe(8);
      expect(sidecar.samples).toBe(8);
    }
    expect(allKeys.size).toBe(24);
    const manifest = ManifestSchema.parse(JSON.parse(Buffer.from(await store.get(keys.manifest)).toString()));
    expect(manifest.state).toBe('complete');
    expect(manifest.totals.samples).toBe(24);
    expect(await store.head(keys.success)).not.toBeNull();
    const report = JSON.parse(Buffer.from(await store.get(keys.report)).toString());
    expect(report.runId).toBe(spec.runId);
    expect(report.committedSamples).toBe(24);
    // By planned skin tone: nothing was rejected, so what was committed is what the plan drew.
    const plan = createPlan(spec);
    const planned = [0, 1, 2].flatMap((s) => plan.planShard(s)).map((r) => r.identity.skinTone);
    const byTone = [1, 2, 3, 4, 5, 6].map((t) => planned.filter((p) => p === t).length);
    expect(report.bySkinTone).toEqual({
      tones: [1, 2, 3, 4, 5, 6],
      generated: byTone,
      committed: byTone,
      ferAccuracy: byTone.map((n) => (n > 0 ? 1 : null)),
    });
    const staging: string[] = [];
    for await (const o of store.list(keys.stagingPrefix)) staging.push(o.key);
    expect(staging).toEqual([]);
  });

  it('makes up rejected samples in deficit rounds, keeping each shard full and stratified', async () => {
    const spec = testSpec({ runId: uniqueId('deficit'), filter: { testRejectFraction: 0.3, maxRounds: 3 } });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.samples).toBe(24);
    expect(result.shortfall).toBe(0);
    expect(result.rejectsByReason['load-test']).toBeGreaterThan(0);
    const store = farm.client.store(spec.output);
    const keys = runKeys(spec.runId);
    const rounds: number[] = [];
    for (let shard = 0; shard < 3; shard++) {
      const sidecar = parseSidecar(await store.get(keys.shardSidecar(shard)));
      rounds.push(sidecar.rounds);
      expect(sidecar.samples).toBe(8);
      // planned class counts per shard are filled exactly, whatever the rejects
      const intended: number[] = [];
      for await (const sample of readSamples([await store.get(keys.shardTar(shard))])) {
        const json = JSON.parse(Buffer.from(sample.json as Uint8Array).toString());
        intended.push(json.intended.classIndex);
        expect(json.round === 0 || json.index >= 8).toBe(true);
      }
      expect(intended.sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
    expect(Math.max(...rounds)).toBeGreaterThan(1);
  });

  it('records a shortfall honestly when the round limit is reached', async () => {
    const spec = testSpec({ runId: uniqueId('short'), filter: { testRejectFraction: 0.5, maxRounds: 0 } });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.shortfall).toBeGreaterThan(0);
    expect(result.samples + result.shortfall).toBe(24);
    const manifest = ManifestSchema.parse(
      JSON.parse(
        Buffer.from(await farm.client.store(spec.output).get(runKeys(spec.runId).manifest)).toString(),
      ),
    );
    expect(manifest.totals.shortfall).toBe(result.shortfall);
    expect(manifest.totals.samples).toBe(result.samples);
    // ...and per class, in the manifest totals, the report and status.
    const perClass = manifest.totals.classShortfall;
    expect(perClass.reduce((a, b) => a + b, 0)).toBe(result.shortfall);
    const report = JSON.parse(
      Buffer.from(await farm.client.store(spec.output).get(runKeys(spec.runId).report)).toString(),
    );
    expect(report.classShortfall).toEqual(perClass);
    expect(report.classRequested.reduce((a: number, b: number) => a + b, 0)).toBe(24);
    const status = await farm.client.status(spec.runId);
    expect(Object.values(status.classShortfall).reduce((a, b) => a + b, 0)).toBe(result.shortfall);
  });

  it('continues as new when history grows, without losing or doubling a shard', async () => {
    // The test stack lowers limit.historyCount.suggestContinueAsNew to 200 events.
    const spec = testSpec({
      runId: uniqueId('can'),
      target: 120,
      shardSize: 2,
      generator: { backend: 'testpattern', batchSize: 2 },
    });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 8 });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.continuedAsNew).toBeGreaterThan(0);
    expect(result.shards).toBe(60);
    expect(result.samples).toBe(120);
    const keys = new Set<string>();
    const store = farm.client.store(spec.output);
    for (let shard = 0; shard < 60; shard++) {
      for await (const sample of readSamples([await store.get(runKeys(spec.runId).shardTar(shard))]))
        keys.add(sample.__key__);
    }
    expect(keys.size).toBe(120);
    // A shard run twice would rewrite the same bytes, so count executions in Temporal instead:
    // every shard workflow id exactly once, across all runs of the continued-as-new chain.
    const executions = new Map<string, number>();
    await waitUntil('visibility lists all 60 shard executions', async () => {
      executions.clear();
      for await (const wf of farm.client.client.workflow.list({ query: `WorkflowType = 'shardWorkflow'` }))
        if (wf.workflowId.startsWith(`${spec.runId}/`))
          executions.set(wf.workflowId, (executions.get(wf.workflowId) ?? 0) + 1);
      return executions.size >= 60;
    });
    expect(executions.size).toBe(60);
    expect([...executions.values()].filter((n) => n !== 1)).toEqual([]);
  }, 180_000);

  it('refuses to launch a run id that exists with a different spec, and says so', async () => {
    const runId = uniqueId('dup');
    const spec = testSpec({ runId });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    await farm.client.client.workflow.getHandle(runId).result();
    const err = await farm.client.launch(testSpec({ runId, seed: 99 })).catch((e) => e);
    expect(err.code).toBe('run-exists-with-other-spec');
    expect(err.message).toContain(runId);
    expect(err.message).toContain('different spec');
    // Resuming or launching the complete run again says so and starts nothing (the finished
    // execution is still the last one), and there is nothing to cancel.
    const finished = (await farm.client.client.workflow.getHandle(runId).describe()).runId;
    const complete = { shards: spec.shardCount };
    expect(await farm.client.resume(runId)).toEqual({ complete });
    expect(await farm.client.launch(spec)).toEqual({ runId, complete });
    expect((await farm.client.client.workflow.getHandle(runId).describe()).runId).toBe(finished);
    const cancel = await farm.client.cancel(runId).catch((e) => e);
    expect(cancel.message).toMatch(/is not running \(completed\): nothing to cancel/);
  });

  it('a run whose spec.json is invalid fails at once as non-retryable, not stuck in retries', async () => {
    const spec = testSpec({ runId: uniqueId('badspec') });
    await farm.client
      .store(spec.output)
      .put(runKeys(spec.runId).spec, JSON.stringify({ ...spec, shardSize: -1 }));
    // The client refuses it before starting anything...
    const refused = await farm.client.resume(spec.runId, { output: spec.output }).catch((e) => e);
    expect(refused.code).toBe('invalid-spec');
    // ...and a workflow started without that check fails on its first activity, once.
    const queues = taskQueues(farm.queuePrefix);
    const started = Date.now();
    const handle = await farm.client.client.workflow.start(datasetWorkflow, {
      workflowId: spec.runId,
      taskQueue: queues.workflows,
      args: [{ outputUrl: spec.output, runId: spec.runId, queues, window: 2, timeouts: TEST_TIMEOUTS }],
    });
    const err = await handle.result().catch((e) => e);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(err.cause?.cause?.type).toBe('InvalidInput');
    expect(err.cause?.cause?.message).toContain('shardSize');
  });

  it('runs from a workflow bundle built ahead of time, as production workers do', async () => {
    const { mkdtemp } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const bundle = path.join(await mkdtemp(path.join(tmpdir(), 'synfarm-bundle-')), 'workflows.js');
    expect((await buildWorkflowBundle(bundle)).bytes).toBeGreaterThan(10_000);
    const bundled = await startFarm({ workflowBundlePath: bundle });
    try {
      const spec = testSpec({ runId: uniqueId('bundle'), target: 8 });
      await bundled.client.launch(spec, { timeouts: TEST_TIMEOUTS });
      const result = await bundled.client.client.workflow.getHandle(spec.runId).result();
      expect(result.samples).toBe(8);
    } finally {
      await bundled.stop();
    }
  });

  it('a missing model file stops the whole run at once, naming the spec field, without retries', async () => {
    const spec = testSpec({
      runId: uniqueId('nomodel'),
      target: 64,
      shardSize: 8,
      generator: { backend: 'tfjs', modelUrl: 'file:///nonexistent/synfarm/model.json' },
    });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 2 });
    const err = await farm.client.client.workflow
      .getHandle(spec.runId)
      .result()
      .catch((e) => e);
    expect(err.cause?.type).toBe('InvalidInput');
    expect(err.cause?.message).toContain('generator.modelUrl');
    const status = await farm.client.status(spec.runId);
    expect(status.committed.shards).toBe(0);
    // the window was 2: the run stopped instead of trying all 8 shards
    const started: string[] = [];
    for await (const wf of farm.client.client.workflow.list({ query: `WorkflowType = 'shardWorkflow'` })) {
      if (wf.workflowId.startsWith(`${spec.runId}/`)) started.push(wf.workflowId);
    }
    expect(started.length).toBeLessThanOrEqual(2);
  });

  it('a run cancelled while it is starting children closes as cancelled, not waiting on a phantom slot', async () => {
    const slow = await startFarm({ testPartDelayMs: 2000 });
    try {
      const spec = testSpec({ runId: uniqueId('cstart'), target: 40, shardSize: 1 });
      await slow.client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 40 });
      const handle = slow.client.client.workflow.getHandle(spec.runId);
      // The window starts 40 children one after another: cancel while the first few are starting.
      await waitUntil(
        'a child has started',
        async () => (await handle.query(progressQuery)).shards.running >= 1,
      );
      await slow.client.cancel(spec.runId);
      await handle.result().catch(() => undefined);
      expect(await slow.client.workflowState(spec.runId)).toBe('cancelled');
    } finally {
      await slow.stop();
    }
  }, 120_000);
});
