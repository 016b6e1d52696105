/**
 * Does the FER ensemble see what the procedural generator was asked to draw? 800 planned samples
 * (100 per AffectNet class, straight from the planner: seeded AUs, identities and prompts),
 * rendered by `procedural` and judged by the full ensemble on the wasm backend. Prints the face
 * detection rate and the FER accuracy of generated images (SynFER's Table 1 metric: calibrated
 * class == intended class, a missed face counting as a miss) per class and overall, plus what the
 * misses were read as.
 *
 * With --guided it then plans a second round of the same size (round 1: new identities and
 * seeds), renders it once as planned and once steered by the guidance computed from round 0
 * (guidance/), and prints both rounds' accuracy per class: the guidance loop's effect.
 *
 * Run: npx tsx scripts/measure-quality.ts [samples=800] [--json] [--dump labels.json] [--guided]
 */

import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { decide, thresholdsFromSpec } from '../filter/rules';
import { applyGuidance, computeGuidance } from '../guidance';
import { type Calibration, createEnsembleCalibrator } from '../models/calibrator';
import { createProceduralGenerator } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { createPlan } from '../plan/plan';
import type { SampleRequest } from '../plan/request';
import { resolveSpec } from '../spec';

export interface QualityMeasurement {
  samples: number;
  detectionRate: number;
  ferAccuracy: number;
  /** Accuracy over samples with a detected face only. */
  ferAccuracyDetected: number;
  perClass: {
    className: string;
    samples: number;
    detected: number;
    correct: number;
    /** What the ensemble called this class's samples (class name or `no-face`) -> count. */
    readAs: Record<string, number>;
  }[];
  seconds: { generate: number; calibrate: number };
}

function measureSpec(samples: number) {
  return resolveSpec({
    runId: 'measure-quality',
    target: samples,
    shardSize: samples,
    generator: { backend: 'procedural' },
    output: 'file:///tmp/synfarm-measure-quality',
  });
}

export async function measureQuality(
  samples = 800,
  batch = 32,
  onLabels?: (labels: Calibration[]) => void,
  planned?: SampleRequest[],
): Promise<QualityMeasurement> {
  const spec = measureSpec(samples);
  const requests = planned ?? createPlan(spec).planShard(0, 0);
  const generator = createProceduralGenerator();
  const calibrator = await createEnsembleCalibrator({
    backend: { backend: 'wasm' },
    imageSize: { width: spec.image.size, height: spec.image.size },
  });
  const perClass = AFFECTNET_CLASSES.map((className) => ({
    className,
    samples: 0,
    detected: 0,
    correct: 0,
    readAs: {} as Record<string, number>,
  }));
  const seconds = { generate: 0, calibrate: 0 };
  try {
    for (let start = 0; start < requests.length; start += batch) {
      const part = requests.slice(start, start + batch);
      let t0 = performance.now();
      const images = await generator.generate(part, spec.image);
      seconds.generate += (performance.now() - t0) / 1000;
      t0 = performance.now();
      const labels = await calibrator.calibrate(images, part);
      seconds.calibrate += (performance.now() - t0) / 1000;
      onLabels?.(labels);
      for (const label of labels) {
        const row = perClass[label.intended.classIndex]!;
        row.samples++;
        if (label.face) row.detected++;
        if (label.classIndex === label.intended.classIndex) row.correct++;
        const as = label.className ?? label.error?.code ?? 'none';
        row.readAs[as] = (row.readAs[as] ?? 0) + 1;
      }
    }
  } finally {
    calibrator.dispose();
  }
  const total = perClass.reduce((n, r) => n + r.samples, 0);
  const detected = perClass.reduce((n, r) => n + r.detected, 0);
  const correct = perClass.reduce((n, r) => n + r.correct, 0);
  return {
    samples: total,
    detectionRate: detected / total,
    ferAccuracy: correct / total,
    ferAccuracyDetected: correct / Math.max(1, detected),
    perClass,
    seconds,
  };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function formatMeasurement(m: QualityMeasurement): string {
  const lines = ['class      samples  detected  FER acc  read as'];
  for (const r of m.perClass) {
    const readAs = Object.entries(r.readAs)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k}:${v}`)
      .join(' ');
    lines.push(
      `${r.className.padEnd(10)} ${String(r.samples).padStart(7)}  ${pct(r.detected / Math.max(1, r.samples)).padStart(8)}  ${pct(r.correct / Math.max(1, r.samples)).padStart(7)}  ${readAs}`,
    );
  }
  lines.push(
    `overall: ${m.samples} samples, face detected ${pct(m.detectionRate)}, FER accuracy ${pct(m.ferAccuracy)} ` +
      `(${pct(m.ferAccuracyDetected)} of detected); generate ${m.seconds.generate.toFixed(1)} s, calibrate ${m.seconds.calibrate.toFixed(1)} s`,
  );
  return lines.join('\n');
}

/**
 * Round 0 as measureQuality does, guidance from its labels (filter rules without image checks),
 * then round 1 rendered as planned and as guided. Returns [round 0, round 1 planned, round 1 guided].
 */
export async function measureGuidance(samples = 800): Promise<QualityMeasurement[]> {
  const spec = measureSpec(samples);
  const plan = createPlan(spec);
  const thresholds = thresholdsFromSpec(spec);
  const round0: Calibration[] = [];
  const first = await measureQuality(samples, 32, (l) => round0.push(...l));
  const guidance = computeGuidance(
    0,
    round0.map((calibration) => ({ calibration, keep: decide(calibration, thresholds).keep })),
    undefined,
    spec.filter,
  );
  console.error(JSON.stringify(guidance, null, 1));
  const counts = Object.fromEntries(spec.classes.map((c) => [c.name, samples / spec.classes.length]));
  const round1 = plan.planRound(0, 1, { classes: counts });
  const planned = await measureQuality(samples, 32, undefined, round1);
  const guided = await measureQuality(
    samples,
    32,
    undefined,
    applyGuidance(round1, guidance).map((g) => g.request),
  );
  return [first, planned, guided];
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv.includes('--guided')) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 800);
  const [r0, planned, guided] = await measureGuidance(n);
  console.log(`round 0\n${formatMeasurement(r0!)}\n\nround 1 as planned\n${formatMeasurement(planned!)}`);
  console.log(`\nround 1 guided by round 0\n${formatMeasurement(guided!)}`);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const n = Number(process.argv.slice(2).find((a) => /^\d+$/.test(a)) ?? 800);
  const dumpAt = process.argv.indexOf('--dump');
  const dump: Calibration[] = [];
  const m = await measureQuality(n, 32, (labels) => dump.push(...labels));
  if (dumpAt > 0 && process.argv[dumpAt + 1]) writeFileSync(process.argv[dumpAt + 1]!, JSON.stringify(dump));
  console.log(process.argv.includes('--json') ? JSON.stringify(m, null, 2) : formatMeasurement(m));
}
