import { DefaultLogger, type LogLevel, makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import { createLogger, logLevel } from '../log/logger';

/** Temporal SDK metrics, exported by the SDK's own Prometheus endpoint on this address. */
export interface RuntimeMetrics {
  /** host:port, e.g. 127.0.0.1:9465. */
  prometheusBindAddress: string;
}

let installed: { metrics?: RuntimeMetrics } | undefined;

/**
 * Installs the process's one Temporal Runtime: the SDK's logs routed into our structured logger
 * at our level (a worker is as quiet as every other command by default) and, when asked, its
 * metrics on a Prometheus endpoint. Must run before the first worker or connection; the Runtime
 * cannot be replaced later, so a second call with other metrics settings is an error.
 */
export function installRuntime(options: { metrics?: RuntimeMetrics } = {}): void {
  if (installed) {
    const want = options.metrics?.prometheusBindAddress;
    if (want && want !== installed.metrics?.prometheusBindAddress) {
      throw Object.assign(
        new Error(`Temporal runtime already installed without metrics on ${want}; install it once, first`),
        { code: 'runtime-installed' },
      );
    }
    return;
  }
  installed = options;
  const level = logLevel();
  const sdkLevel: LogLevel =
    level === 'debug' ? 'DEBUG' : level === 'info' ? 'INFO' : level === 'error' ? 'ERROR' : 'WARN';
  const sdkLog = createLogger({ component: 'temporal' });
  Runtime.install({
    telemetryOptions: {
      // Core (Rust) logs are forwarded into the same logger instead of printed raw on stderr.
      logging: { forward: {}, filter: makeTelemetryFilterString({ core: sdkLevel }) },
      ...(options.metrics
        ? { metrics: { prometheus: { bindAddress: options.metrics.prometheusBindAddress } } }
        : {}),
    },
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

/** The runtime for clients and commands that export no metrics. */
export function installQuietRuntime(): void {
  installRuntime();
}
