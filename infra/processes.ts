import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** A server process the dev stack started, remembered by a pid file so `down` stops only ours. */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid in the file if that process still runs the binary we started, else undefined. */
export async function runningPid(proc: ManagedProcess, binary: string): Promise<number | undefined> {
  const pid = Number.parseInt(await readFile(proc.pidFile, 'utf8').catch(() => ''), 10);
  if (!Number.isInteger(pid) || !isAlive(pid)) return undefined;
  // A recycled pid must not be mistaken for our server (and then killed by `down`).
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline !== undefined && !cmdline.includes(path.basename(binary))) return undefined;
  return pid;
}

export async function startDetached(
  proc: ManagedProcess,
  binary: string,
  args: string[],
  env = {},
): Promise<number> {
  await mkdir(path.dirname(proc.pidFile), { recursive: true });
  await mkdir(path.dirname(proc.logFile), { recursive: true });
  const out = openSync(proc.logFile, 'a');
  // Detached and unref'd: the servers outlive the `synfarm dev up` process that started them.
  const child = spawn(binary, args, {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, ...env },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  child.unref();
  await writeFile(proc.pidFile, `${pid}\n`);
  return pid;
}

export async function stopProcess(proc: ManagedProcess, binary: string, graceMs = 10_000): Promise<boolean> {
  const pid = await runningPid(proc, binary);
  await rm(proc.pidFile, { force: true });
  if (pid === undefined) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return true;
}

export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function canConnect(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

export async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  intervalMs = 200,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await sleep(intervalMs);
  }
  return check();
}
