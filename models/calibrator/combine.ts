import { AFFECTNET_CLASSES } from '../../plan/expressions';
import type { SampleRequest } from '../../plan/request';
import { type AuEvidence, auEvidence, type Point } from './au-evidence';
import type { SampleFailure } from './decode';
import type { FoundFace } from './detect';
import { EXPRESSION_OUTPUTS, LANDMARK_POINTS } from './face-api-nets';
import type { FaceModelOutputs } from './infer';
import {
  FACE_API_EXPRESSIONS,
  FACE_API_TO_AFFECTNET,
  HUMAN_EMOTIONS,
  HUMAN_TO_AFFECTNET,
  toAffectNet,
} from './labels';
import { type CalibrationPolicy, softLabel } from './policy';
import type { Calibration, CalibrationImage } from './schema';

export type CalibratorHeader = Calibration['calibrator'];

export interface CalibrationItem {
  image: CalibrationImage;
  request: SampleRequest;
}

/** Row `f` of a flat [F, width] model output. */
function row(values: Float32Array, f: number, width: number): Float32Array {
  return values.subarray(f * width, (f + 1) * width);
}

/** Each voting model's probabilities of face `f`, on AffectNet's 8 classes. */
export function perModelProbabilities(outputs: FaceModelOutputs, f: number): Record<string, number[]> {
  const perModel: Record<string, number[]> = {};
  if (outputs.expression) {
    perModel['face-api-expression'] = toAffectNet(
      row(outputs.expression, f, EXPRESSION_OUTPUTS),
      FACE_API_EXPRESSIONS,
      FACE_API_TO_AFFECTNET,
    );
  }
  if (outputs.emotion) {
    perModel['human-emotion'] = toAffectNet(
      row(outputs.emotion, f, HUMAN_EMOTIONS.length),
      HUMAN_EMOTIONS,
      HUMAN_TO_AFFECTNET,
    );
  }
  return perModel;
}

/** Face `f`'s 68 landmarks in image pixels (the net gives them relative to the crop square). */
export function landmarkPoints(marks: Float32Array, f: number, square: FoundFace['square']): Point[] {
  const r = row(marks, f, 2 * LANDMARK_POINTS);
  return Array.from({ length: LANDMARK_POINTS }, (_, p) => ({
    x: square.x + (r[2 * p] ?? 0) * square.side,
    y: square.y + (r[2 * p + 1] ?? 0) * square.side,
  }));
}

/**
 * Stage 5: one sample's calibration from its face and the models' outputs for it: the per-model
 * votes, AU evidence from landmarks, and the policy's soft label.
 */
export function combine(
  item: CalibrationItem,
  header: CalibratorHeader,
  face: FoundFace,
  outputs: FaceModelOutputs,
  f: number,
  policy: CalibrationPolicy,
): Calibration {
  const perModel = perModelProbabilities(outputs, f);
  const evidence: AuEvidence | undefined = outputs.landmarks
    ? auEvidence(landmarkPoints(outputs.landmarks, f, face.square))
    : undefined;
  const label = softLabel(item.request.classIndex, perModel, evidence?.lipCornerAsymmetry ?? 0, policy);
  return {
    key: item.image.key,
    calibrator: header,
    intended: { classIndex: item.request.classIndex, className: item.request.className },
    models: roundAll(perModel),
    ensemble: round(label.ensemble),
    softLabel: round(label.softLabel),
    classIndex: label.classIndex,
    className: AFFECTNET_CLASSES[label.classIndex] ?? null,
    confidence: Math.round(label.confidence * 1e4) / 1e4,
    agrees: label.agrees,
    aus: {
      requested: item.request.aus,
      measured: evidence?.measured ?? null,
      lipCornerAsymmetry: evidence?.lipCornerAsymmetry ?? null,
      asymmetricSide: evidence?.asymmetricSide ?? null,
    },
    face: { box: face.box, score: face.score, count: face.count },
    error: null,
  };
}

/** A sample that got no label, with why. */
export function failedCalibration(
  item: CalibrationItem,
  header: CalibratorHeader,
  why: SampleFailure,
): Calibration {
  return {
    key: item.image.key,
    calibrator: header,
    intended: { classIndex: item.request.classIndex, className: item.request.className },
    models: {},
    ensemble: null,
    softLabel: null,
    classIndex: null,
    className: null,
    confidence: 0,
    agrees: false,
    aus: { requested: item.request.aus, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
    face: null,
    error: why,
  };
}

// Stored JSON stays readable and byte-stable across backends whose float noise differs past 1e-4.
function round(v: readonly number[]): number[] {
  return v.map((x) => Math.round(x * 1e4) / 1e4);
}
function roundAll(m: Record<string, number[]>): Record<string, number[]> {
  return Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v)]));
}
