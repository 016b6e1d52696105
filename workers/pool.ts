import { type ChildProcess, fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { type MetricsSource, serveMetrics, temporalBindAddress, temporalSource } from './metrics-server';
import type { ProcessPlan } from './process';

type ChildMetrics = MetricObjectWithValues<MetricValue<string>>[];

const CHILD_ENTRY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pool-child.mjs');

/** Messages between the supervisor and a pool child. */
export type ToChild = { type: 'start'; plan: ProcessPlan } | { type: 'metrics'; id: number };
export type FromChild = { type: 'ready'; line: string } | { type: 'metrics'; id: number; data: ChildMetrics };

/** Restart delay after a crash: doubles from 1 s to 30 s, back to 1 s once a child ran a minute. */
function nextDelay(previous: number, ranMs: number): number {
  return ranMs > 60_000 ? 1000 : Math.min(30_000, previous * 2);
}

interface Slot {
  child?: ChildProcess;
  started: number;
  ready: boolean;
  delay: number;
  timer?: NodeJS.Timeout;
}

/**
 * N worker processes on one node, each with its own TF.js backend (wasm computes on one thread,
 * so one process uses one core). A child that dies is restarted with backoff; the first
 * SIGTERM/SIGINT drains every child (each finishes or checkpoints its tasks), a second kills
 * them and exits. A child that fails before it ever started is a configuration problem: the
 * pool stops rather than restart it forever.
 */
export async function superviseWorkers(
  base: Omit<ProcessPlan, 'index'>,
  processes: number,
  say: (line: string) => void,
  onAllReady: () => void = () => {},
): Promise<number> {
  const slots: Slot[] = Array.from({ length: processes }, () => ({ started: 0, ready: false, delay: 500 }));
  let draining = false;
  let announced = false;
  let failed = false;
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => {
    finish = resolve;
  });
  const pending = new Map<number, (data: ChildMetrics | undefined) => void>();
  let nextId = 0;

  const checkDone = () => {
    if (draining && slots.every((s) => !s.child)) finish(failed ? 1 : 0);
  };

  const spawnChild = (i: number) => {
    const slot = slots[i]!;
    slot.timer = undefined;
    if (draining) return;
    // Own process group: a terminal's Ctrl-C reaches the supervisor only, which drains the children once.
    const child = fork(CHILD_ENTRY, [], { serialization: 'advanced', detached: true, stdio: 'inherit' });
    slot.child = child;
    slot.started = Date.now();
    child.send({ type: 'start', plan: { ...base, index: i } } satisfies ToChild);
    child.on('message', (msg: FromChild) => {
      if (msg.type === 'ready') {
        slot.ready = true;
        say(`process ${i} (pid ${child.pid}): ${msg.line}`);
        if (!announced && slots.every((s) => s.ready)) {
          announced = true;
          onAllReady();
        }
      } else if (msg.type === 'metrics') {
        pending.get(msg.id)?.(msg.data);
      }
    });
    child.on('exit', (code, signal) => {
      slot.child = undefined;
      if (draining) return checkDone();
      if (!slot.ready) {
        say(`process ${i} failed to start (${signal ?? `exit ${code}`}); stopping the pool`);
        failed = true;
        return stop('SIGTERM');
      }
      slot.delay = nextDelay(slot.delay, Date.now() - slot.started);
      say(`process ${i} exited (${signal ?? `exit ${code}`}); restarting in ${slot.delay / 1000} s`);
      slot.timer = setTimeout(() => spawnChild(i), slot.delay);
    });
  };

  const stop = (signal: NodeJS.Signals) => {
    draining = true;
    for (const s of slots) {
      if (s.timer) clearTimeout(s.timer);
      s.child?.kill(signal);
    }
    checkDone();
  };

  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      say(
        `${sig}: draining ${processes} processes (running tasks finish or checkpoint); send again to exit now`,
      );
      stop('SIGTERM');
    } else {
      for (const s of slots) s.child?.kill('SIGKILL');
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const childMetrics = (child: ChildProcess) =>
    new Promise<ChildMetrics | undefined>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => resolve(undefined), 2000);
      pending.set(id, (data) => {
        clearTimeout(timer);
        pending.delete(id);
        resolve(data);
      });
      child.send({ type: 'metrics', id } satisfies ToChild);
    });
  const port = base.config.metricsPort;
  const server =
    port !== undefined
      ? await serveMetrics(port, (): MetricsSource[] => [
          {
            // Counters and histograms sum across the pool; the backend gauge counts processes.
            text: async () => {
              const live = slots.flatMap((s) => (s.child?.connected ? [s.child] : []));
              const lists = (await Promise.all(live.map(childMetrics))).filter((l) => l !== undefined);
              return AggregatorRegistry.aggregate(lists).metrics();
            },
          },
          ...slots.map((_, i) => temporalSource(temporalBindAddress(port, i), String(i))),
        ])
      : undefined;
  if (port !== undefined) say(`metrics    http://0.0.0.0:${port}/metrics (all ${processes} processes)`);

  for (let i = 0; i < processes; i++) spawnChild(i);
  const code = await done;
  server?.close();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;
}
