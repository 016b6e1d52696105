import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths';
import { testStack } from './stack';

/**
 * A farm worker as a separate OS process (the real CLI), so a test can SIGKILL it at any
 * instant, exactly as a crashed GPU node would die.
 */
export function spawnWorker(queuePrefix: string, env: Record<string, string> = {}): ChildProcess {
  const { s3, temporal } = testStack();
  const child = spawn(
    process.execPath,
    [
      path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'),
      'worker',
      '--queues',
      'all',
      '--queue-prefix',
      queuePrefix,
    ],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        SYNFARM_TEMPORAL_ADDRESS: temporal.address,
        SYNFARM_S3_ENDPOINT: s3.endpoint,
        AWS_ACCESS_KEY_ID: s3.accessKeyId,
        AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
        AWS_REGION: s3.region,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  Object.defineProperty(child, 'output', { get: () => output });
  return child;
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
}
