import { execFile } from 'node:child_process';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { synfarmCli } from './support/cli';
import { uniqueId } from './support/farm';
import { stackEnv, testStack } from './support/stack';

const run = promisify(execFile);

/** Runs the real CLI against the test stack (or `env` over it); resolves with exit code and both streams. */
async function synfarm(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return synfarmWith({}, ...args);
}

async function synfarmWith(
  env: Record<string, string>,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'), ...args],
      { env: { ...process.env, ...stackEnv(), ...env } },
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

  it('a numeric flag or argument out of range, or an unknown scheme, is refused before anything runs', async () => {
    const file = await specFile('runId: window-zero\ntarget: 8\noutput: file:///tmp/never-written\n');
    for (const [args, said] of [
      [
        ['launch', file, '--window', '0'],
        /--window <n>' argument '0' is invalid. expected a whole number >= 1/,
      ],
      [['launch', file, '--window', 'abc'], /--window <n>' argument 'abc' is invalid/],
      [
        ['window', 'some-run', '0'],
        /value '0' is invalid for argument 'shards'. expected a whole number >= 1/,
      ],
      [['read', 'some-run', '--limit', '-1'], /--limit <n>' argument '-1' is invalid/],
      [['urls', 'some-run', '--scheme', 'ftp'], /Allowed choices are s3, pipe, presigned/],
    ] as const) {
      const { code, stdout, stderr } = await synfarm(...args);
      expect(code, args.join(' ')).toBe(1);
      expect(stderr).toMatch(said);
      expect(stdout).toBe('');
    }
  });

  it('a Temporal that cannot be reached is named, with how to start it, in one line', async () => {
    const { code, stderr } = await synfarmWith(
      { SYNFARM_TEMPORAL_ADDRESS: '127.0.0.1:1' },
      'status',
      'any-run',
    );
    expect(code).toBe(1);
    expect(stderr).toMatch(/Cannot reach Temporal at 127\.0\.0\.1:1 .*synfarm dev up/);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('report of a run that is not at the output URL says so and writes nothing there', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-noreport-'));
    const { code, stdout, stderr } = await synfarm('report', 'nope', '--output', `file://${dir}`);
    expect(code).toBe(1);
    expect(stderr).toContain('the run was never launched here');
    expect(stdout).toBe('');
    expect(await readdir(dir)).toEqual([]);
  });

  it('status of an unknown run says what to pass', async () => {
    const { code, stderr } = await synfarm('status', uniqueId('nope'));
    expect(code).toBe(1);
    expect(stderr).toContain('--output');
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it("client commands connect with the workers' config: namespace from env or SYNFARM_CONFIG, API key turns TLS on, unprinted", async () => {
    expect((await synfarmCli(['list'])).code).toBe(0);
    const fromEnv = uniqueId('ns-env');
    const env = await synfarmCli(['list'], { SYNFARM_TEMPORAL_NAMESPACE: fromEnv });
    expect(env.code).toBe(1);
    expect(env.stderr).toContain(fromEnv);
    const fromFile = uniqueId('ns-file');
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-cli-cfg-'));
    const cfg = path.join(dir, 'synfarm.yaml');
    await writeFile(cfg, `temporal: { namespace: ${fromFile} }\n`);
    const file = await synfarmCli(['status', 'some-run'], { SYNFARM_CONFIG: cfg });
    expect(file.code).toBe(1);
    expect(file.stderr).toContain(fromFile);
    // The test server speaks plaintext: a client that honours the key tries TLS and cannot connect.
    const secret = `tcld-${uniqueId('secret')}`;
    const keyed = await synfarmCli(['list'], { SYNFARM_TEMPORAL_API_KEY: secret });
    expect(keyed.code).toBe(1);
    expect(keyed.stdout + keyed.stderr).not.toContain(secret);
  }, 120_000);

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
    // A name that promises another format gets nothing written, not JPEG bytes under that name.
    const gif = out.replace(/png$/, 'gif');
    const refused = await synfarm('render', '-o', gif);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('expected a file name ending in .png, .jpg or .jpeg');
    await expect(sharp(gif).metadata()).rejects.toThrow();
  });
});
