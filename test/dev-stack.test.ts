import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { devDown, devStatus, devUp, temporalDbFile } from '../infra/dev-stack';
import { DevStackError } from '../infra/errors';
import { ensureTool } from '../infra/tools';
import { TEST_STACK_CONFIG } from './global-setup';
import { testStack } from './support/stack';

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

describe('embedded dev stack', () => {
  it('dev up is idempotent: a second call reuses the running servers', async () => {
    const before = await devStatus(TEST_STACK_CONFIG);
    const info = await devUp(TEST_STACK_CONFIG);
    const after = await devStatus(TEST_STACK_CONFIG);
    expect(info.s3.endpoint).toBe(testStack().s3.endpoint);
    expect(after.temporal.pid).toBe(before.temporal.pid);
    expect(after.s3.pid).toBe(before.s3.pid);
    expect(after.temporal.healthy && after.s3.healthy).toBe(true);
  });

  it("Temporal's SQLite store keeps a write-ahead log, not a rollback journal", async () => {
    const { open } = await import('node:fs/promises');
    const file = await open(temporalDbFile(TEST_STACK_CONFIG), 'r');
    try {
      const header = Buffer.alloc(20);
      await file.read(header, 0, 20, 0);
      expect(header.subarray(0, 16).toString('latin1')).toBe('SQLite format 3\0');
      // The file format's write and read versions: 1 for a rollback journal, 2 for WAL.
      expect([header[18], header[19]]).toEqual([2, 2]);
    } finally {
      await file.close();
    }
  });

  it('the servers listen on 127.0.0.1 only', async () => {
    const { readFile } = await import('node:fs/promises');
    const table = await readFile('/proc/net/tcp', 'utf8');
    const ports = [
      TEST_STACK_CONFIG.temporalPort,
      TEST_STACK_CONFIG.temporalUiPort,
      TEST_STACK_CONFIG.s3Port,
    ];
    for (const p of ports) {
      const hex = p.toString(16).toUpperCase().padStart(4, '0');
      const listening = table
        .split('\n')
        .filter((l) => l.includes(`:${hex} `) && l.trim().split(/\s+/)[3] === '0A')
        .map((l) => l.trim().split(/\s+/)[1]);
      expect(listening.length, `port ${p} should be listening`).toBeGreaterThan(0);
      for (const local of listening) expect(local).toBe(`0100007F:${hex}`);
    }
  });

  it('a taken port gives one clear line naming the port and the variable to change, and starts nothing', async () => {
    const blocker = await listen(29999);
    const stateDir = await mkdtemp(path.join(tmpdir(), 'synfarm-port-'));
    try {
      const err = await devUp({ stateDir, temporalPort: 29998, temporalUiPort: 29997, s3Port: 29999 }).catch(
        (e) => e,
      );
      expect(err).toBeInstanceOf(DevStackError);
      expect(err.code).toBe('port-in-use');
      expect(err.message).toMatch(/port 29999 .*SYNFARM_S3_PORT/);
      expect(err.message).not.toContain('\n');
      const status = await devStatus({ stateDir, temporalPort: 29998, temporalUiPort: 29997, s3Port: 29999 });
      expect(status.temporal.running).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('a missing Go toolchain, with nothing built, says what to install', async () => {
    const saved = { path: process.env.PATH, tools: process.env.SYNFARM_TOOLS_DIR };
    process.env.PATH = '/nonexistent';
    process.env.SYNFARM_TOOLS_DIR = await mkdtemp(path.join(tmpdir(), 'synfarm-tools-'));
    try {
      const err = await ensureTool('versitygw').catch((e) => e);
      expect(err).toBeInstanceOf(DevStackError);
      expect(err.code).toBe('go-missing');
      expect(err.message).toMatch(/install Go/);
    } finally {
      process.env.PATH = saved.path;
      process.env.SYNFARM_TOOLS_DIR = saved.tools;
    }
  });

  it('dev down never signals a process that reused a recorded pid', async () => {
    const { spawn } = await import('node:child_process');
    const { mkdir, writeFile } = await import('node:fs/promises');
    const stateDir = await mkdtemp(path.join(tmpdir(), 'synfarm-pid-'));
    // A live process that is not ours (even its command line names our binary), recorded as if
    // it were our Temporal server: only its start time gives it away.
    const stranger = spawn('/bin/sh', ['-c', 'sleep 30; : /somewhere/temporal'], { stdio: 'ignore' });
    try {
      await mkdir(path.join(stateDir, 'pids'), { recursive: true });
      await writeFile(
        path.join(stateDir, 'pids', 'temporal.pid'),
        JSON.stringify({ pid: stranger.pid, binary: '/somewhere/temporal', startTicks: '1' }),
      );
      const config = { stateDir, temporalPort: 29991, temporalUiPort: 29992, s3Port: 29993 };
      expect((await devStatus(config)).temporal.running).toBe(false);
      expect(await devDown(config)).toEqual([]);
      expect(stranger.exitCode).toBeNull();
      expect(stranger.signalCode).toBeNull();
    } finally {
      stranger.kill();
    }
  });
});
