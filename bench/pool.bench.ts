import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FarmClient } from '../client/runs';
import { PROJECT_ROOT } from '../infra/paths';
import { RunReportSchema } from '../report';
import { RunObjects } from '../run/objects';
import { resolveSpec } from '../spec';
import { compare, type Figures, median, type Side } from './compare';
import { benchStack } from './stack';

type Stack = Awaited<ReturnType<typeof benchStack>>;

interface Pool {
  child: ChildProcess;
  client: FarmClient;
  prefix: string;
}

/** `synfarm worker --processes N` on a queue prefix of its own, once every process polls. */
async function startPool(stack: Stack, processes: number): Promise<Pool> {
  const prefix = `bench-pool${processes}-${randomBytes(3).toString('hex')}-`;
  const creds = stack.s3.credentials!;
  const child = spawn(
    process.execPath,
    [path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'), 'worker', '--processes', String(processes)],
    {
      env: {
        ...process.env,
        SYNFARM_QUEUE_PREFIX: prefix,
        SYNFARM_TEMPORAL_ADDRESS: stack.temporal.address,
        SYNFARM_S3_ENDPOINT: String(stack.s3.endpoint),
        AWS_ACCESS_KEY_ID: creds.accessKeyId,
        AWS_SECRET_ACCESS_KEY: creds.secretAccessKey,
        AWS_REGION: String(stack.s3.region),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      output += d;
      if (output.includes('worker serving')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`worker --processes ${processes} exited ${code}:\n${output}`)),
    );
  });
  const client = await FarmClient.connect({ temporal: stack.temporal, s3: stack.s3, queuePrefix: prefix });
  return { child, client, prefix };
}

interface RunShape {
  samples: number;
  shardSize: number;
  /** The spec's filter.balanceBy; the default pipeline's is `calibrated`. */
  balanceBy: 'calibrated' | 'intended';
}

/**
 * One run of the default pipeline (procedural faces, FER ensemble, filter, commit); its seconds.
 * Adds the run's generated samples per committed one to `generated` (from its report).
 */
async function runOnce(stack: Stack, pool: Pool, shape: RunShape, generated: number[] = []): Promise<number> {
  const spec = resolveSpec({
    runId: `bench-pool-${randomBytes(4).toString('hex')}`,
    target: shape.samples,
    shardSize: shape.shardSize,
    image: { size: 224, format: 'jpg' },
    generator: { backend: 'procedural', batchSize: 16 },
    calibrator: { backend: 'ensemble', policy: 'synfer' },
    filter: { maxRounds: 1, balanceBy: shape.balanceBy },
    output: `s3://${stack.bucket}/bench`,
  });
  const t = performance.now();
  await pool.client.launch(spec, { window: 8 });
  await pool.client.client.workflow.getHandle(spec.runId).result();
  const seconds = (performance.now() - t) / 1000;
  const objects = new RunObjects(pool.client.store(spec.output), spec.runId);
  const report = await objects.requireJson(objects.keys.report, RunReportSchema, 'a completed run writes it');
  generated.push(report.generatedSamples / report.committedSamples);
  return seconds;
}

async function stopPool(pool: Pool): Promise<void> {
  const done = new Promise((resolve) => pool.child.once('exit', resolve));
  pool.child.kill('SIGTERM');
  await done;
  await pool.client.close();
}

/**
 * A node's throughput on the default pipeline, two comparisons, each interleaved in one command:
 *
 * - `--processes <cores>` against `--processes 1`, 96 samples in 16-sample shards: what the
 *   process pool adds, both pools up for the whole command (models loaded in a warm-up run).
 * - On the pool of `<cores>` processes, 512 samples in 256-sample shards, the class quota by
 *   calibrated label (the default) against quotas by intended label. Both commit the same count;
 *   a class the ensemble rarely reads as intended (disgust) is made up in deficit rounds whose
 *   samples mostly land in other classes and are trimmed, so the calibrated quota generates more
 *   per committed sample. Printed beside the times: generated samples per committed one.
 */
export async function benchPool(samples = 96): Promise<Figures> {
  const stack = await benchStack();
  const cores = availableParallelism();
  const many = await startPool(stack, cores);
  const one = await startPool(stack, 1);
  try {
    const small = { samples, shardSize: 16, balanceBy: 'calibrated' } as const;
    const figures = await compare({
      name: 'default_pipeline',
      sides: [
        { name: `processes_${cores}`, run: () => runOnce(stack, many, small) },
        { name: 'processes_1', run: () => runOnce(stack, one, small) },
      ],
      ratio: 'time',
      work: { count: samples, unit: 'samples' },
      warmups: 1,
      cpu: false,
    });
    await stopPool(one);
    const large = { samples: 512, shardSize: 256 };
    const perCommitted = { calibrated: [] as number[], intended: [] as number[] };
    const quota = await compare({
      name: `default_pipeline_256_processes_${cores}`,
      sides: (['calibrated', 'intended'] as const).map((balanceBy) => ({
        name: `balance_by_${balanceBy}`,
        run: () => runOnce(stack, many, { ...large, balanceBy }, perCommitted[balanceBy]),
      })) as [Side, Side],
      ratio: 'time',
      work: { count: large.samples, unit: 'samples' },
      cpu: false,
    });
    for (const [balanceBy, ratios] of Object.entries(perCommitted)) {
      quota[`default_pipeline_256_processes_${cores}.balance_by_${balanceBy}.generated_per_committed`] =
        Number(median(ratios).toFixed(3));
    }
    return { cores, samplesPerRun: samples, ...figures, ...quota };
  } finally {
    await stopPool(many);
    if (one.child.exitCode === null && one.child.signalCode === null) await stopPool(one);
  }
}
