/**
 * Structured, quiet-by-default logging: one JSON object per line on stderr, so stdout stays
 * for the command's actual output. Level from SYNFARM_LOG_LEVEL (default `warn`); `--verbose`
 * raises it to `debug`. Fields whose names look secret are redacted before they are written.
 */
import { redactText, redact as redactValue } from '../storage/redact';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

let threshold: LogLevel = parseLevel(process.env.SYNFARM_LOG_LEVEL) ?? 'warn';

function parseLevel(value: string | undefined): LogLevel | undefined {
  return value && value in ORDER ? (value as LogLevel) : undefined;
}

export function setLogLevel(level: LogLevel): void {
  threshold = level;
}

export function logLevel(): LogLevel {
  return threshold;
}

/**
 * Replaces the value of any secret-looking field, at any depth, and the credentials in any URL
 * a value quotes (one rule set for logs, errors and status: storage/redact.ts).
 */
export function redact<T>(value: T): T {
  return redactValue(value) as T;
}

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export function createLogger(base: Record<string, unknown> = {}): Logger {
  const write = (level: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[level] < ORDER[threshold]) return;
    const line = {
      t: new Date().toISOString(),
      level,
      msg: redactText(msg),
      ...redact(base),
      ...redact(fields ?? {}),
    };
    process.stderr.write(`${JSON.stringify(line)}\n`);
  };
  return {
    debug: (m, f) => write('debug', m, f),
    info: (m, f) => write('info', m, f),
    warn: (m, f) => write('warn', m, f),
    error: (m, f) => write('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }),
  };
}

export const log = createLogger();
