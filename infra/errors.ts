/**
 * A dev-stack failure the user can act on: `message` is the one line we print (what went wrong
 * and what to do), `code` lets tests and callers branch without parsing text.
 */
export class DevStackError extends Error {
  constructor(
    readonly code:
      | 'port-in-use'
      | 'go-missing'
      | 'build-failed'
      | 'start-failed'
      | 'unhealthy'
      | 'not-running'
      | 'bucket-failed',
    message: string,
  ) {
    super(message);
    this.name = 'DevStackError';
  }
}
