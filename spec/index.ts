export { canonicalJson, specDigest } from './digest';
export { SpecError, type SpecErrorCode, type SpecIssue } from './errors';
export { loadSpec } from './load';
export { type OutputLocation, parseOutputUrl } from './output-url';
export {
  formatPath,
  type ParseOptions,
  parseResolvedSpec,
  parseSpec,
  resolveSpec,
  specToJson,
} from './parse';
export * from './schema';
export { parseTarget } from './target';
