import { DefaultLogger, type LogLevel, Runtime } from '@temporalio/worker';
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
    logger: new DefaultLogger(sdkLevel, (entry) => {
      const fields = { ...(entry.meta ?? {}) } as Record<string, unknown>;
      if (entry.level === 'ERROR') sdkLog.error(entry.message, fields);
      else if (entry.level === 'WARN') sdkLog.warn(entry.message, fields);
      else if (entry.level === 'INFO') sdkLog.info(entry.message, fields);
      else sdkLog.debug(entry.message, fields);
    }),
  });
}
