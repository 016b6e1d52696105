/** One problem in a run spec, named by the field it concerns. */
export interface SpecIssue {
  /** Field path as written in messages, e.g. `generator.batchSize`, `classes[1]`; `(root)` or `(yaml)`. */
  path: string;
  /** The value given, rendered short (`missing` when the field is absent). */
  received: string;
  /** What the field must be, including a "did you mean" hint when one is close. */
  expected: string;
  /** 1-based position in the spec text, when parsed from text. */
  line?: number;
  column?: number;
  /** True when the key itself is not a spec field (a typo, or a field of another backend). */
  unknownKey?: boolean;
}

export type SpecErrorCode = 'invalid-spec' | 'spec-unreadable';

function describe(issue: SpecIssue): string {
  const where = issue.line !== undefined ? ` (line ${issue.line})` : '';
  if (issue.path === '(yaml)') return `  - line ${issue.line}, column ${issue.column}: ${issue.expected}`;
  if (issue.unknownKey) return `  - ${issue.path}${where}: unknown key; ${issue.expected}`;
  const got = issue.received === 'missing' ? 'missing' : `got ${issue.received}`;
  return `  - ${issue.path}${where}: ${got}; expected ${issue.expected}`;
}

/**
 * The single error for a bad run spec. Its message lists every problem found, not just the
 * first, so a user fixes the file in one pass.
 */
export class SpecError extends Error {
  override readonly name = 'SpecError';
  /** The first problem's field; every field is in `issues`. */
  readonly field: string;

  constructor(
    readonly code: SpecErrorCode,
    readonly issues: readonly SpecIssue[],
    readonly source?: string,
    message?: string,
  ) {
    const count = issues.length;
    super(
      message ??
        [
          `Invalid run spec${source ? ` ${source}` : ''}: ${count} problem${count === 1 ? '' : 's'}`,
          ...issues.map(describe),
          `Fix ${count === 1 ? 'it' : 'each of them'} and try again.`,
        ].join('\n'),
    );
    this.field = issues[0]?.path ?? '(root)';
  }
}
