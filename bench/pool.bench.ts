import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { FarmClient } from '../client/runs';
import { PROJECT_ROOT } from '../infra/paths';
import { resolveSpec } from '../spec';
import { compare, type Figures } from './compare';
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

/** One run of the default pipeline (procedural faces, FER ensemble, filter, commit); its seconds. */
async function runOnce(stack: Stack, pool: Pool, samples: number): Promise<number> {
  const spec = resolveSpec({
    runId: `bench-pool-${randomBytes(4).toString('hex')}`,
    target: samples,
    shardSize: 16,
    image: { size: 224, format: 'jpg' },
    generator: { backend: 'procedural', batchSize: 16 },
    calibrator: { backend: 'ensemble', policy: 'synfer' },
    filter: { maxRounds: 1 },
    output: `s3://${stack.bucket}/bench`,
  });
  const t = performance.now();
  await pool.client.launch(spec, { window: 8 });
  await pool.client.client.workflow.getHandle(spec.runId).result();
  return (performance.now() - t) / 1000;
}

async function stopPool(pool: Pool): Promise<void> {
  const done = new Promise((resolve) => pool.child.once('exit', resolve));
  pool.child.kill('SIGTERM');
  await done;
  await pool.client.close();
}

/**
 * A node's throughput on the default pipeline: `--processes <cores>` against `--processes 1`,
 * both pools up for the whole command (models loaded in a warm-up run), runs interleaved.
 */
export async function benchPool(samples = 96): Promise<Figures> {
  const stack = await benchStack();
  const cores = availableParallelism();
  const many = await startPool(stack, cores);
  const one = await startPool(stack, 1);
  try {
    const figures = await compare({
      name: 'default_pipeline',
      sides: [
        { name: `processes_${cores}`, run: () => runOnce(stack, many, samples) },
        { name: 'processes_1', run: () => runOnce(stack, one, samples) },
      ],
      ratio: 'time',
      work: { count: samples, unit: 'samples' },
      warmups: 1,
      cpu: false,
    });
    return { cores, samplesPerRun: samples, ...figures };
  } finally {
    await stopPool(many);
    await stopPool(one);
  }
}
