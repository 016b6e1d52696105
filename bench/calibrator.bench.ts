import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import { decide, type FilterThresholds, thresholdsFromSpec } from '../filter/rules';
import { type Calibration, type Calibrator, createEnsembleCalibrator } from '../models/calibrator';
import { createProceduralGenerator } from '../models/procedural';
import { initTfjsBackend, isBackendInstalled, type TfjsBackendName } from '../models/tfjs-backend';
import { createPlan } from '../plan/plan';
import type { SampleRequest } from '../plan/request';
import { resolveSpec } from '../spec';
import { createBaselineCalibrator } from './calibrator-baseline';

/** Procedural faces of the default spec (224 px JPEG, all 8 classes), planned like a real shard. */
const IMAGES = Number(process.env.SYNFARM_BENCH_CALIBRATOR_IMAGES ?? 64);
const REPS = 3;
/**
 * The pure-JS cpu backend runs at well under 1 image per CPU-second: it races on this many of the
 * images so the bench ends in minutes, and says so in its figures.
 */
const CPU_BACKEND_IMAGES = 8;
/** TF.js backends to race on (comma-separated env to narrow it while iterating). */
const BACKENDS = (process.env.SYNFARM_BENCH_CALIBRATOR_BACKENDS ?? 'wasm,cpu,node').split(
  ',',
) as TfjsBackendName[];

interface Side {
  name: string;
  make: () => Promise<Calibrator>;
}

interface Timing {
  wall: number[];
  cpu: number[];
  labels?: Calibration[];
}

const median = (v: readonly number[]) => {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const r1 = (x: number) => Math.round(x * 10) / 10;

async function fixtures() {
  const spec = resolveSpec({
    runId: 'bench-calibrator',
    target: IMAGES,
    shardSize: IMAGES,
    output: 'file:///tmp/x',
  });
  const requests = createPlan(spec).planShard(0, 0);
  const images = await createProceduralGenerator().generate(requests, spec.image);
  return { spec, requests, images };
}

/**
 * Sides take turns, REPS times, so drifting load on the shared machine biases none of them.
 * Figures: images/s of wall time, and images per CPU-second of this process (wasm, cpu and
 * onnxruntime each run inference on one thread, so that is images/s per core).
 */
async function race(
  sides: Side[],
  images: { key: string; bytes: Uint8Array }[],
  requests: SampleRequest[],
): Promise<Map<string, Timing>> {
  const made = await Promise.all(sides.map(async (s) => ({ ...s, cal: await s.make() })));
  const timings = new Map<string, Timing>(sides.map((s) => [s.name, { wall: [], cpu: [] }]));
  try {
    for (const s of made) await s.cal.calibrate(images.slice(0, 2), requests.slice(0, 2)); // warm-up
    for (let r = 0; r < REPS; r++) {
      for (const s of made) {
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const labels = await s.cal.calibrate(images, requests);
        const wall = (performance.now() - t0) / 1000;
        const used = process.cpuUsage(cpu0);
        const t = timings.get(s.name)!;
        t.wall.push(images.length / wall);
        t.cpu.push(images.length / ((used.user + used.system) / 1e6));
        t.labels = labels;
      }
    }
  } finally {
    for (const s of made) s.cal.dispose();
  }
  return timings;
}

/** Same class, same face found, same filter decision (image checks aside), on the same images. */
function agreement(a: Calibration[], b: Calibration[], t: FilterThresholds) {
  let label = 0;
  let face = 0;
  let keep = 0;
  a.forEach((x, i) => {
    const y = b[i]!;
    if (x.className === y.className) label++;
    if ((x.face === null) === (y.face === null)) face++;
    const dx = decide(x, t);
    const dy = decide(y, t);
    if (dx.keep === dy.keep && dx.reasons.join() === dy.reasons.join()) keep++;
  });
  return { label: label / a.length, face: face / a.length, filter: keep / a.length };
}

/**
 * The ensemble (detector + both FER models + 68-point landmarks) on 224 px procedural faces,
 * old path (bench/calibrator-baseline.ts) against the current one, per TF.js backend that can
 * run here, and the current one on onnxruntime (at the default detector input and at the old
 * path's 320 px); plus each new side's agreement with the old labels on the same images (class,
 * face found, filter decision without the image checks).
 * SYNFARM_BENCH_CALIBRATOR_IMAGES / _BACKENDS narrow it while iterating.
 */
export async function benchCalibrator(): Promise<Record<string, number>> {
  const previous = sharp.concurrency();
  sharp.concurrency(1); // decode on this thread's core too, so per-core figures are honest
  const { spec, requests, images } = await fixtures();
  const imageSize = { width: spec.image.size, height: spec.image.size };
  const thresholds = thresholdsFromSpec(spec);
  const out: Record<string, number> = { 'calibrator.images': images.length, 'calibrator.reps': REPS };
  try {
    for (const backend of BACKENDS) {
      if (!isBackendInstalled(backend)) {
        process.stdout.write(
          `calibrator.${backend}: not installable here (no prebuilt libtensorflow can be fetched)\n`,
        );
        continue;
      }
      await initTfjsBackend({ backend });
      const sides: Side[] = [
        { name: 'old', make: createBaselineCalibrator },
        { name: 'new', make: () => createEnsembleCalibrator({ imageSize, runtime: 'tfjs' }) },
      ];
      // onnxruntime runs the networks whatever the TF.js backend; its sides run once, beside wasm:
      // the default, and the detector at the old path's 320 px, so the runtime's agreement with
      // the old labels is shown apart from what the detector input changes.
      if (backend === 'wasm') {
        sides.push(
          { name: 'onnx', make: () => createEnsembleCalibrator({ imageSize, runtime: 'onnx' }) },
          {
            name: 'onnx_detector320',
            make: () =>
              createEnsembleCalibrator({ imageSize, runtime: 'onnx', detector: { inputSize: 320 } }),
          },
        );
      }
      const n = backend === 'cpu' ? Math.min(CPU_BACKEND_IMAGES, images.length) : images.length;
      out[`calibrator.${backend}.images`] = n;
      const timings = await race(sides, images.slice(0, n), requests.slice(0, n));
      const old = timings.get('old')!;
      for (const [name, t] of timings) {
        const onnx = name.startsWith('onnx');
        const prefix = onnx ? `calibrator.${name}` : `calibrator.${backend}.${name}`;
        out[`${prefix}.images_per_s`] = r1(median(t.wall));
        out[`${prefix}.images_per_cpu_s`] = r1(median(t.cpu));
        if (name === 'old') continue;
        const over = onnx ? `calibrator.${name}_over_${backend}_old` : `calibrator.${backend}.new_over_old`;
        out[`${over}.wall`] = Math.round((median(t.wall) / median(old.wall)) * 100) / 100;
        out[`${over}.cpu`] = Math.round((median(t.cpu) / median(old.cpu)) * 100) / 100;
        const agree = agreement(old.labels!, t.labels!, thresholds);
        const a = onnx ? `calibrator.${name}_vs_${backend}_old.agreement` : `calibrator.${backend}.agreement`;
        out[`${a}.label`] = Math.round(agree.label * 1000) / 1000;
        out[`${a}.face_found`] = Math.round(agree.face * 1000) / 1000;
        out[`${a}.filter_decision`] = Math.round(agree.filter * 1000) / 1000;
      }
      const detector320 = timings.get('onnx_detector320');
      if (detector320) {
        const onnxDefault = timings.get('onnx')!;
        out['calibrator.onnx_over_onnx_detector320.cpu'] =
          Math.round((median(onnxDefault.cpu) / median(detector320.cpu)) * 100) / 100;
      }
      out[`calibrator.${backend}.tensors_after`] = tf.memory().numTensors;
    }
  } finally {
    sharp.concurrency(previous);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(JSON.stringify(await benchCalibrator(), null, 2));
}
