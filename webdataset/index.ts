export { digestingStream, StreamDigest } from './digest';
export { SampleError, type SampleErrorCode, TarFormatError, type TarFormatErrorCode } from './errors';
export {
  type GroupByKeysOptions,
  groupByKeys,
  readSamples,
  type Sample,
  type SampleMember,
  sampleField,
  sampleMembers,
  splitMemberName,
} from './samples';
export { BLOCK_SIZE, RECORD_SIZE, USTAR_NAME_BYTES } from './tar-header';
export { type ReadTarOptions, readTar, type TarMember } from './tar-reader';
export {
  type TarWriterOptions,
  type TarWriterOptionsInput,
  TarWriterOptionsSchema,
  writeTar,
} from './tar-writer';
