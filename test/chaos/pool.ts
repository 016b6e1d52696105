import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../infra/paths';
import { isAlive } from '../../infra/processes';
import { waitUntil } from '../support/wait';

export const ROLES = ['gpu', 'cpu', 'workflows'] as const;
// Generous: a workflows worker bundles the workflow code at start, slow on a loaded 2-core box.
const START_TIMEOUT_MS = 180_000;
/**
 * A worker that cannot reach Temporal exits at once; while the server is down (SIGKILLed and not
 * yet back) the slot is restarted with growing delays, as Kubernetes' crash-loop back-off would.
 */
const START_ATTEMPTS = 8;
const RESTART_BACKOFF_MS = [1000, 2000, 4000, 8000, 15_000, 30_000, 30_000];
export type Role = (typeof ROLES)[number];

export interface PoolWorker {
  slot: string;
  role: Role;
  pid: number;
  startedAt: number;
  child: ChildProcess;
  output: string;
  /** Set once it polls its queue; only serving workers are chosen for a kill. */
  serving: boolean;
  /** Never killed: its RSS over the whole soak is the memory curve a restart would hide. */
  witness: boolean;
}

export interface RssSample {
  t: number;
  slot: string;
  role: Role;
  pid: number;
  rssMiB: number;
}

/**
 * The worker pool as a cluster would run it: separate OS processes started through the real
 * CLI (`synfarm worker --queues <role>`), each serving one role, so any one can be SIGKILLed.
 * A killed slot is refilled by a fresh process; RSS of every live process is sampled.
 */
export class WorkerPool {
  readonly workers = new Map<string, PoolWorker>();
  readonly rss: RssSample[] = [];
  #sampler: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: {
      sizes: Record<Role, number>;
      /** One extra process per role that no fault touches (for a soak's memory curves). */
      witnesses?: boolean;
      queuePrefix: string;
      env: Record<string, string>;
      logDir: string;
      /** Every pid this pool starts is appended here, for `killRecordedWorkers` after a crash. */
      pidFile: string;
    },
  ) {}

  slots(): Array<{ slot: string; role: Role }> {
    return ROLES.flatMap((role) => [
      ...Array.from({ length: this.options.sizes[role] }, (_, i) => ({ slot: `${role}-${i}`, role })),
      ...(this.options.witnesses ? [{ slot: `${role}-witness`, role }] : []),
    ]);
  }

  async start(): Promise<void> {
    await Promise.all(this.slots().map(({ slot, role }) => this.spawn(slot, role)));
    this.#sampler = setInterval(() => void this.sampleRss(), 5000);
  }

  /**
   * Starts a worker in `slot` and waits until it polls its queue. A start that hangs or exits
   * (its server was SIGKILLed while it connected, say) is killed and tried again after a
   * back-off, as an operator's supervisor would.
   */
  async spawn(slot: string, role: Role): Promise<PoolWorker> {
    for (let attempt = 1; ; attempt++) {
      const worker = this.#start(slot, role);
      try {
        await waitUntil(
          `worker ${slot} serves`,
          async () => {
            if (worker.child.exitCode !== null) throw new Error(`worker ${slot} exited at start`);
            return worker.output.includes('worker serving');
          },
          START_TIMEOUT_MS,
        );
        worker.serving = true;
        return worker;
      } catch (err) {
        worker.child.kill('SIGKILL');
        if (attempt >= START_ATTEMPTS)
          throw new Error(`${(err as Error).message}; its output:\n${worker.output.slice(-2000)}`);
        await sleep(RESTART_BACKOFF_MS[attempt - 1] ?? 30_000);
      }
    }
  }

  #start(slot: string, role: Role): PoolWorker {
    const log = createWriteStream(path.join(this.options.logDir, `worker-${slot}.log`), { flags: 'a' });
    const child = spawn(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'),
        'worker',
        '--queues',
        role,
        '--queue-prefix',
        this.options.queuePrefix,
      ],
      { cwd: PROJECT_ROOT, env: { ...process.env, ...this.options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    if (child.pid === undefined) throw new Error(`could not start worker ${slot}`);
    appendFileSync(this.options.pidFile, `${child.pid}\n`);
    const worker: PoolWorker = {
      slot,
      role,
      pid: child.pid,
      startedAt: Date.now(),
      child,
      output: '',
      serving: false,
      witness: slot.endsWith('-witness'),
    };
    const keep = (d: Buffer) => {
      log.write(d);
      // Only the start of the output matters (the "serving" line); keep memory flat.
      if (worker.output.length < 64 * 1024) worker.output += d;
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => log.end());
    this.workers.set(slot, worker);
    return worker;
  }

  /** Serving workers of `role` that a fault may kill (witnesses are spared). */
  killable(role: Role): PoolWorker[] {
    return [...this.workers.values()].filter(
      (w) =>
        w.role === role &&
        !w.witness &&
        w.serving &&
        w.child.exitCode === null &&
        w.child.signalCode === null,
    );
  }

  /**
   * `killable(role)`, waiting while there is none: a worker killed a moment ago may still be
   * starting (a workflows worker bundles its code first, most of a minute on a loaded machine),
   * and a scheduled kill should land on it once it serves rather than be skipped or fail the run.
   */
  async killableSoon(role: Role): Promise<PoolWorker[]> {
    await waitUntil(
      `a ${role} worker serves again`,
      async () => this.killable(role).length > 0,
      START_ATTEMPTS * START_TIMEOUT_MS,
    );
    return this.killable(role);
  }

  /** SIGKILLs a worker and waits until it is gone (its tasks are then orphaned on the server). */
  async kill(worker: PoolWorker): Promise<void> {
    worker.child.kill('SIGKILL');
    await waitUntil(
      `worker ${worker.slot} is gone`,
      async () => worker.child.exitCode !== null || worker.child.signalCode !== null,
      10_000,
    );
  }

  /**
   * RSS of each worker with its process tree: `synfarm worker` supervises one child process per
   * core (`--processes`), and those children hold the models, so the parent alone says little.
   */
  async sampleRss(): Promise<void> {
    const t = Date.now();
    for (const w of this.workers.values()) {
      const kb = await treeRssKb(w.pid);
      if (kb > 0) this.rss.push({ t, slot: w.slot, role: w.role, pid: w.pid, rssMiB: kb / 1024 });
    }
  }

  async stop(): Promise<void> {
    if (this.#sampler) clearInterval(this.#sampler);
    const all = [...this.workers.values()].filter((w) => w.child.exitCode === null);
    for (const w of all) w.child.kill('SIGTERM');
    await Promise.all(
      all.map((w) =>
        waitUntil(`worker ${w.slot} stops`, async () => !isAlive(w.pid), 30_000).catch(() => {
          w.child.kill('SIGKILL');
        }),
      ),
    );
  }
}

/**
 * SIGKILLs the workers a previous chaos run recorded in `pidFile` that still run: a run that
 * died without stopping its pool leaves workers polling its queues, which steal the next run's
 * tasks with that stack's old S3 keys. Only processes that are still synfarm workers are killed.
 */
export async function killRecordedWorkers(pidFile: string): Promise<number> {
  const pids = (await readFile(pidFile, 'utf8').catch(() => ''))
    .split('\n')
    .map(Number)
    .filter((pid) => Number.isInteger(pid) && pid > 0);
  let killed = 0;
  for (const pid of pids) {
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (!cmdline.includes('synfarm.mjs') || !cmdline.includes('worker')) continue;
    process.kill(pid, 'SIGKILL');
    killed++;
  }
  return killed;
}

async function rssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function childrenOf(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const lists = await Promise.all(
    tasks.map((tid) => readFile(`/proc/${pid}/task/${tid}/children`, 'utf8').catch(() => '')),
  );
  return lists.flatMap((l) => l.split(' ').filter(Boolean).map(Number));
}

/** RSS of `pid` and all its descendants, in KiB; 0 when it is gone. */
async function treeRssKb(pid: number): Promise<number> {
  const own = await rssKb(pid);
  if (own === 0) return 0;
  const kids = await childrenOf(pid);
  const theirs = await Promise.all(kids.map(treeRssKb));
  return own + theirs.reduce((a, b) => a + b, 0);
}
