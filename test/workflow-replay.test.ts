import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { installQuietRuntime } from '../workers/runtime';
import { WORKFLOWS_PATH } from '../workers/worker';

/**
 * Histories recorded from real runs of the workflows (scripts/record-histories.ts), replayed
 * against the workflow code of this checkout. A change that would break a run already in flight
 * (a reordered activity, a new timer, a removed signal) fails here as a determinism error;
 * ship such a change behind `patched()` (README, "Changing a workflow during a long run").
 */
const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');
const EXPECTED = ['dataset-cancelled', 'dataset-continued-as-new', 'dataset-resumed', 'shard-deficit-rounds'];

async function fixtures() {
  const names = (await readdir(FIXTURES)).filter((f) => f.endsWith('.json')).sort();
  return Promise.all(
    names.map(async (file) => ({
      workflowId: path.basename(file, '.json'),
      history: historyFromJSON(JSON.parse(await readFile(path.join(FIXTURES, file), 'utf8'))),
    })),
  );
}

describe('workflow replay: recorded histories still replay on the current workflow code', () => {
  it('has the four recorded scenarios: continue-as-new, deficit rounds, cancel, resume', async () => {
    const all = await fixtures();
    expect(all.map((f) => f.workflowId)).toEqual(EXPECTED);
    const types = all.map(
      (f) => f.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name,
    );
    expect(types).toEqual(['datasetWorkflow', 'datasetWorkflow', 'datasetWorkflow', 'shardWorkflow']);
    const last = (name: string) => all.find((f) => f.workflowId === name)?.history.events?.at(-1);
    expect(last('dataset-continued-as-new')?.workflowExecutionContinuedAsNewEventAttributes).toBeTruthy();
    expect(last('dataset-cancelled')?.workflowExecutionCanceledEventAttributes).toBeTruthy();
    expect(last('dataset-resumed')?.workflowExecutionCompletedEventAttributes).toBeTruthy();
    const rounds = all
      .find((f) => f.workflowId === 'shard-deficit-rounds')
      ?.history.events?.filter(
        (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'generate',
      );
    expect(rounds?.length).toBeGreaterThan(1);
  });

  it('replays every history without a determinism error', async () => {
    installQuietRuntime();
    const results = [];
    for await (const result of Worker.runReplayHistories(
      { workflowsPath: WORKFLOWS_PATH },
      await fixtures(),
    )) {
      results.push({ workflowId: result.workflowId, error: result.error?.message });
    }
    expect(results).toEqual(EXPECTED.map((workflowId) => ({ workflowId, error: undefined })));
  }, 120_000);
});
