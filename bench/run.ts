/**
 * `npm run bench [-- name ...]`: every benchmark, or the named ones, each reporting its figures
 * and, where the issue asks for one, a ratio against a baseline measured in the same command.
 * Speed targets live here, never in timed tests. The stack ones use `synfarm dev up`'s stack.
 */
import { benchCalibrator } from './calibrator.bench';
import { benchCommitCost } from './commit-cost.bench';
import { type Figures, formatFigures } from './compare';
import { benchConsumer, benchConsumerS3 } from './consumer.bench';
import { benchFanout } from './fanout.bench';
import { benchFanOut, benchFarmOverhead } from './farm.bench';
import { benchPlan } from './plan.bench';
import { benchPool } from './pool.bench';
import { benchProcedural } from './procedural.bench';
import { benchS3Upload } from './s3-upload.bench';
import { benchStages } from './stages.bench';
import { benchTfjsGenerator } from './tfjs-generator.bench';
import { benchPack } from './webdataset.bench';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const BENCHES: Record<string, () => Promise<Figures>> = {
  plan: benchPlan,
  pack: benchPack,
  's3-upload': benchS3Upload,
  procedural: benchProcedural,
  'tfjs-generator': benchTfjsGenerator,
  calibrator: benchCalibrator,
  stages: benchStages,
  consumer: benchConsumer,
  'consumer-s3': benchConsumerS3,
  'farm-overhead': benchFarmOverhead,
  'fan-out': () => benchFanOut(1439, 16),
  'commit-cost': () => benchCommitCost(),
  fanout: () => benchFanout(),
  pool: () => benchPool(),
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(
    `unknown benchmark(s): ${unknown.join(', ')}; choose from ${Object.keys(BENCHES).join(', ')}`,
  );
  process.exit(2);
}
const results: Record<string, Figures> = {};
for (const name of wanted.length > 0 ? wanted : Object.keys(BENCHES)) {
  process.stderr.write(`bench ${name} ...\n`);
  results[name] = await BENCHES[name]!();
  process.stdout.write(formatFigures(name, results[name]!));
}
process.stdout.write(`${JSON.stringify(results)}\n`);
process.exit(0);
