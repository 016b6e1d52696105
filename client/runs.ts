import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import type { StageTimeouts } from '../activities/types';
import { connectionOptions, type TemporalTarget } from '../infra/temporal-connection';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { runKeys } from '../run/layout';
import { RunObjectError, RunObjects } from '../run/objects';
import { type Spec, specDigest, specToJson } from '../spec';
import { openStore, type StoreOptions } from '../storage';
import type { ObjectStore } from '../storage/object-store';
import { checkBackends } from '../workers/models';
import {
  type DatasetWorkflowInput,
  type Progress,
  pauseSignal,
  progressQuery,
  setWindowSignal,
  unpauseSignal,
} from '../workflows/api';
import { datasetWorkflow } from '../workflows/dataset';
import { taskQueues } from '../workflows/task-queues';
import { RunError } from './errors';

export interface FarmClientOptions {
  /** Address, namespace, TLS and API key: the same resolved settings a worker uses. */
  temporal: TemporalTarget & { uiUrl?: string };
  s3: StoreOptions;
  /** Task-queue prefix (tests, several farms on one namespace). */
  queuePrefix?: string;
}

export interface LaunchOptions {
  window?: number;
  timeouts?: Partial<StageTimeouts>;
}

export const DEFAULT_TIMEOUTS: StageTimeouts = { heartbeatSeconds: 60, stageStartToCloseSeconds: 2 * 3600 };
export const DEFAULT_WINDOW = 8;

/** A window below one shard would leave the run waiting for ever with nothing in flight. */
function checkWindow(size: number): void {
  if (!Number.isInteger(size) || size < 1) {
    throw new RunError('invalid-window', `window: got ${size}; expected a whole number of shards >= 1`);
  }
}

export interface RunStatus {
  runId: string;
  outputUrl: string;
  /** Temporal's view, or `unknown` when the server has no record of the run. */
  workflow:
    | 'running'
    | 'completed'
    | 'failed'
    | 'cancelled'
    | 'terminated'
    | 'timed-out'
    | 'continued'
    | 'unknown';
  progress?: Progress;
  /** From the sidecars in storage: true whatever Temporal knows. */
  committed: { shards: number; samples: number; plannedShards: number; plannedSamples: number };
  rejectsByReason: Record<string, number>;
  /** Per class name: planned samples the committed shards could not fill (only classes short). */
  classShortfall: Record<string, number>;
  failure?: string;
  uiUrl?: string;
}

/**
 * The user-side operations on runs: launch, status, resume, cancel, list. The dataset
 * workflow's id is the run id; its memo remembers the output URL so later commands need only
 * the run id.
 */
export class FarmClient {
  private constructor(
    readonly client: Client,
    private readonly connection: Connection,
    private readonly options: FarmClientOptions,
  ) {}

  static async connect(options: FarmClientOptions): Promise<FarmClient> {
    const connection = await Connection.connect(connectionOptions(options.temporal)).catch(
      (error: unknown) => {
        throw new RunError(
          'temporal-unreachable',
          `Cannot reach Temporal at ${options.temporal.address} (${(error as Error).message}): start it ` +
            '(`synfarm dev up` for the local one) or set its address (SYNFARM_TEMPORAL_ADDRESS or the config file).',
        );
      },
    );
    return new FarmClient(
      new Client({ connection, namespace: options.temporal.namespace }),
      connection,
      options,
    );
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** The task queues this client launches on (the config's queuePrefix). */
  taskQueues() {
    return taskQueues(this.options.queuePrefix);
  }

  store(outputUrl: string): ObjectStore {
    return openStore(outputUrl, this.options.s3);
  }

  uiLink(runId: string): string | undefined {
    const ui = this.options.temporal.uiUrl;
    return ui
      ? `${ui}/namespaces/${encodeURIComponent(this.options.temporal.namespace)}/workflows/${encodeURIComponent(runId)}`
      : undefined;
  }

  /**
   * Writes spec.json once and starts the run. Launching the same spec again continues the run
   * (like resume), or says it is complete; the same run id with a different spec is refused
   * before anything is written.
   */
  async launch(
    spec: Spec,
    options: LaunchOptions = {},
  ): Promise<{ runId: string; uiUrl?: string; complete?: { shards: number } }> {
    checkBackends(spec);
    if (options.window !== undefined) checkWindow(options.window);
    const store = this.store(spec.output);
    const key = runKeys(spec.runId).spec;
    const written = await store.putIfAbsent(key, specToJson(spec), { contentType: 'application/json' });
    if (!written) {
      const stored = await this.storedSpec(spec.output, spec.runId);
      if (specDigest(stored) !== specDigest(spec)) {
        throw new RunError(
          'run-exists-with-other-spec',
          `run "${spec.runId}" already exists at ${spec.output} with a different spec (${store.url}/${key}); choose another runId, or resume it with: synfarm resume ${spec.runId}`,
        );
      }
      const complete = await this.completeRun(spec.output, spec.runId);
      if (complete) return { runId: spec.runId, complete };
    }
    await this.start(spec, options);
    return { runId: spec.runId, uiUrl: this.uiLink(spec.runId) };
  }

  private async start(spec: Spec, options: LaunchOptions): Promise<void> {
    const queues = this.taskQueues();
    const input: DatasetWorkflowInput = {
      outputUrl: spec.output,
      runId: spec.runId,
      queues,
      window: options.window ?? DEFAULT_WINDOW,
      timeouts: { ...DEFAULT_TIMEOUTS, ...options.timeouts },
    };
    try {
      await this.client.workflow.start(datasetWorkflow, {
        workflowId: spec.runId,
        taskQueue: queues.workflows,
        args: [input],
        memo: { outputUrl: spec.output },
      });
    } catch (err) {
      if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') {
        throw alreadyRunning(spec.runId);
      }
      throw err;
    }
  }

  async storedSpec(outputUrl: string, runId: string): Promise<Spec> {
    try {
      return await new RunObjects(this.store(outputUrl), runId).spec();
    } catch (err) {
      if (err instanceof RunObjectError && err.code === 'run-not-launched') {
        throw new RunError('run-unknown', `no run "${runId}" at ${outputUrl}: ${err.key} does not exist`);
      }
      throw err;
    }
  }

  /** The output URL from the workflow's memo, or the one given; one of them is needed. */
  async outputOf(runId: string, given?: string): Promise<string> {
    if (given) return given;
    try {
      const desc = await this.client.workflow.getHandle(runId).describe();
      const url = desc.memo?.outputUrl;
      if (typeof url === 'string') return url;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
    throw new RunError(
      'output-unknown',
      `Temporal has no record of run "${runId}"; pass its output with --output s3://bucket/prefix (or file:///path)`,
    );
  }

  /** Re-runs only the missing shards of a stopped run, against its stored spec.json. */
  async resume(
    runId: string,
    options: LaunchOptions & { output?: string } = {},
  ): Promise<{ uiUrl?: string; complete?: { shards: number } }> {
    const outputUrl = await this.outputOf(runId, options.output);
    const spec = await this.storedSpec(outputUrl, runId);
    const complete = await this.completeRun(outputUrl, runId);
    if (complete) return { complete };
    if ((await this.workflowState(runId)) === 'running') {
      await this.client.workflow.getHandle(runId).signal(unpauseSignal);
      throw new RunError(
        'run-running',
        `run "${runId}" is still running (unpaused it in case it was paused); see: synfarm status ${runId}`,
      );
    }
    try {
      await this.gc(runId, { output: outputUrl });
    } catch (err) {
      // Another resume started the run between the check above and this gc.
      if (err instanceof RunError && err.code === 'run-running') throw alreadyRunning(runId);
      throw err;
    }
    await this.start(spec, options);
    return { uiUrl: this.uiLink(runId) };
  }

  /**
   * Aborts the run's unfinished multipart uploads (a killed worker leaves them behind, billed
   * until aborted). Refused while the run is running: its commits' uploads are live ones.
   */
  async gc(runId: string, options: { output?: string } = {}): Promise<{ abortedUploads: number }> {
    if ((await this.workflowState(runId)) === 'running') {
      throw new RunError(
        'run-running',
        `run "${runId}" is running; gc only a stopped run (synfarm cancel ${runId})`,
      );
    }
    const outputUrl = await this.outputOf(runId, options.output);
    const abortedUploads = await this.store(outputUrl).abortIncompleteUploads(`${runId}/`);
    return { abortedUploads };
  }

  /** Pause (no new shards start; running ones finish) or un-pause a running run. */
  async setPaused(runId: string, paused: boolean): Promise<void> {
    await this.checkRunning(runId);
    await this.client.workflow.getHandle(runId).signal(paused ? pauseSignal : unpauseSignal);
  }

  /** Changes how many shards run at once, while the run goes on. */
  async setWindow(runId: string, size: number): Promise<void> {
    checkWindow(size);
    await this.checkRunning(runId);
    await this.client.workflow.getHandle(runId).signal(setWindowSignal, size);
  }

  /** Every shard committed: a new execution would only find that out again. */
  private async completeRun(outputUrl: string, runId: string): Promise<{ shards: number } | undefined> {
    const manifest = await new RunObjects(this.store(outputUrl), runId).manifest();
    return manifest?.state === 'complete' ? { shards: manifest.totals.shards } : undefined;
  }

  private async checkRunning(runId: string): Promise<void> {
    if ((await this.workflowState(runId)) !== 'running') {
      throw new RunError('run-unknown', `run "${runId}" is not running; see: synfarm status ${runId}`);
    }
  }

  async cancel(runId: string): Promise<void> {
    const state = await this.workflowState(runId);
    if (state !== 'running' && state !== 'unknown') {
      throw new RunError('run-unknown', `run "${runId}" is not running (${state}): nothing to cancel`);
    }
    try {
      await this.client.workflow.getHandle(runId).cancel();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError)
        throw new RunError('run-unknown', `Temporal has no run "${runId}"`);
      throw err;
    }
  }

  async workflowState(runId: string): Promise<RunStatus['workflow']> {
    try {
      const desc = await this.client.workflow.getHandle(runId).describe();
      const map: Record<string, RunStatus['workflow']> = {
        RUNNING: 'running',
        COMPLETED: 'completed',
        FAILED: 'failed',
        CANCELLED: 'cancelled',
        TERMINATED: 'terminated',
        TIMED_OUT: 'timed-out',
        CONTINUED_AS_NEW: 'continued',
      };
      return map[desc.status.name] ?? 'unknown';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return 'unknown';
      throw err;
    }
  }

  /** Progress from the workflow when it runs; committed counts from storage always. */
  async status(runId: string, output?: string): Promise<RunStatus> {
    const outputUrl = await this.outputOf(runId, output).catch((err) => {
      throw err;
    });
    const workflow = await this.workflowState(runId);
    const handle = this.client.workflow.getHandle(runId);
    const progress =
      workflow === 'running' ? await handle.query(progressQuery).catch(() => undefined) : undefined;
    let failure: string | undefined;
    if (workflow === 'failed') {
      failure = await handle.result().then(
        () => undefined,
        (err: Error & { cause?: Error }) => err.cause?.message ?? err.message,
      );
    }
    const store = this.store(outputUrl);
    const spec = await this.storedSpec(outputUrl, runId);
    const manifest = await new RunObjects(store, runId).manifest();
    return {
      runId,
      outputUrl,
      workflow,
      progress,
      committed: {
        shards: progress?.shards.committed ?? manifest?.totals.shards ?? 0,
        samples: manifest?.totals.samples ?? 0,
        plannedShards: spec.shardCount,
        plannedSamples: spec.targetSamples,
      },
      rejectsByReason: progress?.rejectsByReason ?? manifest?.rejectsByReason ?? {},
      classShortfall: Object.fromEntries(
        (manifest?.totals.classShortfall ?? [])
          .map((n, i) => [AFFECTNET_CLASSES[i] ?? String(i), n] as const)
          .filter(([, n]) => n > 0),
      ),
      failure,
      uiUrl: this.uiLink(runId),
    };
  }

  async list(): Promise<Array<{ runId: string; state: string; started?: Date; closed?: Date }>> {
    const out: Array<{ runId: string; state: string; started?: Date; closed?: Date }> = [];
    for await (const wf of this.client.workflow.list({ query: `WorkflowType = '${datasetWorkflow.name}'` })) {
      out.push({
        runId: wf.workflowId,
        state: wf.status.name.toLowerCase(),
        started: wf.startTime,
        closed: wf.closeTime,
      });
    }
    return out;
  }
}

function alreadyRunning(runId: string): RunError {
  return new RunError('run-running', `run "${runId}" is already running; see: synfarm status ${runId}`);
}
