/**
 * A request or option the procedural generator cannot render. `field` names the offending
 * input (e.g. `size`, `aus.AU12`) so the caller can point the user at the exact key.
 */
export class GeneratorInputError extends Error {
  readonly code = 'GENERATOR_INVALID_INPUT';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'GeneratorInputError';
  }
}
