export { applyGuidance, type GuidedRequest, guidanceHint } from './apply';
export { computeGuidance, confusingAus, type RoundSample } from './compute';
export {
  type ClassGuidance,
  ClassGuidanceSchema,
  type Guidance,
  type GuidanceApplied,
  GuidanceSchema,
  type GuidanceSettings,
} from './schema';
