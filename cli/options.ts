import { InvalidArgumentError } from 'commander';

/**
 * Parses a whole-number option or argument of at least `min`. Commander refuses anything else
 * before the command runs, naming the option and the value as typed (`--window 0`, `--limit abc`),
 * instead of passing on NaN or a value the command cannot use.
 */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\s*-?\d+\s*$/.test(value) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number >= ${min}`);
    }
    return n;
  };
}
