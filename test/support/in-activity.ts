import { asyncLocalStorage, Context } from '@temporalio/activity';
import { noopMetricMeter } from '@temporalio/common';

/**
 * Runs `fn` as if inside a Temporal activity (heartbeats and logs dropped), so tests and
 * benchmarks can call the real stage activities in-process without a worker.
 */
export function inActivity<T>(fn: () => Promise<T>): Promise<T> {
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const ctx = new Context(
    { heartbeatDetails: undefined } as never,
    new Promise<never>(() => {}),
    new AbortController().signal,
    () => {},
    undefined,
    quiet as never,
    noopMetricMeter,
    undefined as never,
  );
  return asyncLocalStorage.run(ctx, fn);
}
