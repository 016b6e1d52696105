import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import {
  decodeSamples,
  openRun,
  type RunHandle,
  readRun,
  shardUrls,
  syntheticImages,
  writeSyntheticRun,
} from '../consumer';
import { openStore, type StoreOptions } from '../storage';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

export interface BenchConsumerArgs {
  /** S3 options for the run's store (endpoint, region, credentials), e.g. the dev stack's. */
  storeOptions: StoreOptions;
  outputUrl: string;
  runId: string;
}

/**
 * Read throughput over the same committed shards of one run: our streaming reader against Python's
 * webdataset (examples/python/loader.py, one process, no workers), each with decoding off (bytes
 * only) and on (JPEG to pixels, json and cls parsed). MB/s counts the shards' tar bytes for both.
 * Without arguments it writes a synthetic run (6 shards x 250 samples of 112-px JPEGs) into a temp
 * folder; pass a run on the dev stack's S3 to measure over the network path.
 */
export async function benchConsumer(args?: BenchConsumerArgs): Promise<Record<string, number>> {
  let cleanup = async () => {};
  let run: RunHandle;
  if (args) {
    run = await openRun(args.outputUrl, args.runId, args.storeOptions);
  } else {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-bench-consumer-'));
    cleanup = () => rm(dir, { recursive: true, force: true });
    const store = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(store, 'bench', [250, 250, 250, 250, 250, 250], {
      images: await syntheticImages(16, 112),
    });
    run = await openRun(store.url, 'bench');
  }
  try {
    const bytes = run.shards.reduce((n, s) => n + s.bytes, 0);
    const samples = run.shards.reduce((n, s) => n + s.samples, 0);
    const figures: Record<string, number> = { shards: run.shards.length, samples, megabytes: bytes / 1e6 };
    const record = (name: string, seconds: number) => {
      figures[`${name}SamplesPerSecond`] = samples / seconds;
      figures[`${name}MegabytesPerSecond`] = bytes / 1e6 / seconds;
    };
    record('ts', await timeTs(run, false));
    record('tsDecode', await timeTs(run, true));
    const python = await timePython(run, false);
    if (python !== undefined) {
      record('python', python);
      record('pythonDecode', (await timePython(run, true)) as number);
    }
    return figures;
  } finally {
    await cleanup();
  }
}

async function timeTs(run: RunHandle, decode: boolean): Promise<number> {
  const start = performance.now();
  let n = 0;
  const samples = readRun({ run, shuffle: false });
  if (decode) {
    for await (const _ of decodeSamples(samples, { concurrency: 4 })) n++;
  } else {
    for await (const _ of samples) n++;
  }
  if (n === 0) throw new Error('the run has no committed samples to read');
  return (performance.now() - start) / 1000;
}

/** Seconds the Python loader reports for its own read loop (interpreter start excluded). */
async function timePython(run: RunHandle, decode: boolean): Promise<number | undefined> {
  try {
    await exec('bash', [path.join(root, 'scripts', 'python-env.sh')]);
  } catch {
    return undefined; // no Python here: the TS figures still stand
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-bench-urls-'));
  try {
    const list = path.join(dir, 'urls.txt');
    await writeFile(list, `${(await shardUrls(run, { scheme: 'presigned' })).join('\n')}\n`);
    const { stdout } = await exec(
      path.join(root, '.venv', 'bin', 'python'),
      [
        path.join(root, 'examples', 'python', 'loader.py'),
        '--urls',
        list,
        '--workers',
        '0',
        ...(decode ? ['--decode'] : []),
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    return (JSON.parse(stdout) as { seconds: number }).seconds;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(await benchConsumer());
}

/** The same comparison over the dev stack's S3 (`synfarm dev up`), which is what clusters read from. */
export async function benchConsumerS3(): Promise<Record<string, number>> {
  const { benchStack } = await import('./stack');
  const stack = await benchStack();
  const store = openStore(`s3://${stack.bucket}/bench-consumer`, stack.s3);
  await writeSyntheticRun(store, 'bench', [250, 250, 250, 250, 250, 250], {
    images: await syntheticImages(16, 112),
  });
  return benchConsumer({ storeOptions: stack.s3, outputUrl: store.url, runId: 'bench' });
}
