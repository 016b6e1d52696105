export const OUTPUT_EXPECTED =
  'an output URL: s3://bucket/optional/prefix (bucket: 3-63 of a-z, 0-9, ".", "-") or file:///absolute/path';

const S3 = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;
const FILE = /^file:\/\/(\/.*)$/;

export type OutputLocation =
  | { scheme: 's3'; bucket: string; prefix: string }
  | { scheme: 'file'; path: string };

function cleanSegments(path: string): string[] | undefined {
  const segments = path.split('/').filter((s) => s !== '');
  // '.' and '..' would let a run escape its prefix; empty segments are only doubled slashes.
  if (segments.some((s) => s === '.' || s === '..')) return undefined;
  return segments;
}

/** Splits an output URL into its parts, or undefined when it is not one of the two accepted forms. */
export function parseOutputUrl(url: string): OutputLocation | undefined {
  const s3 = S3.exec(url);
  if (s3) {
    const segments = cleanSegments(s3[2] ?? '');
    return segments && { scheme: 's3', bucket: s3[1]!, prefix: segments.join('/') };
  }
  const file = FILE.exec(url);
  if (file) {
    const segments = cleanSegments(file[1]!);
    return segments && { scheme: 'file', path: `/${segments.join('/')}` };
  }
  return undefined;
}

/** The canonical spelling (no trailing or doubled slashes), so equal locations have equal specs. */
export function normalizeOutputUrl(url: string): string | undefined {
  const location = parseOutputUrl(url);
  if (!location) return undefined;
  if (location.scheme === 'file') return `file://${location.path}`;
  return location.prefix ? `s3://${location.bucket}/${location.prefix}` : `s3://${location.bucket}`;
}
