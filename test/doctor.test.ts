import { describe, expect, it } from 'vitest';
import { synfarmCli } from './support/cli';
import { testStack } from './support/stack';

const lines = (out: string) => out.trim().split('\n');

describe('synfarm doctor: one line per check, against the real test stack', () => {
  it('a worker configured for the stack passes every check and exits 0', async () => {
    const { code, stdout, stderr } = await synfarmCli(['doctor'], {
      SYNFARM_S3_BUCKET: testStack().s3.bucket,
    });
    expect(stderr).toBe('');
    const out = lines(stdout);
    expect(out.map((l) => l.split(/\s+/)[1])).toEqual(['temporal', 's3', 'tfjs', 'models', 'clock', 'disk']);
    for (const l of out) expect(l).toMatch(/^ok {4}/);
    expect(stdout).toContain(`namespace "${testStack().temporal.namespace}" exists`);
    expect(stdout).toMatch(/bucket "synfarm-test" .*credentials work, writable/);
    expect(stdout).toMatch(/TF\.js (wasm|cpu) [\d.]+ on cpu/);
    expect(code).toBe(0);
  }, 120_000);

  it('a wrong S3 key, a missing namespace and a GPU that is not there each fail with what to do', async () => {
    const { code, stdout } = await synfarmCli(['doctor', '--namespace', 'no-such-ns', '--gpu', '0'], {
      SYNFARM_S3_BUCKET: testStack().s3.bucket,
      AWS_SECRET_ACCESS_KEY: 'not-the-secret',
    });
    expect(code).toBe(1);
    const byCheck = Object.fromEntries(lines(stdout).map((l) => [l.split(/\s+/)[1], l]));
    expect(byCheck.s3).toMatch(
      /^FAIL {2}s3 +S3 rejected the credentials for bucket "synfarm-test".*check AWS_ACCESS_KEY_ID/,
    );
    expect(byCheck.s3).not.toContain('not-the-secret');
    expect(byCheck.temporal).toMatch(
      /^FAIL .*namespace "no-such-ns" does not exist; fix: create it \(temporal operator namespace create no-such-ns\)/,
    );
    expect(byCheck.tfjs).toMatch(/^FAIL .*but a GPU was asked for; fix: install @tensorflow\/tfjs-node-gpu/);
    expect(byCheck.models).toMatch(/^ok /);
    expect(byCheck.disk).toMatch(/^ok /);
  }, 120_000);

  it('an unreachable Temporal is named with its address, also in --json', async () => {
    const { code, stdout } = await synfarmCli(['doctor', '--json', '--temporal-address', '127.0.0.1:1'], {
      SYNFARM_S3_BUCKET: testStack().s3.bucket,
    });
    expect(code).toBe(1);
    const results = JSON.parse(stdout) as { check: string; ok: boolean; detail: string; fix?: string }[];
    expect(results[0]).toMatchObject({ check: 'temporal', ok: false });
    expect(results[0]!.detail).toMatch(/^cannot reach Temporal at 127\.0\.0\.1:1/);
    expect(results[0]!.fix).toMatch(/SYNFARM_TEMPORAL_ADDRESS/);
    expect(results.filter((r) => !r.ok).map((r) => r.check)).toEqual(['temporal']);
  }, 120_000);
});
