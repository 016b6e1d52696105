import { setTimeout as sleep } from 'node:timers/promises';
import { redactUrl } from '../../storage/redact';
import { HttpGeneratorError } from './errors';

export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 500, maxDelayMs: 8000 };

/** 408 and 429 are the server saying "not now", not "never": retried like a 5xx. */
function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

const MESSAGE_LIMIT = 500;

/** The server's own explanation: FastAPI's `detail`, a common `error`/`message`, or the raw text. */
async function serverMessage(res: Response): Promise<string> {
  const text = await res.text().catch(() => '');
  let message = text;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const found = [body.detail, body.error, body.message].find((v) => v !== undefined && v !== null);
    if (found !== undefined) message = typeof found === 'string' ? found : JSON.stringify(found);
  } catch {
    // Plain-text bodies are the message as they are.
  }
  message = message.trim() || res.statusText || `HTTP ${res.status}`;
  return message.length > MESSAGE_LIMIT ? `${message.slice(0, MESSAGE_LIMIT)}...` : message;
}

function backoff(attempt: number, policy: RetryPolicy): number {
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
}

function describe(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

export interface PostOptions {
  timeoutMs: number;
  retry: RetryPolicy;
  signal?: AbortSignal;
  fetch?: typeof fetch;
  /** The spec field errors name (the server's URL setting). */
  field: string;
  /** Extra request headers (Basic auth taken from the URL's userinfo). */
  headers?: Record<string, string>;
  /** How errors name the URL: the spec's form, secrets unresolved. Default: `url` redacted. */
  shownUrl?: string;
}

/**
 * POSTs JSON and returns the parsed JSON answer. Each attempt has its own timeout; 5xx and
 * connection failures are retried with exponential backoff; a 4xx is final and carries the
 * server's message; the caller's signal stops everything at once.
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<unknown> {
  const doFetch = options.fetch ?? fetch;
  const payload = JSON.stringify(body);
  const shown = options.shownUrl ?? redactUrl(url);
  let last = '';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= options.retry.attempts; attempt++) {
    options.signal?.throwIfAborted();
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const res = await doFetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
        body: payload,
        signal,
      });
      if (res.ok) {
        const text = await res.text();
        try {
          return JSON.parse(text);
        } catch {
          throw new HttpGeneratorError(
            'http-bad-response',
            options.field,
            `${shown} answered HTTP ${res.status} with a body that is not JSON (${text.slice(0, 80)}...); is this the right server and protocol?`,
            { status: res.status },
          );
        }
      }
      const message = await serverMessage(res);
      if (!isRetryableStatus(res.status)) {
        throw new HttpGeneratorError(
          'http-rejected',
          options.field,
          `${shown} rejected the request with HTTP ${res.status}: ${message}`,
          { status: res.status, serverMessage: message, attempts: attempt },
        );
      }
      last = `HTTP ${res.status}: ${message}`;
      lastStatus = res.status;
    } catch (err) {
      if (err instanceof HttpGeneratorError) throw err;
      if (options.signal?.aborted) throw options.signal.reason;
      if (timeout.aborted) {
        throw new HttpGeneratorError(
          'http-timeout',
          options.field,
          `${shown} gave no complete answer within ${options.timeoutMs} ms; raise generator.timeoutMs or check the server's load`,
          { attempts: attempt, cause: err },
        );
      }
      last = describe(err);
      lastStatus = undefined;
    }
    if (attempt < options.retry.attempts) {
      await sleep(backoff(attempt, options.retry), undefined, { signal: options.signal });
    }
  }
  throw new HttpGeneratorError(
    'http-unavailable',
    options.field,
    `${shown} failed ${options.retry.attempts} times (last: ${last}); check that the inference server is up and healthy`,
    { status: lastStatus, attempts: options.retry.attempts },
  );
}
