import { redactUrl } from '../../storage/redact';
import { HttpGeneratorError } from './errors';

const FIELD = 'generator.url';
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** The inference server as this worker reaches it, and as messages name it. */
export interface ServerAddress {
  /** Resolved URL without userinfo: what fetch is given (fetch refuses URLs with credentials). */
  url: string;
  /** Basic auth from the URL's userinfo, when it has one. */
  headers: Record<string, string>;
  /** The spec's URL as written, `${NAME}` references unresolved: safe in errors, logs and history. */
  shown: string;
}

/**
 * Resolves the `${NAME}` references of the spec's URL from this worker's environment. The spec
 * (and so spec.json, workflow history and every message) only ever holds the references; the
 * secret exists in this process's memory and on the wire to the server, nowhere else.
 */
export function resolveServerAddress(
  template: string,
  env: Record<string, string | undefined> = process.env,
): ServerAddress {
  const missing = [...template.matchAll(REFERENCE)].map((m) => m[1]!).filter((name) => !env[name]);
  if (missing.length > 0) {
    throw new HttpGeneratorError(
      'missing-credentials',
      FIELD,
      `${redactUrl(template)} refers to ${missing.map((n) => `\${${n}}`).join(', ')}, which this worker's environment does not set; set ${missing.join(', ')} on every GPU worker`,
    );
  }
  const resolved = new URL(
    template.replace(REFERENCE, (_, name: string, at: number) =>
      encodedAt(template, at) ? encodeURIComponent(env[name]!) : env[name]!,
    ),
  );
  const headers: Record<string, string> = {};
  if (resolved.username || resolved.password) {
    const user = decodeURIComponent(resolved.username);
    const password = decodeURIComponent(resolved.password);
    headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
    resolved.username = '';
    resolved.password = '';
  }
  return { url: resolved.href, headers, shown: redactUrl(template) };
}

/**
 * Whether a reference at `at` sits in the userinfo or the query string, where its value is
 * percent-encoded (a base64 token's `+`, `/` and `=` must reach the server intact); a reference
 * in the host or path is inserted as it is.
 */
function encodedAt(template: string, at: number): boolean {
  const query = template.indexOf('?');
  if (query >= 0 && at > query) return true;
  const authority = template.indexOf('://') + 3;
  const authorityEnd = template.slice(authority).search(/[/?#]/);
  const end = authorityEnd < 0 ? template.length : authority + authorityEnd;
  const userinfoEnd = template.lastIndexOf('@', end);
  return at >= authority && userinfoEnd > at;
}

/** `base` with `path` appended to its path, its query string kept (`?token=...` goes on every call). */
export function endpointUrl(base: string, path: string): string {
  const cut = base.search(/[?#]/);
  const head = cut < 0 ? base : base.slice(0, cut);
  const tail = cut < 0 ? '' : base.slice(cut);
  return `${head.replace(/\/+$/, '')}${path}${tail}`;
}
