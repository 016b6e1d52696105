import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../../infra/paths';
import { stackEnv } from './stack';

const run = promisify(execFile);

export const SYNFARM_BIN = path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs');

/** Runs the real CLI against the test stack (env overrides on top); never throws on a non-zero exit. */
export async function synfarmCli(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [SYNFARM_BIN, ...args], {
      env: { ...process.env, ...stackEnv(), ...env },
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
