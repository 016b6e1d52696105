export * from './errors';
export { FileObjectStore } from './file-store';
export { assertValidKey, assertValidPrefix, compareKeys } from './keys';
export type { ObjectInfo, ObjectStore } from './object-store';
export { openStore, type StoreOptions, StoreOptionsSchema } from './open';
export { literalSecretsInUrl, redact, redactText, redactUrl } from './redact';
export { mapS3Error } from './s3-errors';
export { S3ObjectStore, type S3StoreConfig } from './s3-store';
