import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createCalibrate } from '../activities/calibrate';
import { createCommit } from '../activities/commit';
import type { ActivityDeps } from '../activities/deps';
import { createFilter } from '../activities/filter';
import { createGenerate } from '../activities/generate';
import { createRunContexts } from '../activities/run-context';
import { createEnsembleCalibrator } from '../models/calibrator';
import { createProceduralGenerator } from '../models/procedural';
import { createPlan } from '../plan/plan';
import { resolveSpec, specToJson } from '../spec';
import { openStore } from '../storage';
import { inActivity } from '../test/support/in-activity';

const SAMPLES = 64;

/**
 * One 64-sample shard through the real stage activities (procedural generator, full FER
 * ensemble as a worker runs it: networks on onnxruntime where it loads, inputs prepared on TF.js
 * wasm; filter with image measurements and dedupe, commit), in-process on a file:// store:
 * seconds per stage and each stage's share of the shard's wall time, plus the calibrate stage's
 * images/s, named by what ran the networks (one thread each, so per core).
 */
export async function benchStages(): Promise<Record<string, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-bench-stages-'));
  const output = pathToFileURL(dir).href;
  try {
    const spec = resolveSpec({
      runId: 'bench-stages',
      target: SAMPLES,
      shardSize: SAMPLES,
      generator: { backend: 'procedural', batchSize: 16 },
      // One round only, so every stage runs once over the same 64 samples.
      filter: { maxRounds: 0 },
      output,
    });
    const store = openStore(output);
    await store.put(`${spec.runId}/spec.json`, specToJson(spec));
    const generator = createProceduralGenerator();
    const calibrator = await createEnsembleCalibrator({
      backend: { backend: 'wasm' },
      imageSize: { width: spec.image.size, height: spec.image.size },
    });
    const deps: ActivityDeps = {
      openStore: () => store,
      models: { generator: async () => generator, calibrator: async () => calibrator },
    };
    const contexts = createRunContexts(deps);
    const ref = { outputUrl: output, runId: spec.runId, shard: 0 };
    const stages: Record<string, () => Promise<unknown>> = {
      generate: () => createGenerate(deps, contexts)({ ...ref, round: 0 }),
      calibrate: () => createCalibrate(deps, contexts)({ ...ref, round: 0 }),
      filter: () => createFilter(contexts)({ ...ref, round: 0 }),
      commit: () => createCommit(deps, contexts)(ref),
    };
    // Warm the calibrator's kernels outside the timed run.
    const warmup = createPlan({ ...spec, runId: 'warmup' })
      .planShard(0, 0)
      .slice(0, 4);
    await calibrator.calibrate(await generator.generate(warmup, spec.image), warmup);
    const seconds: Record<string, number> = {};
    for (const [name, run] of Object.entries(stages)) {
      const t0 = performance.now();
      await inActivity(run);
      seconds[name] = (performance.now() - t0) / 1000;
    }
    calibrator.dispose();
    const total = Object.values(seconds).reduce((a, b) => a + b, 0);
    const out: Record<string, number> = {
      'stages.samples': SAMPLES,
      'stages.shard_seconds': round(total, 2),
      [`stages.calibrator.${calibrator.backend.name}.images_per_s_per_core`]: round(
        SAMPLES / seconds.calibrate!,
        1,
      ),
    };
    for (const [name, s] of Object.entries(seconds)) {
      out[`stages.${name}.seconds`] = round(s, 2);
      out[`stages.${name}.share`] = round(s / total, 3);
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchStages(), null, 2));
}
