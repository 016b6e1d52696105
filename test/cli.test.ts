import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { uniqueId } from './support/farm';
import { stackEnv, testStack } from './support/stack';

const run = promisify(execFile);

/** Runs the real CLI against the test stack; resolves with exit code and both streams. */
async function synfarm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'), ...args],
      {
        env: {
          ...process.env,
          ...stackEnv(),
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

async function specFile(body: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-cli-'));
  const file = path.join(dir, 'spec.yaml');
  await writeFile(file, body);
  return file;
}

describe('the synfarm CLI', () => {
  it('--help lists every command users need', async () => {
    const { code, stdout } = await synfarm('--help');
    expect(code).toBe(0);
    for (const cmd of [
      'dev',
      'launch',
      'status',
      'resume',
      'cancel',
      'list',
      'worker',
      'urls',
      'read',
      'inspect',
      'render',
      'demo',
      'report',
      'pause',
      'unpause',
      'window',
    ]) {
      expect(stdout).toMatch(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    }
  });

  it('a bad spec is refused at launch with every bad field named, no stack trace', async () => {
    const file = await specFile('runId: Bad_Id\ntarget: lots\nshardsize: 10\noutput: ftp://x\n');
    const { code, stderr } = await synfarm('launch', file);
    expect(code).toBe(1);
    expect(stderr).toContain('runId');
    expect(stderr).toContain('target');
    expect(stderr).toMatch(/shardsize.*did you mean.*shardSize/i);
    expect(stderr).toContain('output');
    expect(stderr).not.toMatch(/\bat .*\.ts:\d+/);
  });

  it('an unknown calibrator model is one clear line at launch, before any run starts', async () => {
    const { s3 } = testStack();
    const runId = uniqueId('cli-backend');
    const file = await specFile(
      `runId: ${runId}\ntarget: 8\nshardSize: 8\ncalibrator: { models: [face-api-expression, vgg-face] }\noutput: s3://${s3.bucket}/cli\n`,
    );
    const { code, stderr } = await synfarm('launch', file);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('calibrator.models');
    expect(stderr).toContain('vgg-face');
  });

  it('a worker given a missing workflow bundle says how to build one', async () => {
    const { code, stderr } = await synfarm(
      'worker',
      '--queues',
      'workflows',
      '--workflow-bundle',
      '/nonexistent/bundle.js',
    );
    expect(code).toBe(1);
    expect(stderr).toContain('/nonexistent/bundle.js');
    expect(stderr).toContain('npm run build:workflows');
  });

  it('status of an unknown run says what to pass', async () => {
    const { code, stderr } = await synfarm('status', uniqueId('nope'));
    expect(code).toBe(1);
    expect(stderr).toContain('--output');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('render writes a face at the size asked, and records the prompt words it used', async () => {
    const out = path.join(await mkdtemp(path.join(tmpdir(), 'synfarm-render-')), 'face.png');
    const { code, stdout } = await synfarm(
      'render',
      '--class',
      'happy',
      '--au',
      '6:3,12:4',
      '--prompt',
      'elderly man with glasses',
      '--size',
      '160',
      '-o',
      out,
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/used: .*elderly.*glasses/);
    const meta = await sharp(out).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([160, 160, 'png']);
  });
});
