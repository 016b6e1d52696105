export { AU_PROMPT_WORDS, auPhrase, auPromptWords, INTENSITY_WORDS, intensityWord } from './au-words';
export { HttpGeneratorError, type HttpGeneratorErrorCode } from './errors';
export {
  createHttpGenerator,
  type HttpGeneratorOptions,
  type HttpGeneratorSettings,
  MAX_SIZE,
  MIN_SIZE,
} from './generator';
export {
  A1111RequestSchema,
  A1111ResponseSchema,
  type A1111Settings,
  a1111Prompt,
  DEFAULT_A1111,
  DEFAULT_NEGATIVE_PROMPT,
  SYNFARM_PROTOCOL,
  SynfarmGenerateRequestSchema,
  SynfarmGenerateResponseSchema,
} from './protocol';
export { DEFAULT_RETRY, type RetryPolicy } from './transport';
