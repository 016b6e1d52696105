export type HttpGeneratorErrorCode =
  /** The server answered 4xx: the request itself is wrong; retrying cannot help. */
  | 'http-rejected'
  /** 5xx or connection failures outlasted every retry. */
  | 'http-unavailable'
  /** No complete answer within generator.timeoutMs. */
  | 'http-timeout'
  /** The server answered 2xx with something that is not the protocol's response. */
  | 'http-bad-response'
  /** generator.url refers to a `${NAME}` this worker's environment does not set. */
  | 'missing-credentials'
  | 'invalid-size'
  | 'invalid-option';

/**
 * A failure of the external inference server, typed so the worker can decide: `retryable` says
 * whether a later attempt (a Temporal activity retry) may succeed; `serverMessage` is what the
 * server said, verbatim (truncated), for a 4xx.
 */
export class HttpGeneratorError extends Error {
  override readonly name = 'HttpGeneratorError';
  readonly retryable: boolean;
  constructor(
    readonly code: HttpGeneratorErrorCode,
    /** The spec field to look at (e.g. `generator.url`). */
    readonly field: string,
    message: string,
    readonly details: { status?: number; serverMessage?: string; attempts?: number; cause?: unknown } = {},
  ) {
    super(`${field}: ${message}`, { cause: details.cause });
    this.retryable = code === 'http-unavailable' || code === 'http-timeout';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  get serverMessage(): string | undefined {
    return this.details.serverMessage;
  }
}
