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

/** Start time of a process in clock ticks since boot (/proc/<pid>/stat field 22), if readable. */
async function startTicks(pid: number): Promise<string | undefined> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
  return stat?.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** What a pid file records: enough to tell our server from a process that reused its pid. */
interface PidRecord {
  pid: number;
  binary: string;
  startTicks?: string;
}

/**
 * The pid in the file if that process is still the one we started (same pid, same binary, same
 * start time), else undefined: `down` must never signal a process that merely reused the pid.
 */
export async function runningPid(proc: ManagedProcess): Promise<number | undefined> {
  let record: PidRecord;
  try {
    record = JSON.parse(await readFile(proc.pidFile, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
  if (!Number.isInteger(record.pid) || !isAlive(record.pid)) return undefined;
  const ticks = await startTicks(record.pid);
  if (ticks !== undefined && record.startTicks !== undefined)
    return ticks === record.startTicks ? record.pid : undefined;
  // No /proc (macOS): fall back to the command line when the platform shows it, else trust the file.
  const cmdline = await readFile(`/proc/${record.pid}/cmdline`, 'utf8').catch(() => undefined);
  if (cmdline !== undefined && !cmdline.startsWith(record.binary)) return undefined;
  return record.pid;
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
  const record: PidRecord = { pid, binary, startTicks: await startTicks(pid) };
  await writeFile(proc.pidFile, `${JSON.stringify(record)}\n`);
  return pid;
}

export async function stopProcess(proc: ManagedProcess, graceMs = 10_000): Promise<boolean> {
  const pid = await runningPid(proc);
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
