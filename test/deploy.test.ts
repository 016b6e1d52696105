import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { PROJECT_ROOT } from '../infra/paths';
import { taskQueues } from '../workflows/task-queues';

/*
 * What this machine can check of infra/deploy/ (no Docker engine, no cluster here): every file
 * parses; every synfarm flag, env var and port the files give a worker is one the real CLI takes
 * (asked of `synfarm worker --help` and `--print-config`, which resolves and validates the whole
 * worker config without connecting); the ports and queue names agree across files; and the
 * Dockerfile's shell steps are valid, with its npm steps run for real in a scratch folder.
 */

const run = promisify(execFile);
const DEPLOY = path.join(PROJECT_ROOT, 'infra', 'deploy');
const CLI = path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML of several shapes, checked field by field below
type Doc = Record<string, any>;

async function yamlDocs(file: string): Promise<Doc[]> {
  const docs = YAML.parseAllDocuments(await readFile(file, 'utf8'), { merge: true });
  for (const d of docs) expect(d.errors, `${file}: ${d.errors.join('; ')}`).toEqual([]);
  return docs.map((d) => d.toJS({ maxAliasCount: 100 }) as Doc);
}

/** One way the files start a worker: its arguments and the environment it gets. */
interface Invocation {
  where: string;
  args: string[];
  env: Record<string, string>;
}

/** Env vars the files set that the worker config does not read, each with who reads it. */
const OTHER_READERS: Record<string, RegExp> = {
  // The AWS SDK's credential chain (the worker config leaves credentials to it on purpose).
  AWS_ACCESS_KEY_ID: /^AWS_ACCESS_KEY_ID$/,
  AWS_SECRET_ACCESS_KEY: /^AWS_SECRET_ACCESS_KEY$/,
  // log/logger.ts.
  SYNFARM_LOG_LEVEL: /^SYNFARM_LOG_LEVEL$/,
  // A ${NAME} reference of the http generator's URL (models/http-generator/secret-url.ts).
  GEN_TOKEN: /^GEN_TOKEN$/,
  // The Node runtime.
  NODE_ENV: /^NODE_ENV$/,
};

let compose: Doc;
let k8s: Map<string, Doc[]>;
let dockerfile: string;
let invocations: Invocation[];
let help: string;

function deployments(): Doc[] {
  return [...k8s.values()].flat().filter((d) => d?.kind === 'Deployment');
}

function byKind(kind: string, name: string): Doc {
  const found = [...k8s.values()].flat().find((d) => d?.kind === kind && d.metadata?.name === name);
  expect(found, `${kind} ${name}`).toBeDefined();
  return found as Doc;
}

async function printConfig(inv: Invocation): Promise<Doc> {
  // An empty state folder: no running dev stack may fill in what the files leave out.
  const state = await mkdtemp(path.join(tmpdir(), 'synfarm-deploy-'));
  try {
    const { stdout } = await run(process.execPath, [CLI, ...inv.args, '--print-config'], {
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        SYNFARM_STATE_DIR: state,
        ...inv.env,
      },
    });
    return JSON.parse(stdout) as Doc;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(
      `${inv.where}: synfarm ${inv.args.join(' ')} --print-config failed: ${e.stderr ?? e.message}`,
    );
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}

/** RUN instructions with their continuation lines joined. */
function runSteps(text: string): string[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .filter((l) => /^RUN\s/.test(l))
    .map((l) => l.replace(/^RUN\s+/, '').trim());
}

beforeAll(async () => {
  compose = (await yamlDocs(path.join(DEPLOY, 'compose.yaml')))[0]!;
  k8s = new Map();
  for (const name of (await readdir(path.join(DEPLOY, 'k8s'))).filter((n) => n.endsWith('.yaml'))) {
    k8s.set(name, await yamlDocs(path.join(DEPLOY, 'k8s', name)));
  }
  dockerfile = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  help = (await run(process.execPath, [CLI, 'worker', '--help'])).stdout;

  invocations = [];
  for (const [name, svc] of Object.entries(compose.services as Record<string, Doc>)) {
    if (!String(svc.image ?? '').startsWith('synfarm-worker')) continue;
    invocations.push({ where: `compose ${name}`, args: svc.command, env: svc.environment ?? {} });
  }
  const configMap = byKind('ConfigMap', 'synfarm-config').data as Record<string, string>;
  const secret = byKind('Secret', 'synfarm-secrets').stringData as Record<string, string>;
  for (const d of deployments()) {
    for (const c of d.spec.template.spec.containers as Doc[]) {
      const env: Record<string, string> = {};
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef)
          Object.assign(env, from.configMapRef.name === 'synfarm-config' ? configMap : {});
        if (from.secretRef) Object.assign(env, from.secretRef.name === 'synfarm-secrets' ? secret : {});
      }
      invocations.push({ where: `k8s ${d.metadata.name}/${c.name}`, args: c.args, env });
    }
  }
  // Each image stage's default command, with the ENV it sets.
  for (const stage of dockerfile.split(/^FROM /m).slice(1)) {
    const cmd = stage.match(/^CMD (\[.*\])$/m);
    if (!cmd) continue;
    const env = Object.fromEntries(
      [...stage.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as [string, string]),
    );
    invocations.push({ where: `Dockerfile ${stage.split(/\s/)[2]}`, args: JSON.parse(cmd[1]!), env });
  }
}, 120_000);

describe('infra/deploy', () => {
  it('starts workers in the compose file, every Deployment and every image stage', () => {
    const where = invocations.map((i) => i.where);
    expect(where).toEqual(
      expect.arrayContaining([
        'compose worker-gpu',
        'compose worker-cpu',
        'compose worker-workflows',
        'k8s synfarm-worker-gpu/worker',
        'k8s synfarm-worker-cpu/worker',
        'k8s synfarm-worker-workflows/worker',
        'Dockerfile cpu',
        'Dockerfile gpu',
      ]),
    );
    for (const inv of invocations) expect(inv.args[0], inv.where).toBe('worker');
  });

  it('uses only flags that `synfarm worker --help` lists', () => {
    const known = new Set(help.match(/--[a-z][a-z-]*/g));
    const unknown = invocations.flatMap((inv) =>
      inv.args.filter((a) => a.startsWith('--') && !known.has(a)).map((a) => `${inv.where}: ${a}`),
    );
    expect(unknown).toEqual([]);
  });

  it('gives every worker a config the CLI accepts, and sets only env vars something reads', async () => {
    const problems: string[] = [];
    // Two at a time: each is a whole CLI start-up.
    const shownAll: Doc[] = [];
    for (let i = 0; i < invocations.length; i += 2) {
      shownAll.push(...(await Promise.all(invocations.slice(i, i + 2).map(printConfig))));
    }
    for (const [i, inv] of invocations.entries()) {
      const shown = shownAll[i]!;
      const fromEnv = new Set(
        Object.values(shown.origin as Record<string, string>)
          .filter((o) => o.startsWith('env '))
          .map((o) => o.slice(4)),
      );
      for (const name of Object.keys(inv.env)) {
        if (fromEnv.has(name)) continue;
        if (Object.values(OTHER_READERS).some((re) => re.test(name))) continue;
        problems.push(`${inv.where}: ${name} is read by nothing`);
      }
      // Secrets given to the worker never show in what it prints.
      for (const secretName of ['SYNFARM_TEMPORAL_API_KEY', 'AWS_SECRET_ACCESS_KEY']) {
        const value = inv.env[secretName];
        if (value) expect(JSON.stringify(shown)).not.toContain(value);
      }
      // The metrics port the annotations and port mappings name is the one the worker serves.
      const k8sName = inv.where.match(/^k8s ([^/]+)/)?.[1];
      if (k8sName) {
        const pod = byKind('Deployment', k8sName).spec.template;
        const port = (pod.spec.containers[0].ports as Doc[]).find((p) => p.name === 'metrics')?.containerPort;
        expect(shown.metricsPort, `${inv.where} metrics port`).toBe(port);
        expect(Number(pod.metadata.annotations['prometheus.io/port']), `${inv.where} annotation`).toBe(port);
        expect(pod.metadata.annotations['prometheus.io/scrape']).toBe('true');
      }
      const composeName = inv.where.match(/^compose (.+)$/)?.[1];
      if (composeName && shown.metricsPort !== undefined) {
        const mapped = (compose.services[composeName].ports as string[]).map((p) =>
          Number(p.split(':').at(-1)),
        );
        expect(mapped, `${inv.where} publishes its metrics port`).toContain(shown.metricsPort);
      }
    }
    expect(problems).toEqual([]);
  }, 180_000);

  it('scales GPU workers with KEDA on the synfarm-gpu activity backlog, to zero', () => {
    const so = byKind('ScaledObject', 'synfarm-worker-gpu');
    const gpu = byKind('Deployment', so.spec.scaleTargetRef.name);
    const [trigger] = so.spec.triggers as Doc[];
    expect(trigger!.type).toBe('temporal');
    const meta = trigger!.metadata as Record<string, unknown>;
    // KEDA reads trigger metadata as strings only.
    for (const [k, v] of Object.entries(meta)) expect(typeof v, `metadata.${k}`).toBe('string');
    expect(meta.taskQueue).toBe(taskQueues().gpu);
    expect(meta.queueTypes).toBe('activity');
    expect(meta.activationTargetQueueSize).toBe('0');
    expect(so.spec.minReplicaCount).toBe(0);
    const configMap = byKind('ConfigMap', 'synfarm-config').data;
    expect(meta.endpoint).toBe(configMap.SYNFARM_TEMPORAL_ADDRESS);
    expect(meta.namespace).toBe(configMap.SYNFARM_TEMPORAL_NAMESPACE);
    // One replica's worth of backlog is what one GPU worker runs at once.
    const args = gpu.spec.template.spec.containers[0].args as string[];
    expect(meta.targetQueueSize).toBe(args[args.indexOf('--gpu-concurrency') + 1]);
    const auth = byKind('TriggerAuthentication', 'keda-temporal-auth');
    const secret = byKind('Secret', 'synfarm-secrets').stringData;
    for (const ref of auth.spec.secretTargetRef as Doc[]) expect(Object.keys(secret)).toContain(ref.key);
  });

  it('runs one process per GPU, and drains every worker within the same grace period', () => {
    const gpu = byKind('Deployment', 'synfarm-worker-gpu').spec.template.spec;
    const c = gpu.containers[0];
    expect(c.resources.limits['nvidia.com/gpu']).toBe(1);
    expect(c.args.slice(c.args.indexOf('--gpu'), c.args.indexOf('--gpu') + 2)).toEqual(['--gpu', '0']);
    expect(c.args.slice(c.args.indexOf('--processes'), c.args.indexOf('--processes') + 2)).toEqual([
      '--processes',
      '1',
    ]);
    const graces = deployments().map((d) => d.spec.template.spec.terminationGracePeriodSeconds);
    const composeGraces = Object.entries(compose.services as Record<string, Doc>)
      .filter(([name]) => name.startsWith('worker-'))
      .map(([, s]) => Number.parseInt(String(s.stop_grace_period), 10));
    // Above the worker's 20 s shutdown grace, with room for the last part upload.
    expect(new Set([...graces, ...composeGraces])).toEqual(new Set([45]));
  });

  it('wires the compose farm to its own Temporal and S3 ports', () => {
    const s = compose.services as Record<string, Doc>;
    for (const name of ['worker-gpu', 'worker-cpu', 'worker-workflows']) {
      const env = s[name]!.environment;
      expect(env.SYNFARM_TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(s.temporal!.ports).toContain('127.0.0.1:7233:7233');
      const s3Port = s.s3!.command[s.s3!.command.indexOf('--port') + 1];
      expect(new URL(env.SYNFARM_S3_ENDPOINT).port).toBe(s3Port.replace(/^:/, ''));
      expect(new URL(env.SYNFARM_S3_ENDPOINT).hostname).toBe('s3');
    }
    expect(s['worker-gpu']!.deploy.resources.reservations.devices[0].capabilities).toEqual(['gpu']);
    // No AGPL server: the S3 server is Versity Gateway.
    expect(s.s3!.image).toMatch(/^versity\/versitygw:v\d/);
  });

  it('gives Temporal’s Helm chart PostgreSQL for both stores and nothing bundled', () => {
    const [values] = k8s.get('temporal-values.yaml')!;
    const p = values!.server.config.persistence;
    for (const store of [p.default, p.visibility]) {
      expect(store.driver).toBe('sql');
      expect(store.sql.driver).toBe('postgres12');
      expect(store.sql.password).toBeUndefined();
    }
    expect(p.default.sql.database).not.toBe(p.visibility.sql.database);
    for (const bundled of ['cassandra', 'mysql', 'postgresql', 'elasticsearch', 'prometheus', 'grafana']) {
      expect(values![bundled].enabled, bundled).toBe(false);
    }
  });
});

describe('the worker image definition', () => {
  let scratch: string;
  afterAll(async () => {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('has RUN steps a POSIX shell accepts', async () => {
    const steps = runSteps(dockerfile);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    for (const step of steps) await run('sh', ['-n', '-c', step]);
  });

  it("runs the cpu image's build steps in a plain folder, and the result starts the CLI", async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'synfarm-image-'));
    const app = path.join(scratch, 'opt', 'synfarm');
    await mkdir(app, { recursive: true });
    const sh = (cmd: string) => run('sh', ['-c', cmd], { cwd: app, maxBuffer: 64 * 1024 * 1024 });
    const steps = runSteps(dockerfile);
    // COPY package.json package-lock.json ... ./ (the files the install step sees)
    const manifests = dockerfile.match(/^COPY (package\.json .*) \.\/$/m)![1]!.split(' ');
    expect(manifests).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', '.npmrc']));
    for (const file of manifests) await cp(path.join(PROJECT_ROOT, file), path.join(app, file));
    const install = steps.find((s) => s.startsWith('npm ci'))!;
    // From npm's cache (filled by the project's own `npm ci`): this machine reaches no CDN, so
    // tfjs-node-gpu's download of libtensorflow cannot run here and its scripts are skipped.
    await sh(`${install} --offline --ignore-scripts`);
    // COPY . . (what .dockerignore lets through that this step needs)
    for (const dir of (await readdir(PROJECT_ROOT, { withFileTypes: true })).filter(
      (e) => !['node_modules', '.git', '.state', '.tools', '.venv', 'dist', 'coverage'].includes(e.name),
    )) {
      await cp(path.join(PROJECT_ROOT, dir.name), path.join(app, dir.name), { recursive: true });
    }
    await sh(steps.find((s) => s.startsWith('npm run build:workflows'))!);
    await sh(steps.find((s) => s.startsWith('rm -rf node_modules/@tensorflow/tfjs-node-gpu'))!);
    const bundle = JSON.parse(
      dockerfile.match(/^CMD (\["worker", "--queues", "cpu,workflows".*\])$/m)![1]!,
    ).at(-1) as string;
    expect(bundle).toBe('/opt/synfarm/dist/workflow-bundle.js');
    await readFile(path.join(scratch, bundle));
    // The production tree (no dev dependencies) runs the CLI.
    const { stdout } = await run(
      process.execPath,
      [path.join(app, 'bin', 'synfarm.mjs'), 'worker', '--help'],
      {
        cwd: app,
      },
    );
    expect(stdout).toContain('--queues');
  }, 600_000);
});
