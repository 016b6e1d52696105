import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { openRun, type RunHandle, shardUrls, syntheticImages, writeSyntheticRun } from '../consumer';
import { openStore, type StoreOptions } from '../storage';
import { compare, type Figures, type MaybeSide } from './compare';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
/**
 * 24 shards of 250 samples by default (SYNFARM_BENCH_CONSUMER_SHARDS sets the count). A loader
 * reads for hours; with 6 shards a TS process's one-time start-up inside the window (V8 compiling
 * the JPEG decoder and warming the reader, about 0.25 s) was a quarter of its time.
 */
const SHARDS: number[] = Array(shardCount(process.env.SYNFARM_BENCH_CONSUMER_SHARDS)).fill(250);

function shardCount(value: string | undefined): number {
  const count = Number(value ?? 24);
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`SYNFARM_BENCH_CONSUMER_SHARDS must be a whole number of shards >= 1; got "${value}"`);
  return count;
}

export interface BenchConsumerArgs {
  /** S3 options for the run's store (endpoint, region, credentials), e.g. the dev stack's. */
  storeOptions: StoreOptions;
  outputUrl: string;
  runId: string;
}

interface ReaderOutput {
  samples: number;
  start: number;
  end: number;
}

/**
 * Starts `processes` reader processes (rank r of `processes` each), all released at the same
 * instant, and returns the seconds from the first loop's start to the last one's end: interpreter
 * and module start-up are outside the figure, for both languages alike.
 */
async function readInProcesses(
  command: (rank: number, startAt: number) => [string, string[]],
  processes: number,
  expectSamples: number,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const startAt = Date.now() + 4000; // room for tsx / python start-up on a busy machine
  const outputs = await Promise.all(
    Array.from({ length: processes }, async (_, rank) => {
      const [file, args] = command(rank, startAt);
      const { stdout } = await exec(file, args, { cwd: root, env, maxBuffer: 16 * 1024 * 1024 });
      return JSON.parse(stdout.trim().split('\n').pop()!) as ReaderOutput;
    }),
  );
  const samples = outputs.reduce((n, o) => n + o.samples, 0);
  if (samples !== expectSamples) throw new Error(`readers saw ${samples} samples, expected ${expectSamples}`);
  const start = Math.min(...outputs.map((o) => o.start));
  return (Math.max(...outputs.map((o) => o.end)) - start) / 1000;
}

async function pythonCannotRun(): Promise<string | undefined> {
  try {
    await exec('bash', [path.join(root, 'scripts', 'python-env.sh')]);
    return undefined;
  } catch (error) {
    return `no Python webdataset here (${String((error as { stderr?: string }).stderr ?? error).trim()})`;
  }
}

/**
 * Read throughput over the same committed shards: synfarm's reader against Python's webdataset,
 * with the same parallelism on both sides: one process each, then one process per core each
 * (rank r of N takes its share), each process decoding one image at a time. Without decoding
 * (bytes only) and with it (JPEG to pixels via decodeImage / PIL, json and cls parsed). Each pair is
 * interleaved, 5 times; the ratio is TS throughput / Python throughput (> 1: TS is faster).
 * Without arguments it writes a synthetic run (SHARDS, 250 samples each, of 112-px JPEGs) into a
 * temp folder; pass a run on the dev stack's S3 to measure over the network path.
 */
export async function benchConsumer(args?: BenchConsumerArgs): Promise<Figures> {
  let cleanup = async () => {};
  let run: RunHandle;
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-bench-consumer-'));
  if (args) {
    run = await openRun(args.outputUrl, args.runId, args.storeOptions);
  } else {
    const store = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(store, 'bench', SHARDS, { images: await syntheticImages(16, 112) });
    run = await openRun(store.url, 'bench');
  }
  cleanup = () => rm(dir, { recursive: true, force: true });
  try {
    const samples = run.shards.reduce((n, s) => n + s.samples, 0);
    const list = path.join(dir, 'urls.txt');
    await writeFile(list, `${(await shardUrls(run, { scheme: 'presigned' })).join('\n')}\n`);
    const noPython = await pythonCannotRun();
    // The TS readers open the run themselves: an S3 run's endpoint and credentials reach them in
    // the environment (never on a command line, where other users could read them).
    const o = args?.storeOptions;
    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...(o?.endpoint ? { SYNFARM_S3_ENDPOINT: o.endpoint } : {}),
      ...(o?.region ? { AWS_REGION: o.region } : {}),
      ...(o?.credentials
        ? {
            AWS_ACCESS_KEY_ID: o.credentials.accessKeyId,
            AWS_SECRET_ACCESS_KEY: o.credentials.secretAccessKey,
          }
        : {}),
    };
    const figures: Figures = { 'consumer.shards': run.shards.length, 'consumer.samples': samples };
    const cores = Math.max(2, availableParallelism());
    for (const processes of [1, cores]) {
      for (const decode of [false, true]) {
        const flags = decode ? ['--decode'] : [];
        const ts: MaybeSide = {
          name: 'ts',
          run: () =>
            readInProcesses(
              (rank, startAt) => [
                process.execPath,
                [
                  '--import',
                  'tsx',
                  'bench/consumer/read-ts.ts',
                  '--output',
                  run.outputUrl,
                  '--run',
                  run.runId,
                  '--rank',
                  String(rank),
                  '--world-size',
                  String(processes),
                  '--start-at',
                  String(startAt),
                  ...flags,
                ],
              ],
              processes,
              samples,
              childEnv,
            ),
        };
        const python: MaybeSide = noPython
          ? { name: 'python', cannotRun: noPython }
          : {
              name: 'python',
              run: () =>
                readInProcesses(
                  (rank, startAt) => [
                    path.join(root, '.venv', 'bin', 'python'),
                    [
                      'bench/consumer/read_py.py',
                      '--urls',
                      list,
                      '--rank',
                      String(rank),
                      '--world-size',
                      String(processes),
                      '--start-at',
                      String(startAt),
                      ...flags,
                    ],
                  ],
                  processes,
                  samples,
                  process.env,
                ),
            };
        Object.assign(
          figures,
          await compare({
            name: `consumer.${decode ? 'decode' : 'bytes'}.${processes}_process${processes > 1 ? 'es' : ''}`,
            sides: [ts, python],
            ratio: 'rate',
            // Five, not three: on a shared machine one side's median moved by a quarter between runs.
            repetitions: 5,
            cpu: false,
            work: { count: samples, unit: 'samples' },
          }),
        );
      }
    }
    return figures;
  } finally {
    await cleanup();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchConsumer());
}

/** The same comparison over the dev stack's S3 (`synfarm dev up`), which is what clusters read from. */
export async function benchConsumerS3(): Promise<Figures> {
  const { benchStack } = await import('./stack');
  const stack = await benchStack();
  const store = openStore(`s3://${stack.bucket}/bench-consumer`, stack.s3);
  await writeSyntheticRun(store, 'bench', SHARDS, { images: await syntheticImages(16, 112) });
  return benchConsumer({ storeOptions: stack.s3, outputUrl: store.url, runId: 'bench' });
}
