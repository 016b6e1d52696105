import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths';
import { stackEnv } from './stack';

/**
 * A farm worker as a separate OS process (the real CLI), so a test can SIGKILL it at any
 * instant, exactly as a crashed GPU node would die.
 */
export function spawnWorker(queuePrefix: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'),
      'worker',
      '--queues',
      'all',
      '--queue-prefix',
      queuePrefix,
      // One process, so a SIGKILL of this pid is the death of the whole worker.
      '--processes',
      '1',
    ],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        ...stackEnv(),
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
