import {
  AccessDeniedError,
  BucketNotFoundError,
  ExpiredCredentialsError,
  InvalidCredentialsError,
  InvalidRangeError,
  KeyConflictError,
  MissingCredentialsError,
  ObjectNotFoundError,
  StorageError,
  StoreRequestError,
  StoreUnreachableError,
} from './errors';

export interface S3ErrorContext {
  bucket: string;
  /** The endpoint as users configured it (or AWS's), for messages. */
  endpoint: string;
  /** The store's base URL. */
  store: string;
  operation: string;
  key?: string;
  range?: { start: number; end?: number };
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'InvalidClientTokenId',
  'XAdminUserNotFound', // versitygw's answer to an unknown access key
]);

/** Temporary credentials that ran out: the provider chain refreshes them, so a retry helps. */
const EXPIRED_CODES = new Set(['ExpiredToken', 'TokenRefreshRequired', 'RequestExpired']);

/** What an SDK error says, without its request/response dump. */
export function sdkErrorSummary(error: unknown): { code: string; status?: number; message: string } {
  const e = error as {
    name?: string;
    Code?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  return {
    code: e.Code ?? e.code ?? e.name ?? 'Error',
    status: e.$metadata?.httpStatusCode,
    message: String(e.message ?? '')
      .split('\n')[0]!
      .slice(0, 200),
  };
}

/**
 * The one place that turns an AWS SDK (or network) error into a typed storage error. Abort errors
 * and storage errors pass through unchanged.
 */
export function mapS3Error(error: unknown, ctx: S3ErrorContext): Error {
  if (error instanceof StorageError) return error;
  if (error instanceof Error && error.name === 'AbortError') return error;
  const { code, status, message } = sdkErrorSummary(error);
  const network = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  if (network && NETWORK_CODES.has(network)) return new StoreUnreachableError(ctx.endpoint, network);
  if (code === 'TimeoutError') return new StoreUnreachableError(ctx.endpoint, 'timeout');
  if (code === 'CredentialsProviderError') return new MissingCredentialsError(ctx.bucket, ctx.endpoint);
  if (EXPIRED_CODES.has(code)) return new ExpiredCredentialsError(ctx.bucket, ctx.endpoint);
  if (CREDENTIAL_CODES.has(code)) return new InvalidCredentialsError(ctx.bucket, ctx.endpoint);
  if (code === 'AccessDenied' || code === 'AllAccessDisabled') {
    return new AccessDeniedError(ctx.bucket, ctx.endpoint);
  }
  if (code === 'NoSuchBucket') return new BucketNotFoundError(ctx.bucket, ctx.endpoint);
  if ((code === 'NoSuchKey' || code === 'NotFound') && ctx.key !== undefined) {
    return new ObjectNotFoundError(ctx.key, ctx.store);
  }
  if (code === 'InvalidRange' && ctx.key !== undefined && ctx.range) {
    return new InvalidRangeError(ctx.key, ctx.range, 'the start lies beyond the end of the object');
  }
  if ((code === 'ExistingObjectIsDirectory' || code === 'ObjectExistsAsDirectory') && ctx.key !== undefined) {
    return new KeyConflictError(ctx.key, ctx.store);
  }
  const hint =
    code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed'
      ? 'the bucket lives in another region; set the region option or AWS_REGION'
      : message;
  return new StoreRequestError(ctx.operation, ctx.store, ctx.key, code, status, hint);
}

/** HEAD answers carry no body, so a 403/404 there does not say which problem it is. */
export function isBodylessHeadError(error: unknown): 403 | 404 | undefined {
  const { code, status } = sdkErrorSummary(error);
  if (status === 404 && (code === 'NotFound' || code === 'NoSuchKey')) return 404;
  if (status === 403 && (code === 'Forbidden' || code === 'Unknown' || code === 'UnknownError')) return 403;
  return undefined;
}
