import type { FromChild, ToChild } from './pool';
import { backendLine, startWorkerProcess } from './process';

/**
 * One process of a worker pool. It lives only as long as its supervisor: if the IPC channel
 * closes (the supervisor was killed), it exits at once, as the whole node would have.
 */
const send = (msg: FromChild) => process.send?.(msg);

process.on('disconnect', () => process.exit(1));

let signals = 0;
const onSignal = () => {
  // The first signal is the Temporal runtime's: it drains this process's workers.
  if (++signals > 1) process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

let metricsOf: (() => Promise<unknown>) | undefined;

process.on('message', (msg: ToChild) => {
  if (msg.type === 'metrics') {
    const data = metricsOf ? metricsOf() : Promise.resolve([]);
    void data.then((d) => send({ type: 'metrics', id: msg.id, data: d as never }));
    return;
  }
  startWorkerProcess(msg.plan)
    .then(async (p) => {
      metricsOf = p.metrics ? () => p.metrics!.registry.getMetricsAsJSON() : undefined;
      send({ type: 'ready', line: backendLine(p.backend) });
      await p.handle.running;
      process.exit(0);
    })
    .catch((err: Error) => {
      process.stderr.write(`synfarm worker process: ${err.message}\n`);
      process.exit(1);
    });
});
