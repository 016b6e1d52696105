/**
 * Errors an object store reports to users. Each message is one line that says what was wrong and
 * what to do; none ever carries a secret or a raw SDK dump (the SDK error is summarised in `detail`).
 */
export type StorageErrorCode =
  | 'object-not-found'
  | 'bucket-not-found'
  | 'access-denied'
  | 'invalid-credentials'
  | 'missing-credentials'
  | 'expired-credentials'
  | 'store-unreachable'
  | 'unsupported-url'
  | 'invalid-key'
  | 'invalid-range'
  | 'key-conflict'
  | 'invalid-option'
  | 'request-failed';

export abstract class StorageError extends Error {
  abstract readonly code: StorageErrorCode;
}

export class ObjectNotFoundError extends StorageError {
  override readonly name = 'ObjectNotFoundError';
  readonly code = 'object-not-found';
  constructor(
    readonly key: string,
    /** The store's base URL. */
    readonly store: string,
  ) {
    super(`No object at key "${key}" in ${store}: check the key, or whether it was ever written or deleted.`);
  }
}

export class BucketNotFoundError extends StorageError {
  override readonly name = 'BucketNotFoundError';
  readonly code = 'bucket-not-found';
  constructor(
    readonly bucket: string,
    readonly endpoint: string,
  ) {
    super(`Bucket "${bucket}" does not exist at ${endpoint}: create it, or fix the bucket name or endpoint.`);
  }
}

export class AccessDeniedError extends StorageError {
  override readonly name: string = 'AccessDeniedError';
  readonly code: 'access-denied' | 'invalid-credentials' | 'missing-credentials' | 'expired-credentials' =
    'access-denied';
  constructor(
    readonly bucket: string,
    readonly endpoint: string,
    message = `S3 denied access to bucket "${bucket}" at ${endpoint}: the credentials are valid but lack ` +
      'permission; grant s3:GetObject/PutObject/ListBucket/DeleteObject on it.',
  ) {
    super(message);
  }
}

/** The server does not accept the access key or its signature (wrong secret, unknown or expired key). */
export class InvalidCredentialsError extends AccessDeniedError {
  override readonly name = 'InvalidCredentialsError';
  override readonly code = 'invalid-credentials';
  constructor(bucket: string, endpoint: string) {
    super(
      bucket,
      endpoint,
      `S3 rejected the credentials for bucket "${bucket}" at endpoint ${endpoint}: ` +
        'check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or your profile.',
    );
  }
}

/** Temporary credentials (a session token) expired: retried, since the provider chain renews them. */
export class ExpiredCredentialsError extends AccessDeniedError {
  override readonly name = 'ExpiredCredentialsError';
  override readonly code = 'expired-credentials';
  constructor(bucket: string, endpoint: string) {
    super(
      bucket,
      endpoint,
      `S3 said the session credentials for bucket "${bucket}" at ${endpoint} expired: ` +
        'they are refreshed and the request retried; if this persists, renew the session (e.g. aws sso login).',
    );
  }
}

/** The default AWS credential chain found nothing (no env vars, profile, SSO or instance role). */
export class MissingCredentialsError extends AccessDeniedError {
  override readonly name = 'MissingCredentialsError';
  override readonly code = 'missing-credentials';
  constructor(bucket: string, endpoint: string) {
    super(
      bucket,
      endpoint,
      `No AWS credentials found for bucket "${bucket}" at ${endpoint}: ` +
        'set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE.',
    );
  }
}

export class StoreUnreachableError extends StorageError {
  override readonly name = 'StoreUnreachableError';
  readonly code = 'store-unreachable';
  constructor(
    readonly endpoint: string,
    /** The network error code, e.g. ECONNREFUSED. */
    readonly reason: string,
  ) {
    super(
      `Cannot reach the object store at ${endpoint} (${reason}): start the server ` +
        '(`synfarm dev up` for the local one) or fix the endpoint.',
    );
  }
}

export class UnsupportedStoreUrlError extends StorageError {
  override readonly name = 'UnsupportedStoreUrlError';
  readonly code = 'unsupported-url';
  constructor(
    /** The URL as given, with any userinfo or signature removed. */
    readonly url: string,
    detail?: string,
  ) {
    super(
      `Unsupported store URL "${url}"${detail ? ` (${detail})` : ''}: ` +
        'use s3://bucket/prefix or file:///absolute/path.',
    );
  }
}

export class InvalidKeyError extends StorageError {
  override readonly name = 'InvalidKeyError';
  readonly code = 'invalid-key';
  constructor(
    readonly key: string,
    reason: string,
  ) {
    super(`Invalid object key ${JSON.stringify(key)}: ${reason}.`);
  }
}

export class InvalidRangeError extends StorageError {
  override readonly name = 'InvalidRangeError';
  readonly code = 'invalid-range';
  constructor(
    readonly key: string,
    readonly range: { start: number; end?: number },
    reason: string,
  ) {
    super(`Cannot read bytes ${range.start}-${range.end ?? ''} of "${key}": ${reason}.`);
  }
}

/** A key that is also a folder of other keys: posix-backed stores (ours, versitygw) cannot hold both. */
export class KeyConflictError extends StorageError {
  override readonly name = 'KeyConflictError';
  readonly code = 'key-conflict';
  constructor(
    readonly key: string,
    readonly store: string,
  ) {
    super(
      `Cannot write "${key}" in ${store}: it is a folder of other keys (or one of its folders is an ` +
        'object); a key cannot be both an object and a prefix ending in "/" here.',
    );
  }
}

export class StoreOptionError extends StorageError {
  override readonly name = 'StoreOptionError';
  readonly code = 'invalid-option';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`Invalid store option "${field}": ${reason}.`);
  }
}

/** Anything the store refused that has no better type; `sdkCode`/`status` say what the server said. */
export class StoreRequestError extends StorageError {
  override readonly name = 'StoreRequestError';
  readonly code = 'request-failed';
  constructor(
    readonly operation: string,
    readonly store: string,
    readonly key: string | undefined,
    readonly sdkCode: string,
    readonly status: number | undefined,
    hint: string,
  ) {
    super(
      `S3 ${operation}${key === undefined ? '' : ` of "${key}"`} in ${store} failed: ${sdkCode}` +
        `${status === undefined ? '' : ` (HTTP ${status})`}${hint ? `: ${hint}` : ''}.`,
    );
  }
}
