export { GeneratorInputError } from './errors';
export {
  createProceduralGenerator,
  identityFromSeed,
  PROCEDURAL_VERSION,
  type ProceduralOptions,
  prototypeAus,
  type RenderOneInput,
  renderOne,
  resolveIdentity,
} from './generator';
export { parsePrompt } from './prompt';
export { MAX_SIZE, MIN_SIZE } from './validate';
