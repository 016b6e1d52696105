import { logLevel } from '../log/logger';
import { redactText } from '../storage/redact';

/**
 * Turns any error into the one line a user reads. Our own errors carry a `code` and a message
 * written for users; anything else is unexpected, so we say so and point at --verbose.
 */
export function reportError(err: unknown, verbose: boolean): number {
  const e = err as { code?: unknown; message?: unknown; stack?: unknown };
  const known = typeof e?.code === 'string' && typeof e?.message === 'string';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  process.stderr.write(`synfarm: ${redactText(message)}\n`);
  if (verbose || logLevel() === 'debug') {
    if (typeof e?.stack === 'string') process.stderr.write(`${redactText(e.stack)}\n`);
  } else if (!known) {
    process.stderr.write('synfarm: (unexpected error; run again with --verbose for the stack trace)\n');
  }
  return 1;
}
