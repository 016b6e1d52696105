import { InvalidKeyError, InvalidRangeError } from './errors';

/** The file store's staging folder; reserved on every store so a key means the same on both. */
export const TEMP_DIR = '.synfarm-tmp';

/**
 * Keys are `/`-separated paths relative to the store's base. Both stores reject the same keys,
 * so a layout that works on a folder works on S3 and vice versa (and no key escapes the base).
 */
export function assertValidKey(key: string): void {
  if (key === '') throw new InvalidKeyError(key, 'it is empty');
  if (key.endsWith('/')) throw new InvalidKeyError(key, 'it ends with "/", which names a folder');
  assertValidPath(key);
}

/** A prefix is a key's beginning: empty (everything), a folder (`a/b/`) or part of a name (`a/shard-00`). */
export function assertValidPrefix(prefix: string): void {
  if (prefix !== '') assertValidPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

function assertValidPath(path: string): void {
  if (path.startsWith('/')) throw new InvalidKeyError(path, 'it starts with "/"; keys are relative');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  if (/[\u0000-\u001f\u007f\\]/.test(path)) {
    throw new InvalidKeyError(path, 'it contains a control character or a backslash');
  }
  const segments = path.split('/');
  if (segments.some((s) => s === '')) throw new InvalidKeyError(path, 'it contains an empty segment ("//")');
  if (segments.some((s) => s === '.' || s === '..')) {
    throw new InvalidKeyError(path, 'it contains a "." or ".." segment');
  }
  if (segments[0] === TEMP_DIR) throw new InvalidKeyError(path, `"${TEMP_DIR}" is reserved for staging`);
}

/** Orders keys the way S3 lists them: by their UTF-8 bytes, which differs from JS string order. */
export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** An HTTP-style inclusive byte range: integers with 0 <= start <= end. */
export function assertValidRange(key: string, range: { start: number; end?: number }): void {
  const { start, end } = range;
  const endOk = end === undefined || (Number.isSafeInteger(end) && end >= start);
  if (!Number.isSafeInteger(start) || start < 0 || !endOk) {
    throw new InvalidRangeError(key, range, 'start and end must be integers with 0 <= start <= end');
  }
}
