export {
  AU_SCALE,
  type AuEvidence,
  auEvidence,
  type FaceGeometry,
  faceGeometry,
  type Point,
} from './au-evidence';
export {
  createEnsembleCalibrator,
  type EnsembleCalibrator,
  type EnsembleCalibratorOptions,
  EnsembleCalibratorOptionsSchema,
  EXPRESSION_MODEL_IDS,
  type ExpressionModelId,
} from './ensemble';
export { ModelLoadError, type SampleErrorCode } from './errors';
export {
  FACE_API_EXPRESSIONS,
  FACE_API_TO_AFFECTNET,
  HUMAN_EMOTIONS,
  HUMAN_TO_AFFECTNET,
  toAffectNet,
} from './labels';
export { CalibrationInputError } from './match';
export { createPassthroughCalibrator } from './passthrough';
export {
  type CalibrationPolicy,
  type CalibrationPolicyInput,
  CalibrationPolicySchema,
  softLabel,
  temperatureScale,
  weightedAverage,
} from './policy';
export {
  type Calibration,
  type CalibrationImage,
  CalibrationSchema,
  type Calibrator,
  FaceBoxSchema,
} from './schema';
