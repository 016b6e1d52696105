/**
 * A quick read on whether real photo-trained models see the procedural faces: face-api's tiny
 * face detector (detection rate, score) and its expression net (per-class hit rate), over
 * `classes x identities` renders at 224 px. Not a test: the calibrator owns the real check.
 *
 * Run: npx tsx scripts/eval-procedural.ts [identities=10] [intensity=3.5]
 *
 * face-api's Node builds require the full `@tensorflow/tfjs` bundle (or tfjs-node), which this
 * project does not install; its `node-wasm` build is loaded here with `@tensorflow/tfjs` resolved
 * to tfjs-core + tfjs-converter + the CPU backend, and the chained tensor methods face-api calls
 * (`t.as3D()`, `t.toFloat()`...) installed on the Tensor prototype.
 */
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { identityFromSeed, prototypeAus } from '../models/procedural';
import { renderRequest } from '../models/procedural/generator';
import { AFFECTNET_CLASSES, type ExpressionClass } from '../plan/expressions';
import { SampleRequestSchema } from '../plan/request';

const require = createRequire(import.meta.url);

type Tf = typeof import('@tensorflow/tfjs-core');

// biome-ignore lint/suspicious/noExplicitAny: face-api ships no types for the wasm build's namespace
type FaceApi = any;

function loadFaceApi(): { faceapi: FaceApi; tf: Tf } {
  const core: Tf = require('@tensorflow/tfjs-core');
  require('@tensorflow/tfjs-backend-cpu');
  const converter = require('@tensorflow/tfjs-converter');
  const proto = core.Tensor.prototype as unknown as Record<string, unknown>;
  for (const [name, fn] of Object.entries(core)) {
    if (typeof fn === 'function' && /^[a-z]/.test(name) && !(name in proto)) {
      proto[name] = function (this: unknown, ...args: unknown[]) {
        return (fn as (...a: unknown[]) => unknown)(this, ...args);
      };
    }
  }
  const reshape = (t: unknown, shape: number[]) => core.reshape(t as never, shape);
  proto.as1D = function (this: { size: number }) {
    return reshape(this, [this.size]);
  };
  proto.as2D = function (this: unknown, r: number, c: number) {
    return reshape(this, [r, c]);
  };
  proto.as3D = function (this: unknown, r: number, c: number, d: number) {
    return reshape(this, [r, c, d]);
  };
  proto.as4D = function (this: unknown, r: number, c: number, d: number, e: number) {
    return reshape(this, [r, c, d, e]);
  };
  proto.toFloat = function (this: unknown) {
    return core.cast(this as never, 'float32');
  };
  const shim = { ...core, ...converter };
  const mod = Module as unknown as { _load: (req: string, ...rest: unknown[]) => unknown };
  const original = mod._load;
  mod._load = function (this: unknown, req: string, ...rest: unknown[]) {
    if (req === '@tensorflow/tfjs') return shim;
    return original.call(this, req, ...rest);
  };
  const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
  return { faceapi, tf: core };
}

/** face-api's label for each AffectNet class; contempt has none, so it can never be a hit here. */
const FACEAPI_LABEL: Record<ExpressionClass, string | undefined> = {
  neutral: 'neutral',
  happy: 'happy',
  sad: 'sad',
  surprise: 'surprised',
  fear: 'fearful',
  disgust: 'disgusted',
  anger: 'angry',
  contempt: undefined,
};

async function main(): Promise<void> {
  const identities = Number(process.argv[2] ?? 10);
  const intensity = Number(process.argv[3] ?? 3.5);
  const { faceapi, tf } = loadFaceApi();
  await tf.setBackend('cpu');
  await tf.ready();
  const modelDir = join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  await faceapi.nets.tinyFaceDetector.loadFromDisk(modelDir);
  await faceapi.nets.faceExpressionNet.loadFromDisk(modelDir);
  const detector = new faceapi.TinyFaceDetectorOptions({ inputSize: 224, scoreThreshold: 0.3 });

  let detected = 0;
  let hits = 0;
  let total = 0;
  let scoreSum = 0;
  console.log('class      detect  hit   top predictions');
  for (const [classIndex, className] of AFFECTNET_CLASSES.entries()) {
    let cDetected = 0;
    let cHits = 0;
    const tops: Record<string, number> = {};
    for (let i = 0; i < identities; i++) {
      const seed = 1000 + i * 7919 + classIndex * 104729;
      const request = SampleRequestSchema.parse({
        key: `000000_${String(classIndex * 1000 + i).padStart(6, '0')}`,
        shard: 0,
        index: i,
        round: 0,
        classIndex,
        className,
        aus: prototypeAus(className, intensity),
        auSide:
          className === 'contempt' ? { AU12: i % 2 ? 'left' : 'right', AU14: i % 2 ? 'left' : 'right' } : {},
        identity: identityFromSeed(seed),
        prompt: '',
        generatorSeed: seed,
      });
      const img = await renderRequest(request, { size: 224, format: 'jpg', quality: 90 });
      const { data, info } = await sharp(img.bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const input = tf.tensor3d(new Uint8Array(data), [info.height, info.width, 3], 'int32');
      const found = await faceapi.detectAllFaces(input, detector).withFaceExpressions();
      input.dispose();
      total++;
      const best = found.sort(
        (a: { detection: { score: number } }, b: { detection: { score: number } }) =>
          b.detection.score - a.detection.score,
      )[0];
      if (!best) {
        tops['(no face)'] = (tops['(no face)'] ?? 0) + 1;
        continue;
      }
      cDetected++;
      scoreSum += best.detection.score;
      const [label] = Object.entries(best.expressions as Record<string, number>).sort(
        (a, b) => b[1] - a[1],
      )[0] ?? [''];
      tops[label] = (tops[label] ?? 0) + 1;
      if (label === FACEAPI_LABEL[className]) cHits++;
    }
    detected += cDetected;
    hits += cHits;
    const top = Object.entries(tops)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    console.log(
      `${className.padEnd(10)} ${String(cDetected).padStart(3)}/${identities}  ${String(cHits).padStart(3)}   ${top}`,
    );
  }
  console.log(
    `detection ${((100 * detected) / total).toFixed(1)}% (mean score ${(scoreSum / Math.max(1, detected)).toFixed(2)}), ` +
      `expression accuracy ${((100 * hits) / total).toFixed(1)}% over ${AFFECTNET_CLASSES.length} classes ` +
      `(${((100 * hits) / Math.max(1, detected)).toFixed(1)}% of detected)`,
  );
}

await main();
