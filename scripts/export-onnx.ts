/**
 * Writes the calibrator's networks as ONNX files, exactly as runtime 'onnx' builds them in memory
 * at load (models/calibrator/onnx/): detector, face-api expression, 68-point landmarks and
 * human-models emotion, from the installed packages' weights. For inspection with other ONNX
 * tools (e.g. python -c "import onnx; onnx.checker.check_model('detector.onnx')"); the farm
 * itself never reads these files, so they cannot drift from the weights it runs.
 *
 * Run: node --import tsx scripts/export-onnx.ts [out-dir=./onnx-export]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { loadEnsembleModels } from '../models/calibrator/load';
import { encodeModel } from '../models/calibrator/onnx/proto';
import { ensembleGraphs } from '../models/calibrator/onnx/runtime';
import { initTfjsBackend } from '../models/tfjs-backend';

const outDir = path.resolve(process.argv[2] ?? 'onnx-export');
await initTfjsBackend({ backend: 'cpu' });
const loaded = await loadEnsembleModels({
  models: ['face-api-expression', 'human-emotion'],
  landmarks: true,
});
try {
  await mkdir(outDir, { recursive: true });
  for (const [name, graph] of Object.entries(await ensembleGraphs(loaded.models))) {
    const file = path.join(outDir, `${name}.onnx`);
    const bytes = encodeModel(graph, 'synfarm');
    await writeFile(file, bytes);
    console.log(`${file}  ${(bytes.length / 1024).toFixed(0)} KiB  ${graph.nodes.length} nodes`);
  }
} finally {
  loaded.dispose();
}
