import {
  type Calibration,
  CalibrationPolicySchema,
  createEnsembleCalibrator,
  softLabel,
} from '../models/calibrator';
import { createProceduralGenerator } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { createPlan } from '../plan/plan';
import { skinToneLegend } from '../plan/prompt';
import { type SampleRequest, SKIN_TONES, skinToneIndex } from '../plan/request';
import { resolveSpec, type Spec } from '../spec';
import { createHeldOutJudge, type JudgeReading } from './held-out-judge';
import { TUNE_FER_MODELS } from './split';

/**
 * The views a quality run reports. Each names its face detector and its FER reading:
 * - tune: tiny detector + face-api-expression + 68-landmark contempt (role `tune` only);
 * - ensemble: the farm's production calibrator as it labels samples (includes human-emotion);
 * - held-out: BlazeFace + human-emotion + FaceMesh contempt (role `judge` only).
 */
export const QUALITY_VIEWS = ['tune', 'ensemble', 'held-out'] as const;
export type QualityView = (typeof QUALITY_VIEWS)[number];

export interface ClassFigures {
  className: string;
  samples: number;
  faceFound: number;
  correct: number;
  /** What this view called the class's samples (class name or `no-face`) -> count. */
  readAs: Record<string, number>;
}

/** Figures for the samples of one planned skin tone (1 very fair .. 6 dark brown), all classes. */
export interface SkinToneFigures {
  skinTone: number;
  samples: number;
  correct: number;
}

export interface ViewFigures {
  view: QualityView;
  detector: string;
  samples: number;
  faceFound: number;
  correct: number;
  perClass: ClassFigures[];
  /**
   * The same reading split by the identity's skin tone: a renderer whose expressions read less
   * well on darker skin makes labels, and models trained on them, worse for those faces.
   */
  perSkinTone: SkinToneFigures[];
}

export interface QualityMeasurement {
  samples: number;
  views: ViewFigures[];
  seconds: { generate: number; calibrate: number; judge: number };
}

export interface QualityOptions {
  samples?: number;
  /** Only the tune view: the judge models are not even loaded (for tuning sessions). */
  tuneOnly?: boolean;
  batch?: number;
  /** Requests to render instead of round 0 of the default plan (the guidance measurement). */
  planned?: SampleRequest[];
  onCalibrations?: (labels: Calibration[]) => void;
}

export function qualitySpec(samples: number): Spec {
  return resolveSpec({
    runId: 'measure-quality',
    target: samples,
    shardSize: samples,
    generator: { backend: 'procedural' },
    output: 'file:///tmp/synfarm-measure-quality',
  });
}

const DETECTORS: Record<QualityView, string> = {
  tune: 'tiny-face-detector',
  ensemble: 'tiny-face-detector',
  'held-out': 'blazeface',
};

function emptyView(view: QualityView): ViewFigures {
  return {
    view,
    detector: DETECTORS[view],
    samples: 0,
    faceFound: 0,
    correct: 0,
    perClass: AFFECTNET_CLASSES.map((className) => ({
      className,
      samples: 0,
      faceFound: 0,
      correct: 0,
      readAs: {},
    })),
    perSkinTone: SKIN_TONES.map((skinTone) => ({ skinTone, samples: 0, correct: 0 })),
  };
}

function count(v: ViewFigures, request: SampleRequest, read: number | null): void {
  const intended = request.classIndex;
  const tone = v.perSkinTone[skinToneIndex(request.identity.skinTone)]!;
  tone.samples++;
  if (read === intended) tone.correct++;
  const row = v.perClass[intended]!;
  const as = read === null ? 'no-face' : (AFFECTNET_CLASSES[read] ?? 'none');
  for (const r of [row, v]) {
    r.samples++;
    if (read !== null) r.faceFound++;
    if (read === intended) r.correct++;
  }
  row.readAs[as] = (row.readAs[as] ?? 0) + 1;
}

const farmPolicy = CalibrationPolicySchema.parse({});

/** The tune view's reading of a farm calibration: tune FER models + landmark contempt only. */
export function tuneReading(c: Calibration): number | null {
  if (!c.face) return null;
  const perModel = Object.fromEntries(
    TUNE_FER_MODELS.filter((id) => c.models[id]).map((id) => [id, c.models[id]!]),
  );
  if (Object.keys(perModel).length === 0) return null;
  return softLabel(c.intended.classIndex, perModel, c.aus.lipCornerAsymmetry ?? 0, farmPolicy).classIndex;
}

/**
 * Renders `samples` planned requests (100 per class at 800) with `procedural` and reads them in
 * every view, on the wasm backend. FER accuracy is SynFER's Table 1 metric: the view's class ==
 * the intended class, a missed face counting as a miss.
 */
export async function measureQuality(options: QualityOptions = {}): Promise<QualityMeasurement> {
  const samples = options.samples ?? 800;
  const batch = options.batch ?? 32;
  const spec = qualitySpec(samples);
  const requests = options.planned ?? createPlan(spec).planShard(0, 0);
  const generator = createProceduralGenerator();
  const calibrator = await createEnsembleCalibrator({
    backend: { backend: 'wasm' },
    imageSize: { width: spec.image.size, height: spec.image.size },
    ...(options.tuneOnly ? { models: [...TUNE_FER_MODELS] as ['face-api-expression'] } : {}),
  });
  const judge = options.tuneOnly ? undefined : await createHeldOutJudge();
  const views = (options.tuneOnly ? (['tune'] as const) : QUALITY_VIEWS).map(emptyView);
  const seconds = { generate: 0, calibrate: 0, judge: 0 };
  try {
    for (let start = 0; start < requests.length; start += batch) {
      const part = requests.slice(start, start + batch);
      let t0 = performance.now();
      const images = await generator.generate(part, spec.image);
      seconds.generate += (performance.now() - t0) / 1000;
      t0 = performance.now();
      const labels = await calibrator.calibrate(images, part);
      seconds.calibrate += (performance.now() - t0) / 1000;
      options.onCalibrations?.(labels);
      t0 = performance.now();
      const judged: JudgeReading[] = judge ? await judge.judge(images.map((i) => i.bytes)) : [];
      seconds.judge += (performance.now() - t0) / 1000;
      labels.forEach((label, k) => {
        const request = part[k]!;
        for (const v of views) {
          if (v.view === 'tune') count(v, request, tuneReading(label));
          else if (v.view === 'ensemble') count(v, request, label.face ? label.classIndex : null);
          else count(v, request, judged[k]?.classIndex ?? null);
        }
      });
    }
  } finally {
    calibrator.dispose();
    judge?.dispose();
  }
  return { samples: requests.length, views, seconds };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rate = (n: number, d: number) => pct(n / Math.max(1, d));

const VIEW_TITLES: Record<QualityView, string> = {
  tune: 'TUNE models (tiny detector, face-api expression, 68 landmarks)',
  ensemble: "FULL ENSEMBLE (the farm's calibrator: tune models + held-out human-emotion)",
  'held-out': 'HELD-OUT judges (BlazeFace, human-emotion, FaceMesh): never tuned against',
};

/** The class with the lowest FER accuracy among those with samples. */
export function weakestClass(v: ViewFigures): ClassFigures {
  const rows = v.perClass.filter((r) => r.samples > 0);
  return rows.reduce((a, b) => (b.correct / b.samples < a.correct / a.samples ? b : a));
}

export function formatView(v: ViewFigures): string {
  const lines = [VIEW_TITLES[v.view], `class      samples  face (${v.detector})  FER acc  read as`];
  for (const r of v.perClass.filter((row) => row.samples > 0)) {
    const readAs = Object.entries(r.readAs)
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k}:${n}`)
      .join(' ');
    lines.push(
      `${r.className.padEnd(10)} ${String(r.samples).padStart(7)}  ${rate(r.faceFound, r.samples).padStart(8 + v.detector.length)}  ${rate(r.correct, r.samples).padStart(7)}  ${readAs}`,
    );
  }
  const weakest = weakestClass(v);
  lines.push(
    `overall: face found ${rate(v.faceFound, v.samples)}, FER accuracy ${rate(v.correct, v.samples)} ` +
      `(${rate(v.correct, v.faceFound)} of found), weakest ${weakest.className} ${rate(weakest.correct, weakest.samples)}`,
  );
  const tones = v.perSkinTone.filter((t) => t.samples > 0);
  lines.push(
    `FER accuracy by skin tone (${skinToneLegend()}): ${tones.map((t) => `${t.skinTone}: ${rate(t.correct, t.samples)} of ${t.samples}`).join(', ')}`,
  );
  return lines.join('\n');
}

export function formatMeasurement(m: QualityMeasurement): string {
  const s = m.seconds;
  return [
    ...m.views.map(formatView),
    `${m.samples} samples; generate ${s.generate.toFixed(1)} s, calibrate ${s.calibrate.toFixed(1)} s, judge ${s.judge.toFixed(1)} s`,
  ].join('\n\n');
}

export function viewOf(m: QualityMeasurement, view: QualityView): ViewFigures {
  const v = m.views.find((x) => x.view === view);
  if (!v) throw new Error(`view ${view} was not measured`);
  return v;
}
