/** A run-level problem the CLI reports as one line (`code` for callers and tests). */
export class RunError extends Error {
  constructor(
    readonly code:
      | 'run-exists-with-other-spec'
      | 'run-running'
      | 'run-unknown'
      | 'output-unknown'
      | 'invalid-window'
      | 'temporal-unreachable',
    message: string,
  ) {
    super(message);
    this.name = 'RunError';
  }
}
