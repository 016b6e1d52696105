export type { GeneratedImage, GenerateOptions, Generator } from './generator';
export * from './procedural';
export { createTestPatternGenerator, TESTPATTERN_VERSION, testPatternPixels } from './testpattern';
