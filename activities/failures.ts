import { ApplicationFailure } from '@temporalio/activity';

/**
 * Error codes that mean the input is wrong (spec, model file, backend, a damaged run object):
 * retrying cannot help, so they become non-retryable failures of type `InvalidInput` that the
 * workflow surfaces at once. Credentials that are missing or expired are not here: a credential
 * provider that timed out or a session token being refreshed heal by themselves, so those are
 * retried with the activity's backoff (wrong keys, `invalid-credentials`, do not heal).
 */
const INPUT_ERROR_CODES = new Set([
  'invalid-spec',
  'unknown-backend',
  'model-load-failed',
  'missing-model',
  'invalid-request',
  'invalid-size',
  'invalid-au',
  'backend-unavailable',
  'descriptor-mismatch',
  'unsupported-store-url',
  'bucket-not-found',
  'invalid-credentials',
  'access-denied',
  'damaged-run-object',
  'run-not-launched',
  'invalid-option',
  'http-rejected',
  'GENERATOR_INVALID_INPUT',
  'tfjs-backend-unavailable',
  'tfjs-backend-invalid',
]);

export function isInputError(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'string' && INPUT_ERROR_CODES.has(code);
}

/** Runs `fn`, turning input errors into non-retryable failures with the user-facing message. */
export async function failFastOnBadInput<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isInputError(err)) {
      throw ApplicationFailure.nonRetryable((err as Error).message, 'InvalidInput', {
        code: (err as { code: string }).code,
      });
    }
    throw err;
  }
}
