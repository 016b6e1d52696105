import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openRun, type RunHandle, readRun, shardUrls } from '../consumer';
import { runKeys } from '../run/layout';
import { type InProcessFarm, s3Options, startFarm, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';
import { testStack } from './support/stack';

/**
 * The consumer over a real run made by the farm on the real Temporal server and local S3, read by
 * our reader and by Python's `webdataset` and `wids` (examples/python) without synfarm code.
 */
const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const python = path.join(root, '.venv', 'bin', 'python');

let farm: InProcessFarm;
let run: RunHandle;
let committed: string[];
let dir: string;

beforeAll(async () => {
  const setup = exec('bash', [path.join(root, 'scripts', 'python-env.sh')]);
  farm = await startFarm();
  // 42 samples in shards of 8: six shards, the last one holding 2.
  const spec = testSpec({ runId: uniqueId('consume'), target: 42, shardSize: 8 });
  await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
  await farm.client.client.workflow.getHandle(spec.runId).result();
  run = await openRun(spec.output, spec.runId, s3Options());
  committed = [];
  for await (const sample of readRun({ run, shuffle: false })) committed.push(sample.__key__);
  dir = await mkdtemp(path.join(tmpdir(), 'synfarm-consumer-py-'));
  await setup;
}, 300_000);

afterAll(async () => {
  await farm?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function pythonEnv(): NodeJS.ProcessEnv {
  const { s3 } = testStack();
  return {
    ...process.env,
    // The venv first: its `aws` (pinned in requirements.txt) serves webdataset's pipe: URLs.
    PATH: `${path.join(root, '.venv', 'bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    AWS_ACCESS_KEY_ID: s3.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    AWS_DEFAULT_REGION: s3.region,
  };
}

interface PythonResult {
  keys: string[];
  shards: number;
  perWorker: Record<string, string[]>;
  length: number;
  samples: { key: string; fields: string[] }[];
}

async function runPython(script: string, args: string[]): Promise<PythonResult> {
  const { stdout } = await exec(python, [path.join(root, 'examples', 'python', script), ...args], {
    env: pythonEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout);
}

async function presignedList(): Promise<string> {
  const file = path.join(dir, `${uniqueId('urls')}.txt`);
  await writeFile(
    file,
    `${(await shardUrls(run, { scheme: 'presigned', expiresInSeconds: 900 })).join('\n')}\n`,
  );
  return file;
}

function countKeys(keys: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

describe('consumer over a real farm run', () => {
  it('the run is complete: 42 committed samples in 6 shards', () => {
    expect(run.complete).toBe(true);
    expect(run.shards.map((s) => s.samples)).toEqual([8, 8, 8, 8, 8, 2]);
    expect(new Set(committed).size).toBe(42);
  });

  it('4 ranks x 2 workers: 11 samples per rank, every committed sample at least once, only 2 padded', async () => {
    const perRank: string[][] = [];
    for (let rank = 0; rank < 4; rank++) {
      const keys: string[] = [];
      for (let worker = 0; worker < 2; worker++) {
        for await (const s of readRun({ run, rank, worldSize: 4, worker, numWorkers: 2, seed: 3 }))
          keys.push(s.__key__);
      }
      perRank.push(keys);
    }
    expect(perRank.map((k) => k.length)).toEqual([11, 11, 11, 11]);
    const counts = countKeys(perRank.flat());
    expect([...counts.keys()].sort()).toEqual([...committed].sort());
    expect([...counts.values()].filter((n) => n === 2)).toHaveLength(2);
  });

  it('Python webdataset loader, 2 ranks x 2 workers over presigned URLs: every committed sample exactly once', async () => {
    const urls = await presignedList();
    const ranks = await Promise.all(
      [0, 1].map((rank) =>
        runPython('loader.py', [
          '--urls',
          urls,
          '--rank',
          String(rank),
          '--world-size',
          '2',
          '--workers',
          '2',
        ]),
      ),
    );
    expect(ranks.map((r) => Object.keys(r.perWorker).length)).toEqual([2, 2]);
    const keys = ranks.flatMap((r) => r.keys);
    expect(keys).toHaveLength(42);
    expect([...keys].sort()).toEqual([...committed].sort());
  });

  it('Python loader from the manifest via pipe:aws s3 cp with the custom endpoint: every sample once', async () => {
    const { s3 } = testStack();
    const manifest = await run.store.publicUrl(runKeys(run.runId).manifest, { expiresInSeconds: 900 });
    const result = await runPython('loader.py', [
      '--manifest',
      manifest,
      '--endpoint-url',
      s3.endpoint,
      '--workers',
      '2',
    ]);
    expect(result.shards).toBe(6);
    expect([...result.keys].sort()).toEqual([...committed].sort());
  });

  it('wids ShardListDataset on the wids index with presigned URLs: random access to every sample once', async () => {
    const index = await run.store.publicUrl(runKeys(run.runId).widsIndex, { expiresInSeconds: 900 });
    const result = await runPython('wids_example.py', [
      '--index',
      index,
      '--urls',
      await presignedList(),
      '--cache-dir',
      path.join(dir, 'wids-cache'),
      '--seed',
      '5',
    ]);
    expect(result.length).toBe(42);
    const keys = result.samples.map((s) => s.key);
    expect(keys).not.toEqual(committed); // random order...
    expect([...keys].sort()).toEqual([...committed].sort()); // ...over exactly the committed samples
    expect(result.samples[0]?.fields).toEqual(['.cls', '.jpg', '.json']);
  });
});
