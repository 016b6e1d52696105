import { execFile } from 'node:child_process';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { FarmClient, RunStatus } from '../../client/runs';
import { PROJECT_ROOT } from '../../infra/paths';
import { runKeys, shardOfSidecar } from '../../run/layout';
import type { Spec } from '../../spec';

const exec = promisify(execFile);

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `synfarm <args>` as a user would, against the chaos stack (env), never throwing. */
export async function synfarm(args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await exec(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'), ...args],
      {
        cwd: PROJECT_ROOT,
        env: { ...process.env, ...env },
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** The run's workflow state, or undefined while Temporal cannot answer (it may be down on purpose). */
export async function stateOf(client: FarmClient, runId: string): Promise<RunStatus['workflow'] | undefined> {
  try {
    return await client.workflowState(runId);
  } catch {
    return undefined;
  }
}

/** Waits until the run's state is one of `states`, riding out server outages. */
export async function waitForState(
  client: FarmClient,
  runId: string,
  states: ReadonlyArray<RunStatus['workflow']>,
  timeoutMs: number,
  shouldStop: () => boolean = () => false,
): Promise<RunStatus['workflow']> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await stateOf(client, runId);
    if (state && states.includes(state)) return state;
    if (shouldStop()) return state ?? 'unknown';
    if (Date.now() > deadline)
      throw new Error(
        `run ${runId} did not reach ${states.join('|')} within ${timeoutMs / 1000} s (now ${state})`,
      );
    await sleep(500);
  }
}

/** The shards whose sidecar (the commit marker) is stored: committed, as the commit protocol defines it. */
export async function committedShardSet(client: FarmClient, spec: Spec): Promise<Set<number>> {
  const shards = new Set<number>();
  for await (const o of client.store(spec.output).list(runKeys(spec.runId).shardsPrefix)) {
    const shard = shardOfSidecar(o.key);
    if (shard !== undefined) shards.add(shard);
  }
  return shards;
}

/** How many shards are committed; 0 while versitygw is down on purpose. */
export async function committedShards(client: FarmClient, spec: Spec): Promise<number> {
  try {
    return (await committedShardSet(client, spec)).size;
  } catch {
    return 0; // counted again on the next call
  }
}
