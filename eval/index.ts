export { type BlazeFace, type JudgeBox, loadBlazeFace } from './blazeface';
export { type FaceMesh, loadFaceMesh, meshCornerLift } from './facemesh';
export { measureGuidance } from './guidance';
export { createHeldOutJudge, type HeldOutJudge, type JudgeReading } from './held-out-judge';
export {
  type ClassFigures,
  formatMeasurement,
  formatView,
  measureQuality,
  QUALITY_VIEWS,
  type QualityMeasurement,
  type QualityOptions,
  type QualityView,
  qualitySpec,
  tuneReading,
  type ViewFigures,
  viewOf,
  weakestClass,
} from './quality';
export { EVAL_MODELS, type EvalModel, modelsWithRole, TUNE_FER_MODELS } from './split';
