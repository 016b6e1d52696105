/** A request the plan cannot satisfy (a caller bug or a corrupt checkpoint, not bad user input). */
export class PlanError extends Error {
  override readonly name = 'PlanError';
  readonly code = 'invalid-plan-request';

  constructor(
    /** The argument at fault: 'shard', 'round', 'count', 'classes' or 'index'. */
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}
