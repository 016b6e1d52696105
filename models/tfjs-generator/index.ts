export {
  DEFAULT_INPUT_NAMES,
  type Descriptor,
  DescriptorSchema,
  defaultDescriptor,
  type ModelSignature,
  parseDescriptor,
  type ResolvedDescriptor,
  resolveDescriptor,
} from './descriptor';
export { TfjsGeneratorError, type TfjsGeneratorErrorCode } from './errors';
export {
  createTfjsGenerator,
  MAX_SIZE,
  MIN_SIZE,
  type TfjsGeneratorDeps,
  type TfjsGeneratorSettings,
} from './generator';
export { hashTextEmbedding, noiseSeed, noiseValues } from './inputs';
export type { OpenStore } from './location';
