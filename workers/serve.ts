import { log } from '../log/logger';
import { defaultProcesses, type LoadedWorkerConfig, resolveTargets } from './config';
import { serveMetrics, temporalBindAddress, temporalSource } from './metrics-server';
import { superviseWorkers } from './pool';
import { backendLine, type ProcessPlan, startWorkerProcess } from './process';

/** How many processes, and why (printed at start so an operator sees the choice). */
export function processCount(loaded: LoadedWorkerConfig): { processes: number; why: string } {
  const asked = loaded.config.processes;
  return asked !== undefined
    ? { processes: asked, why: `from ${loaded.origin.processes}` }
    : defaultProcesses(loaded.config);
}

/**
 * `synfarm worker`: one process, or a supervised pool of them, until drained by a signal.
 * Returns the exit code.
 */
export async function serveWorker(
  loaded: LoadedWorkerConfig,
  options: { testPartDelayMs?: number; say?: (line: string) => void } = {},
): Promise<number> {
  const say = options.say ?? ((line: string) => process.stderr.write(`${line}\n`));
  const { config } = loaded;
  const targets = await resolveTargets(config);
  const { processes, why } = processCount(loaded);
  const prefix = config.queuePrefix ? `, queue prefix ${config.queuePrefix}` : '';
  // Printed once every process polls: scripts and tests wait for this line.
  const serving = `worker serving ${config.queues.join(', ')} on ${targets.temporal.address} (namespace ${targets.temporal.namespace}${prefix})`;
  say(`processes  ${processes} (${why})`);
  log.info('worker starting', { queues: config.queues, prefix: config.queuePrefix, processes });
  const plan: Omit<ProcessPlan, 'index'> = { config, targets, testPartDelayMs: options.testPartDelayMs };
  if (processes > 1) return superviseWorkers(plan, processes, say, () => say(serving));

  const p = await startWorkerProcess({ ...plan, index: 0 });
  say(backendLine(p.backend));
  say(serving);
  const port = config.metricsPort;
  const server =
    port !== undefined && p.metrics
      ? await serveMetrics(port, () => [
          { text: () => p.metrics!.registry.metrics() },
          temporalSource(temporalBindAddress(port, 0), '0'),
        ])
      : undefined;
  if (server) say(`metrics    http://0.0.0.0:${port}/metrics`);
  // Temporal's runtime turns the first SIGINT/SIGTERM into a graceful shutdown (stop polling,
  // let activities checkpoint); a second one means "now".
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    if (++signals === 1) say(`${sig}: finishing running tasks; send again to exit now`);
    else process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await p.handle.running;
  } finally {
    server?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  return 0;
}
