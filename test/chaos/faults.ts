import { setTimeout as sleep } from 'node:timers/promises';
import type { FarmClient } from '../../client/runs';
import { type DevStackConfig, devUp, signalServer } from '../../infra/dev-stack';
import { isAlive } from '../../infra/processes';
import type { Spec } from '../../spec';
import { waitUntil } from '../support/wait';
import { type CliResult, committedShards, stateOf, synfarm, waitForState } from './control';
import type { S3FaultProxy } from './fault-proxy';
import type { PoolWorker, Role, WorkerPool } from './pool';

/** The faults of one round, each injected once per round in a seeded order. */
export const ROUND_FAULTS = [
  'kill-gpu',
  'kill-cpu',
  'kill-workflows',
  'kill-temporal',
  'kill-s3',
  'cancel-and-two-resumes',
] as const;
export type RoundFault = (typeof ROUND_FAULTS)[number];
export type FaultKind = RoundFault | 'kill-cpu-mid-upload';

export interface FaultLog {
  counts: Record<FaultKind, number>;
  /** Server kills that found the run unfinished (its workflow running, shards still missing). */
  serverKills: Array<{ server: 'temporal' | 's3'; unfinished: boolean; committed: number }>;
  resumes: Array<{ ok: number; refused: number; results: CliResult[] }>;
  events: string[];
}

export interface FaultContext {
  random: () => number;
  pool: WorkerPool;
  proxy: S3FaultProxy;
  stack: Partial<DevStackConfig>;
  client: FarmClient;
  spec: Spec;
  /** Environment for `synfarm` control commands (the real S3 endpoint, no proxy). */
  cliEnv: Record<string, string>;
  heartbeatSeconds: number;
  log: (line: string) => void;
  started: number;
}

export function emptyFaultLog(): FaultLog {
  const counts = Object.fromEntries(
    [...ROUND_FAULTS, 'kill-cpu-mid-upload'].map((k) => [k, 0]),
  ) as FaultLog['counts'];
  return { counts, serverKills: [], resumes: [], events: [] };
}

const between = (random: () => number, lo: number, hi: number) => Math.round(lo + random() * (hi - lo));

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * Injects faults on the running run. Worker restarts happen in the background (a killed
 * node comes back after a while); `settle()` waits for them.
 */
export class FaultInjector {
  readonly log = emptyFaultLog();
  #restarts: Promise<unknown>[] = [];

  constructor(private readonly ctx: FaultContext) {}

  #note(line: string): void {
    const at = ((Date.now() - this.ctx.started) / 1000).toFixed(1);
    this.log.events.push(`${at}s ${line}`);
    this.ctx.log(`[chaos ${at}s] ${line}`);
  }

  /** The first multipart part of the run holds its upload while its worker is SIGKILLed. */
  armMidUploadKill(): void {
    this.ctx.proxy.onNextPart(async () => {
      const [worker] = this.ctx.pool.killable('cpu');
      if (!worker) return;
      await this.#killWorker(worker, 'kill-cpu-mid-upload');
    });
  }

  async inject(fault: RoundFault): Promise<void> {
    switch (fault) {
      case 'kill-gpu':
      case 'kill-cpu':
      case 'kill-workflows':
        return this.#killRole(fault.slice('kill-'.length) as Role, fault);
      case 'kill-temporal':
        return this.#killServer('temporal', fault);
      case 'kill-s3':
        return this.#killServer('s3', fault);
      case 'cancel-and-two-resumes':
        return this.#cancelAndResumeTwice();
    }
  }

  async settle(): Promise<void> {
    await Promise.all(this.#restarts);
  }

  async #killRole(role: Role, kind: FaultKind): Promise<void> {
    const live = await this.ctx.pool.killableSoon(role);
    const worker = live[Math.floor(this.ctx.random() * live.length)];
    if (!worker) throw new Error(`no live ${role} worker to kill`);
    await this.#killWorker(worker, kind);
  }

  async #killWorker(worker: PoolWorker, kind: FaultKind): Promise<void> {
    await this.ctx.pool.kill(worker);
    this.log.counts[kind]++;
    const delay = between(this.ctx.random, 1000, 4000);
    this.#note(`${kind}: SIGKILL ${worker.slot} (pid ${worker.pid}); back in ${delay} ms`);
    // Caught here and rethrown by settle(): a rejection left pending would end the process.
    const restart = sleep(delay).then(() => this.ctx.pool.spawn(worker.slot, worker.role));
    restart.catch(() => undefined);
    this.#restarts.push(restart);
  }

  async #killServer(server: 'temporal' | 's3', kind: FaultKind): Promise<void> {
    // Before the kill: the run must still be going, or the kill proves nothing.
    const state = await stateOf(this.ctx.client, this.ctx.spec.runId);
    const committed = await committedShards(this.ctx.client, this.ctx.spec);
    const pid = await signalServer(this.ctx.stack, server, 'SIGKILL');
    if (pid === undefined) throw new Error(`${server} was not running when the chaos suite went to kill it`);
    await waitUntil(`${server} (pid ${pid}) is gone`, async () => !isAlive(pid), 10_000);
    // Running is unfinished: after the last commit the run still writes its index, report and
    // `_SUCCESS`, and a kill there is a fault the run must survive too.
    const unfinished = state === 'running';
    this.log.serverKills.push({ server, unfinished, committed });
    this.log.counts[kind]++;
    const down = between(this.ctx.random, 2000, 6000);
    this.#note(
      `${kind}: SIGKILL pid ${pid} (run ${state}, ${committed}/${this.ctx.spec.shardCount} shards); down ${down} ms`,
    );
    await sleep(down);
    await devUp(this.ctx.stack);
    this.#note(`${server} restarted on the same state`);
  }

  async #cancelAndResumeTwice(): Promise<void> {
    const { runId } = this.ctx.spec;
    await this.ctx.client.cancel(runId);
    this.#note('cancel-and-two-resumes: cancelled; waiting for the shards to stop');
    const state = await waitForState(this.ctx.client, runId, ['cancelled', 'completed', 'failed'], 300_000);
    if (state !== 'cancelled') throw new Error(`run ${runId} ended ${state} instead of cancelled`);
    const args = ['resume', runId, '--heartbeat', String(this.ctx.heartbeatSeconds)];
    const results = await Promise.all([synfarm(args, this.ctx.cliEnv), synfarm(args, this.ctx.cliEnv)]);
    const ok = results.filter((r) => r.code === 0).length;
    const refused = results.filter(
      (r) => r.code !== 0 && /already running|still running/.test(r.stderr),
    ).length;
    this.log.resumes.push({ ok, refused, results });
    this.log.counts['cancel-and-two-resumes']++;
    this.#note(`two resumes at once: ${ok} started the run, ${refused} refused (already running)`);
  }
}
