import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { connectionOptions } from '../infra/temporal-connection';
import {
  CONFIG_FIELDS,
  defaultProcesses,
  loadWorkerConfig,
  resolveTargets,
  WorkerConfigSchema,
} from '../workers/config';
import { synfarmCli } from './support/cli';
import { testStack } from './support/stack';

async function file(name: string, body: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-wcfg-'));
  const f = path.join(dir, name);
  await writeFile(f, body);
  return f;
}

describe('worker config: one schema from flags, env and a file', () => {
  it('flags beat env, env beats the file, the file beats defaults; each field says where it came from', async () => {
    const yaml = await file(
      'w.yaml',
      'temporal: { address: "file:7233", namespace: fromfile }\nprocesses: 3\nconcurrency: { cpu: 5 }\nmetricsPort: 9000\n',
    );
    const { config, origin } = await loadWorkerConfig({
      flags: { config: yaml, processes: '7' },
      env: { SYNFARM_TEMPORAL_ADDRESS: 'env:7233', SYNFARM_METRICS_PORT: '9100', SYNFARM_PROCESSES: '5' },
    });
    expect(config.temporal.address).toBe('env:7233');
    expect(config.temporal.namespace).toBe('fromfile');
    expect(config.processes).toBe(7);
    expect(config.metricsPort).toBe(9100);
    expect(config.concurrency).toEqual({ gpu: 2, cpu: 5 });
    expect(config.queues).toEqual(['workflows', 'gpu', 'cpu']);
    expect(origin).toMatchObject({
      'temporal.address': 'env SYNFARM_TEMPORAL_ADDRESS',
      'temporal.namespace': `file ${yaml}`,
      processes: '--processes',
      metricsPort: 'env SYNFARM_METRICS_PORT',
    });
  });

  it('reads JSON files and SYNFARM_CONFIG, and accepts queues as a list or "all"', async () => {
    const json = await file('w.json', JSON.stringify({ queues: 'gpu,cpu', s3: { bucket: 'b-1' } }));
    const { config } = await loadWorkerConfig({ env: { SYNFARM_CONFIG: json } });
    expect(config.queues).toEqual(['gpu', 'cpu']);
    expect(config.s3.bucket).toBe('b-1');
  });

  it('reports every bad value at once with field, value, expectation and source; never a secret', async () => {
    const yaml = await file('bad.yaml', 'metricsPort: 70000\nprocessess: 2\n');
    const err = await loadWorkerConfig({
      flags: { config: yaml, queues: 'gpu,tpu' },
      env: { SYNFARM_PROCESSES: 'many', SYNFARM_TEMPORAL_API_KEY: '' },
    }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'invalid-config' });
    const msg = (err as Error).message;
    expect(msg).toMatch(/processes: .*expected number.*got "many" \(from env SYNFARM_PROCESSES\)/);
    expect(msg).toMatch(/queues\.1: .*"workflows"\|"gpu"\|"cpu".*\(from --queues\)/);
    expect(msg).toMatch(/metricsPort: .*65535.*got 70000 \(from file .*bad\.yaml\)/);
    expect(msg).toMatch(/processess/);
    const secret = await loadWorkerConfig({
      flags: { config: await file('k.yaml', 'temporal: { apiKey: 42 }\n') },
    }).catch((e: Error) => e.message);
    expect(secret).toMatch(/temporal\.apiKey: .*expected string/);
    expect(secret).not.toContain('42');
  });

  it('a missing or unreadable config file is named', async () => {
    await expect(loadWorkerConfig({ flags: { config: '/nonexistent/w.yaml' } })).rejects.toThrow(
      /--config \/nonexistent\/w\.yaml: cannot read it/,
    );
  });

  it('default process count: one per core on the wasm/cpu path, one with a native backend, GPU or workflows only', () => {
    const base = WorkerConfigSchema.parse({});
    const none = () => false;
    expect(defaultProcesses(base, none, 6).processes).toBe(6);
    expect(defaultProcesses({ ...base, gpu: 0 }, none, 6).processes).toBe(1);
    expect(defaultProcesses({ ...base, tfjsBackend: 'node' }, none, 6).processes).toBe(1);
    expect(defaultProcesses(base, (n) => n === 'node-gpu', 6).processes).toBe(1);
    expect(defaultProcesses({ ...base, tfjsBackend: 'wasm' }, () => true, 6).processes).toBe(6);
    expect(defaultProcesses({ ...base, queues: ['workflows'] }, none, 6).processes).toBe(1);
  });

  it('--print-config shows the resolved settings with the API key masked, and exits', async () => {
    const { code, stdout } = await synfarmCli(
      ['worker', '--print-config', '--processes', '2', '--queues', 'cpu'],
      {
        SYNFARM_TEMPORAL_API_KEY: 'tcld-secret-value',
        SYNFARM_METRICS_PORT: '9464',
      },
    );
    expect(code).toBe(0);
    expect(stdout).not.toContain('tcld-secret-value');
    expect(stdout).not.toContain(testStack().s3.secretAccessKey);
    const shown = JSON.parse(stdout);
    expect(shown.temporal.apiKey).toBe('****');
    expect(shown).toMatchObject({ processes: 2, queues: ['cpu'], metricsPort: 9464 });
    expect(shown.origin).toMatchObject({ processes: '--processes', metricsPort: 'env SYNFARM_METRICS_PORT' });
    expect(shown.resolved.tls).toBe(true);
  }, 120_000);

  it('--help names every flag and env var the config table knows', async () => {
    const { stdout } = await synfarmCli(['worker', '--help']);
    for (const f of CONFIG_FIELDS) {
      if (f.flag) expect(stdout).toContain(f.flag[1]);
      expect(stdout).toContain(f.env![0]!);
    }
    expect(stdout).toContain('--print-config');
    expect(stdout).toContain('SYNFARM_CONFIG');
  }, 120_000);

  it('docs/worker-config.md lists every config key, flag and env var (the deploy files follow it)', async () => {
    const doc = await readFile(path.join(PROJECT_ROOT, 'docs', 'worker-config.md'), 'utf8');
    for (const f of CONFIG_FIELDS) {
      expect(doc).toContain(`\`${f.path}\``);
      if (f.flag) expect(doc).toContain(`\`${f.flag[1]}\``);
      for (const e of f.env ?? []) expect(doc).toContain(`\`${e}\``);
    }
  });

  it('TLS files become a client cert pair and CA; an API key alone turns TLS on', () => {
    const cert = Buffer.from('C');
    const key = Buffer.from('K');
    expect(
      connectionOptions({ address: 'h:7233', namespace: 'n', tls: { cert, key, serverName: 'srv' } }),
    ).toEqual({
      address: 'h:7233',
      tls: {
        serverNameOverride: 'srv',
        serverRootCACertificate: undefined,
        clientCertPair: { crt: cert, key },
      },
    });
    expect(connectionOptions({ address: 'h:7233', namespace: 'n', apiKey: 'k' })).toEqual({
      address: 'h:7233',
      tls: true,
      apiKey: 'k',
    });
    expect(connectionOptions({ address: 'h:7233', namespace: 'n' })).toEqual({ address: 'h:7233' });
  });

  it('the resolved config maps TLS files (cert, key, CA, server name) and the API key into connection options', async () => {
    const cert = await file('client.pem', 'CERT-PEM');
    const key = await file('client.key', 'KEY-PEM');
    const ca = await file('ca.pem', 'CA-PEM');
    const yaml = await file(
      'tls.yaml',
      `temporal: { address: "ns.acct.tmprl.cloud:7233", namespace: ns.acct, tls: { cert: ${cert}, key: ${key}, serverName: srv } }\n`,
    );
    const env = { SYNFARM_CONFIG: yaml, SYNFARM_TEMPORAL_TLS_CA: ca, SYNFARM_TEMPORAL_API_KEY: 'tcld-k' };
    const { config } = await loadWorkerConfig({ env });
    const target = (await resolveTargets(config, env)).temporal;
    expect(target.namespace).toBe('ns.acct');
    const opts = connectionOptions(target);
    expect(opts.address).toBe('ns.acct.tmprl.cloud:7233');
    expect(opts.apiKey).toBe('tcld-k');
    expect(opts.tls).toMatchObject({ serverNameOverride: 'srv' });
    const tls = opts.tls as { clientCertPair: { crt: Buffer; key: Buffer }; serverRootCACertificate: Buffer };
    expect(tls.clientCertPair.crt.toString()).toBe('CERT-PEM');
    expect(tls.clientCertPair.key.toString()).toBe('KEY-PEM');
    expect(tls.serverRootCACertificate.toString()).toBe('CA-PEM');
    // A cert without its key is refused by name rather than silently connecting without mTLS.
    const half = (await loadWorkerConfig({ env: { SYNFARM_TEMPORAL_TLS_CERT: cert } })).config;
    await expect(resolveTargets(half, {})).rejects.toThrow(/temporal\.tls: give both cert and key/);
  });
});
