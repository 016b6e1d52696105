import { type ChildProcess, spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FarmClient } from '../client/runs';
import { PROJECT_ROOT } from '../infra/paths';
import { runKeys } from '../run/layout';
import { SidecarSchema } from '../run/sidecar';
import { exited } from './support/child-worker';
import { SYNFARM_BIN } from './support/cli';
import { connectClient, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';
import { stackEnv } from './support/stack';
import { waitUntil } from './support/wait';

// Own range per checkout, like the stack's ports; the pool uses PORT+1.. for Temporal's exporters.
const METRICS_PORT = 29464 + Number(process.env.SYNFARM_TEST_PORT_OFFSET ?? 0);

function startPool(prefix: string, processes: number, env: Record<string, string> = {}) {
  const child = spawn(
    process.execPath,
    [
      SYNFARM_BIN,
      'worker',
      '--queue-prefix',
      prefix,
      '--processes',
      String(processes),
      '--metrics-port',
      String(METRICS_PORT),
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, ...stackEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (d) => {
    output += d;
  });
  child.stderr.on('data', (d) => {
    output += d;
  });
  return { child, output: () => output };
}

/** `process i (pid N)` lines the supervisor prints when a child is ready. */
function readyPids(output: string): Map<number, number[]> {
  const pids = new Map<number, number[]>();
  for (const m of output.matchAll(/^process (\d+) \(pid (\d+)\): TF\.js (\S+)/gm)) {
    const i = Number(m[1]);
    pids.set(i, [...(pids.get(i) ?? []), Number(m[2])]);
  }
  return pids;
}

async function scrape(): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${METRICS_PORT}/metrics`);
  expect(res.status).toBe(200);
  return res.text();
}

/** Sum of a metric's samples whose labels include `labels` (e.g. 'reason="x"'). */
function metric(text: string, name: string, labels = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('synfarm worker --processes N: a supervised pool with one metrics endpoint', () => {
  const prefix = `${uniqueId('pool')}-`;
  let pool: ReturnType<typeof startPool>;
  let client: FarmClient;
  beforeAll(async () => {
    pool = startPool(prefix, 2, { SYNFARM_TEST_PART_DELAY_MS: '150' });
    client = await connectClient(prefix);
    await waitUntil(
      'both pool processes are ready',
      async () => readyPids(pool.output()).size === 2,
      180_000,
    ).catch((err) => {
      throw new Error(`${err.message}\n${pool.output()}`);
    });
  });
  afterAll(async () => {
    if (pool.child.exitCode === null) pool.child.kill('SIGKILL');
    await client?.close();
  });

  it('prints its process count, and each process its TF.js backend and device', () => {
    expect(pool.output()).toMatch(/^processes {2}2 \(from --processes\)$/m);
    expect(pool.output()).toMatch(/^process [01] \(pid \d+\): TF\.js (wasm|cpu) [\d.]+ on cpu \(/m);
  }, 180_000);

  it('counters scraped during and after a real run match the run’s sidecars', async () => {
    const spec = testSpec({
      runId: uniqueId('metrics'),
      target: 32,
      shardSize: 8,
      // Exactly the deficit per round, so every generated sample ends kept or rejected (an
      // over-generated surplus would be trimmed, counted in neither).
      filter: { testRejectFraction: 0.25, maxOvergeneration: 1 },
    });
    await client.launch(spec, { timeouts: TEST_TIMEOUTS, window: 2 });
    const handle = client.client.workflow.getHandle(spec.runId);
    // During the run: the endpoint answers with both process's Temporal metrics merged in.
    await waitUntil(
      'a sample is generated',
      async () => metric(await scrape(), 'synfarm_samples_generated_total') > 0,
      120_000,
    );
    const during = await scrape();
    expect(during).toMatch(/^temporal_\w+\{process="[01]"/m);
    expect(metric(during, 'synfarm_tfjs_backend_info')).toBe(2);
    await handle.result();

    const store = client.store(spec.output);
    let kept = 0;
    const rejects: Record<string, number> = {};
    for (let s = 0; s < spec.shardCount; s++) {
      const sidecar = SidecarSchema.parse(
        JSON.parse(Buffer.from(await store.get(runKeys(spec.runId).shardSidecar(s))).toString()),
      );
      kept += sidecar.samples;
      for (const [reason, n] of Object.entries(sidecar.rejectsByReason))
        rejects[reason] = (rejects[reason] ?? 0) + n;
    }
    const after = await scrape();
    const rejected = Object.values(rejects).reduce((a, b) => a + b, 0);
    expect(rejected).toBeGreaterThan(0);
    expect(metric(after, 'synfarm_samples_kept_total')).toBe(kept);
    for (const [reason, n] of Object.entries(rejects)) {
      expect(metric(after, 'synfarm_samples_rejected_total', `reason="${reason}"`)).toBe(n);
    }
    expect(metric(after, 'synfarm_samples_generated_total')).toBe(kept + rejected);
    expect(metric(after, 'synfarm_samples_calibrated_total')).toBe(kept + rejected);
    expect(metric(after, 'synfarm_stage_duration_seconds_count', 'stage="commit"')).toBe(spec.shardCount);
    expect(metric(after, 'synfarm_s3_requests_total', 'op="putStream"')).toBe(spec.shardCount);
    expect(metric(after, 'synfarm_s3_bytes_total', 'direction="out"')).toBeGreaterThan(0);
    // Only synfarm's own families and Temporal's: each declared once, whatever the process count.
    const types = after.split('\n').filter((l) => l.startsWith('# TYPE '));
    expect(new Set(types).size).toBe(types.length);
  }, 180_000);

  it('a child that dies is restarted; SIGTERM drains every child and the pool exits 0', async () => {
    const [victim] = readyPids(pool.output()).get(1)!;
    process.kill(victim!, 'SIGKILL');
    await waitUntil(
      'process 1 is restarted',
      async () => (readyPids(pool.output()).get(1)?.length ?? 0) === 2,
      120_000,
    );
    expect(pool.output()).toMatch(/process 1 exited \(SIGKILL\); restarting in/);
    const children = [...readyPids(pool.output()).values()].map((pids) => pids.at(-1)!);
    pool.child.kill('SIGTERM');
    expect(await exited(pool.child as ChildProcess)).toBe(0);
    expect(pool.output()).toMatch(/SIGTERM: draining 2 processes/);
    for (const pid of children) expect(alive(pid)).toBe(false);
  }, 180_000);
});
