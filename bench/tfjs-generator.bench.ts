import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { initTfjsBackend } from '../models/tfjs-backend';
import { createTfjsGenerator } from '../models/tfjs-generator';
import { AFFECTNET_CLASSES, EMFACS_PROTOTYPES } from '../plan/expressions';
import type { SampleRequest } from '../plan/request';
import { fixtureRequest, saveTinyGeneratorModel } from '../test/support/fixtures';

function requests(n: number): SampleRequest[] {
  return Array.from({ length: n }, (_, i) => {
    const classIndex = i % AFFECTNET_CLASSES.length;
    const className = AFFECTNET_CLASSES[classIndex]!;
    return fixtureRequest({
      index: i,
      classIndex,
      aus: Object.fromEntries(EMFACS_PROTOTYPES[className].map((au) => [au, 3])),
      identity: { lighting: { direction: 'front', strength: 0.7, warmth: 'neutral' } },
      generatorSeed: (i * 2654435761) >>> 0,
    });
  });
}

/**
 * Throughput of the tfjs generator backend on the tiny test model (so the figure is the backend's
 * overhead: input building, one batched predict, sharp resize + JPEG), wasm then cpu in one run.
 */
export async function benchTfjsGenerator(): Promise<Record<string, number>> {
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-bench-tfjs-gen-'));
  const out: Record<string, number> = {};
  try {
    // Building the model allocates tensors, so some backend must be active first.
    await initTfjsBackend({ backend: 'cpu' });
    await saveTinyGeneratorModel(dir);
    const reqs = requests(480);
    const options = { size: 112, format: 'jpg', quality: 90 } as const;
    for (const backend of ['wasm', 'cpu'] as const) {
      await initTfjsBackend({ backend });
      const gen = await createTfjsGenerator({
        backend: 'tfjs',
        batchSize: 16,
        modelUrl: path.join(dir, 'model.json'),
      });
      await gen.generate(reqs.slice(0, 32), options);
      const t0 = performance.now();
      // Batches of 32 as the generate activity stages them; the backend splits them by batchSize.
      for (let i = 0; i < reqs.length; i += 32) await gen.generate(reqs.slice(i, i + 32), options);
      out[`tfjs_generator_${backend}_112px_jpg_img_per_s`] =
        Math.round(((reqs.length * 1000) / (performance.now() - t0)) * 10) / 10;
      await gen.dispose?.();
    }
    return out;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchTfjsGenerator());
}
