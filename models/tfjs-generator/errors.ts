export type TfjsGeneratorErrorCode =
  | 'missing-model'
  | 'descriptor-mismatch'
  | 'invalid-size'
  | 'invalid-option'
  | 'model-load-failed';

/**
 * A problem with a user's TF.js generator that no retry can fix: `field` names the spec field to
 * change (e.g. `generator.modelUrl`), so the message points at the exact line of the spec.
 */
export class TfjsGeneratorError extends Error {
  override readonly name = 'TfjsGeneratorError';
  readonly retryable = false;
  constructor(
    readonly code: TfjsGeneratorErrorCode,
    readonly field: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field}: ${message}`, options);
  }
}
