import { DefaultLogger, type LogLevel, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { createLogger, logLevel } from '../log/logger';

let installed = false;

/**
 * Routes the Temporal SDK's own logs into our structured logger at our level, so a worker is
 * as quiet as every other command by default. Must run before the first worker or connection.
 */
export function installQuietRuntime(): void {
  if (installed) return;
  installed = true;
  const level = logLevel();
  const sdkLevel: LogLevel =
    level === 'debug' ? 'DEBUG' : level === 'info' ? 'INFO' : level === 'error' ? 'ERROR' : 'WARN';
  const sdkLog = createLogger({ component: 'temporal' });
  Runtime.install({
    // Core (Rust) logs are forwarded into the same logger instead of printed raw on stderr.
    telemetryOptions: { logging: { forward: {}, filter: makeTelemetryFilterString({ core: sdkLevel }) } },
    logger: new DefaultLogger(sdkLevel, (entry) => {
      // A worker serving only workflows (or only activities) is told so at every start: expected.
      if (/^No (activities|workflows) registered/.test(entry.message)) return;
      const fields = { ...(entry.meta ?? {}) } as Record<string, unknown>;
      if (entry.level === 'ERROR') sdkLog.error(entry.message, fields);
      else if (entry.level === 'WARN') sdkLog.warn(entry.message, fields);
      else if (entry.level === 'INFO') sdkLog.info(entry.message, fields);
      else sdkLog.debug(entry.message, fields);
    }),
  });
}
