const SECRET_FIELD = /secret|password|passwd|token|credential|signature|authorization|private.?key|session/i;
/** Query parameters that make a URL a bearer token (presigned S3 URLs, SAS-style tokens). */
const SECRET_QUERY = /^(x-amz-(signature|credential|security-token)|signature|sig|token|access_token)$/i;
const REDACTED = '[redacted]';

/**
 * A copy of `value` safe to log: fields whose name suggests a secret are replaced whole, URLs lose
 * their password and signing query parameters. Use it on any config or options object before it
 * reaches a log line, an error message or `--verbose` output.
 */
export function redact(value: unknown): unknown {
  return redactValue(value, new WeakSet());
}

/** A URL with any userinfo password and signing parameters removed; other strings unchanged. */
export function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return text.replace(/\/\/[^/@]*@/, `//${REDACTED}@`);
  }
  let changed = false;
  if (url.password) {
    url.password = REDACTED;
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    if (SECRET_QUERY.test(name)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  // Unchanged URLs stay as written (URL.href would normalise them, e.g. add a trailing slash).
  return changed ? url.href : text;
}

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactUrl(value);
  if (typeof value === 'function') return '[function]';
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
  const out: Record<string, unknown> = {};
  for (const [field, inner] of Object.entries(value)) {
    out[field] = SECRET_FIELD.test(field) && inner !== undefined ? REDACTED : redactValue(inner, seen);
  }
  return out;
}
