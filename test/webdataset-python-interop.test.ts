import { execFile } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSamples, readTar, type Sample, writeTar } from '../webdataset/index';

/**
 * Shards must be readable by the real Python `webdataset` package (pinned in
 * examples/python/requirements.txt, installed into .venv by scripts/python-env.sh), and shards it
 * writes must be readable by us.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
const python = path.join(root, '.venv', 'bin', 'python');
const script = (name: string) => path.join(root, 'examples', 'python', name);

async function runPython(name: string, args: string[]): Promise<string> {
  const { stdout } = await run(python, [script(name), ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout;
}

let dir: string;

beforeAll(async () => {
  await run('bash', [path.join(root, 'scripts', 'python-env.sh')]);
  dir = await mkdtemp(path.join(tmpdir(), 'synfarm-wds-interop-'));
}, 600_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const sizes = [
  [112, 112],
  [96, 80],
  [64, 120],
  [33, 17],
] as const;

async function ourSamples(): Promise<Sample[]> {
  return Promise.all(
    sizes.map(async ([width, height], index) => ({
      __key__: `000007_${String(index).padStart(6, '0')}`,
      jpg: new Uint8Array(
        await sharp({ create: { width, height, channels: 3, background: { r: 40 * index, g: 120, b: 200 } } })
          .jpeg({ quality: 85 })
          .toBuffer(),
      ),
      json: JSON.stringify({
        intended: index,
        calibrated: (index + 1) % 8,
        soft: [0.25, 0.75],
        prompt: 'a face',
      }),
      cls: String((index + 1) % 8),
    })),
  );
}

async function writeShard(file: string, samples: Sample[]): Promise<void> {
  await pipeline(Readable.from(writeTar(samples)), createWriteStream(file));
}

describe('Python webdataset interop', () => {
  it('Python webdataset decodes the samples our writer stored (jpg via PIL, json, cls)', async () => {
    const file = path.join(dir, 'ours.tar');
    await writeShard(file, await ourSamples());
    const summary = JSON.parse(await runPython('read_shard.py', [file]));
    expect(summary.samples).toEqual(
      sizes.map(([width, height], index) => ({
        key: `000007_${String(index).padStart(6, '0')}`,
        url: file,
        fields: ['cls', 'jpg', 'json'],
        image: { field: 'jpg', width, height, mode: 'RGB' },
        json: { intended: index, calibrated: (index + 1) % 8, soft: [0.25, 0.75], prompt: 'a face' },
        cls: (index + 1) % 8,
      })),
    );
  });

  it("lays out the tar byte for byte as Python's tarfile does in USTAR format", async () => {
    const file = path.join(dir, 'layout.tar');
    const copy = path.join(dir, 'layout-python.tar');
    await writeShard(file, await ourSamples());
    await runPython('retar_ustar.py', [file, copy]);
    const [ours, theirs] = await Promise.all([readFile(file), readFile(copy)]);
    expect(ours.length).toBe(theirs.length);
    expect(ours.equals(theirs)).toBe(true);
  });

  it('reads exactly the samples webdataset.TarWriter wrote, PAX headers and long names included', async () => {
    const file = path.join(dir, 'theirs.tar');
    const written: { samples: { key: string; fields: Record<string, string> }[] } = JSON.parse(
      await runPython('write_shard.py', [file, '5']),
    );
    const samples = [];
    for await (const sample of readSamples(createReadStream(file), { name: file })) samples.push(sample);
    expect(samples).toEqual(
      written.samples.map(({ key, fields }) => ({
        __key__: key,
        __url__: file,
        ...Object.fromEntries(
          Object.entries(fields).map(([field, base64]) => [
            field,
            new Uint8Array(Buffer.from(base64, 'base64')),
          ]),
        ),
      })),
    );
    expect(samples.map((s) => s.__key__)).toContain(`long_${'k'.repeat(120)}`);
    // TarWriter's float mtimes put a PAX header before every member: proof that path was exercised.
    for await (const member of readTar(createReadStream(file)))
      expect(member.dataOffset - member.offset).toBe(1536);
  });
});
