export {
  type DecodedSample,
  type DecodeOptions,
  decodeCls,
  decodeImage,
  decodeJson,
  decodeSamples,
  imageBytes,
  type RawImage,
} from './decode';
export {
  ChecksumMismatchError,
  ConsumerError,
  type ConsumerErrorCode,
  ConsumerOptionError,
  MissingFieldError,
  ResumeMismatchError,
  RunNotFoundError,
  ShardChangedError,
  ShortShardError,
} from './errors';
export { inspectShard, type ShardInspection, type ShardSource } from './inspect';
export {
  decodeShardSet,
  type EpochPlan,
  type EpochPlanOptions,
  encodeShardSet,
  planEpoch,
  type Segment,
  type Topology,
} from './plan';
export {
  type ReaderState,
  ReaderStateSchema,
  type ReadRunOptions,
  RunReader,
  readRun,
} from './reader';
export {
  type CommittedShard,
  listCommittedShards,
  type OpenRunOptions,
  openRun,
  type RunHandle,
  refreshRun,
} from './run';
export type { ReadStats, RunSample } from './shard-reader';
export { hashWords, permutation } from './shuffle';
export {
  commitSidecar,
  syntheticImages,
  syntheticSamples,
  writeRunManifest,
  writeShardTar,
  writeSyntheticRun,
} from './synthetic';
export { type ShardUrlOptions, shardUrls, type UrlScheme, urlTemplate } from './urls';
