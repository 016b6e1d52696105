const SECRET_FIELD = /secret|password|passwd|token|credential|signature|authorization|private.?key|session/i;
/**
 * Query parameters that make a URL a bearer token: presigned S3 URLs, SAS-style signatures, and
 * the API keys and tokens inference servers take in the query string.
 */
const SECRET_QUERY =
  /^(x-amz-(signature|credential|security-token)|signature|sig|(access_|auth_|api_|id_)?token|api[-_]?key|key|auth|password|passwd|secret|client_secret)$/i;
const REDACTED = '[redacted]';
/** `${NAME}`: a reference to an environment variable, resolved where the secret is used. */
const ENV_REFERENCE = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;

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
  // Userinfo is shown percent-encoded; an env reference in it is not a secret and stays readable.
  if (url.password && !ENV_REFERENCE.test(decodeURIComponent(url.password))) {
    url.password = REDACTED;
    changed = true;
  }
  for (const name of [...url.searchParams.keys()]) {
    const value = url.searchParams.get(name) ?? '';
    if (SECRET_QUERY.test(name) && value !== '' && !ENV_REFERENCE.test(value)) {
      url.searchParams.set(name, REDACTED);
      changed = true;
    }
  }
  // Unchanged URLs stay as written (URL.href would normalise them, e.g. add a trailing slash).
  return changed ? url.href : text;
}

/** True when `name` is a query parameter whose value is a credential (see SECRET_QUERY). */
export function isSecretQueryParam(name: string): boolean {
  return SECRET_QUERY.test(name);
}

/** True when `value` is exactly one `${NAME}` environment reference. */
export function isEnvReference(value: string): boolean {
  return ENV_REFERENCE.test(value);
}

/**
 * Where `text` (a URL) carries a credential written out rather than as a `${NAME}` reference:
 * `password` for userinfo, `?name` for a secret query parameter. Empty when it carries none.
 */
export function literalSecretsInUrl(text: string): string[] {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return [];
  }
  const found: string[] = [];
  if (url.password && !ENV_REFERENCE.test(decodeURIComponent(url.password))) found.push('password');
  for (const [name, value] of url.searchParams) {
    if (SECRET_QUERY.test(name) && value !== '' && !ENV_REFERENCE.test(value)) found.push(`?${name}`);
  }
  return found;
}

/**
 * Free text (an error message, a log line) with every URL in it redacted: the last line of
 * defence for messages that quote a URL they were given.
 */
export function redactText(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/[^\s'"<>`]+/gi, (url) => redactUrl(url));
}

function redactValue(value: unknown, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redactText(value);
  if (typeof value === 'function') return '[function]';
  if (value === null || typeof value !== 'object') return value;
  // `seen` holds the objects on the way down to this one: only an object inside itself is
  // circular. One reached twice by two paths (a run status quoting its tallies) is written twice.
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  try {
    if (Array.isArray(value)) return value.map((item) => redactValue(item, seen));
    const out: Record<string, unknown> = {};
    for (const [field, inner] of Object.entries(value)) {
      out[field] = SECRET_FIELD.test(field) && inner !== undefined ? REDACTED : redactValue(inner, seen);
    }
    return out;
  } finally {
    seen.delete(value);
  }
}
