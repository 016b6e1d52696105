import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import YAML from 'yaml';
import { z } from 'zod';
import { readCredentials, readStackInfo } from '../infra/dev-stack';
import type { TemporalTarget } from '../infra/temporal-connection';
import { isBackendInstalled, isNativeBackend, TFJS_BACKEND_NAMES } from '../models/tfjs-backend';
import type { StoreOptions } from '../storage';
import { QUEUE_KINDS } from './worker';

/**
 * A worker's whole configuration: one schema, filled from defaults < file < environment < flags.
 * The S3 credentials are deliberately absent: the AWS SDK resolves them from its standard chain
 * (env, shared profile, SSO, container or instance role), or the dev stack provides them.
 */
const portSchema = z.int().min(1).max(65535);
const queuesSchema = z.preprocess(
  (v) => (v === 'all' ? [...QUEUE_KINDS] : typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v),
  z.array(z.enum(QUEUE_KINDS)).min(1),
);

/**
 * 64 MiB: parts are read back within a stage or two of being written, and a shard's parts at the
 * default size (224 px JPEG) are a few MiB. 256 MiB took a 30-minute soak to fill at 512 px PNG,
 * so a worker's memory climbed for half an hour before it settled.
 */
export const DEFAULT_PART_CACHE_MIB = 64;

export const WorkerConfigSchema = z
  .object({
    temporal: z
      .object({
        /** host:port; absent means the running `synfarm dev up` stack. */
        address: z
          .string()
          .regex(/^[^\s/]+:\d+$/, 'expected host:port, e.g. temporal.example.com:7233')
          .optional(),
        namespace: z.string().min(1).optional(),
        /** Temporal Cloud API key; implies TLS. */
        apiKey: z.string().min(1).optional(),
        tls: z
          .object({
            cert: z.string().min(1).optional(),
            key: z.string().min(1).optional(),
            ca: z.string().min(1).optional(),
            serverName: z.string().min(1).optional(),
          })
          .strict()
          .optional(),
      })
      .strict()
      .default({}),
    s3: z
      .object({
        endpoint: z.url().optional(),
        region: z.string().min(1).optional(),
        /** Only `synfarm doctor` uses it (the runs name their own output); checked for writability. */
        bucket: z.string().min(3).optional(),
      })
      .strict()
      .default({}),
    queues: queuesSchema.default([...QUEUE_KINDS]),
    queuePrefix: z.string().default(''),
    /** Absent: one per core on the CPU path, one with a native (GPU) backend. */
    processes: z.int().min(1).max(512).optional(),
    concurrency: z
      .object({
        gpu: z.int().min(1).default(2),
        cpu: z.int().min(1).default(8),
        workflows: z.int().min(1).optional(),
      })
      .strict()
      .default({ gpu: 2, cpu: 8 }),
    gpu: z.int().min(0).optional(),
    tfjsBackend: z.enum(TFJS_BACKEND_NAMES).optional(),
    metricsPort: portSchema.optional(),
    /** Memory per process for staged parts it wrote and its later stages read back; 0 = off. */
    partCacheMib: z.int().min(0).max(65536).default(DEFAULT_PART_CACHE_MIB),
    workflowBundle: z.string().min(1).optional(),
  })
  .strict();
export type WorkerConfig = z.output<typeof WorkerConfigSchema>;

type Kind = 'string' | 'int';
interface Field {
  path: string;
  /** commander's camelCase key, and the flag as typed. */
  flag?: [key: string, name: string];
  env?: string[];
  kind: Kind;
  secret?: boolean;
}

/** Every setting that flags or the environment can give: the one table the docs and errors use. */
export const CONFIG_FIELDS: readonly Field[] = [
  {
    path: 'temporal.address',
    flag: ['temporalAddress', '--temporal-address'],
    env: ['SYNFARM_TEMPORAL_ADDRESS', 'TEMPORAL_ADDRESS'],
    kind: 'string',
  },
  {
    path: 'temporal.namespace',
    flag: ['namespace', '--namespace'],
    env: ['SYNFARM_TEMPORAL_NAMESPACE', 'TEMPORAL_NAMESPACE'],
    kind: 'string',
  },
  { path: 'temporal.apiKey', env: ['SYNFARM_TEMPORAL_API_KEY'], kind: 'string', secret: true },
  {
    path: 'temporal.tls.cert',
    flag: ['tlsCert', '--tls-cert'],
    env: ['SYNFARM_TEMPORAL_TLS_CERT'],
    kind: 'string',
  },
  {
    path: 'temporal.tls.key',
    flag: ['tlsKey', '--tls-key'],
    env: ['SYNFARM_TEMPORAL_TLS_KEY'],
    kind: 'string',
  },
  { path: 'temporal.tls.ca', flag: ['tlsCa', '--tls-ca'], env: ['SYNFARM_TEMPORAL_TLS_CA'], kind: 'string' },
  {
    path: 'temporal.tls.serverName',
    flag: ['tlsServerName', '--tls-server-name'],
    env: ['SYNFARM_TEMPORAL_TLS_SERVER_NAME'],
    kind: 'string',
  },
  {
    path: 's3.endpoint',
    flag: ['s3Endpoint', '--s3-endpoint'],
    env: ['SYNFARM_S3_ENDPOINT', 'AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'],
    kind: 'string',
  },
  {
    path: 's3.region',
    flag: ['s3Region', '--s3-region'],
    env: ['AWS_REGION', 'AWS_DEFAULT_REGION'],
    kind: 'string',
  },
  { path: 's3.bucket', flag: ['s3Bucket', '--s3-bucket'], env: ['SYNFARM_S3_BUCKET'], kind: 'string' },
  { path: 'queues', flag: ['queues', '--queues'], env: ['SYNFARM_QUEUES'], kind: 'string' },
  {
    path: 'queuePrefix',
    flag: ['queuePrefix', '--queue-prefix'],
    env: ['SYNFARM_QUEUE_PREFIX'],
    kind: 'string',
  },
  { path: 'processes', flag: ['processes', '--processes'], env: ['SYNFARM_PROCESSES'], kind: 'int' },
  {
    path: 'concurrency.gpu',
    flag: ['gpuConcurrency', '--gpu-concurrency'],
    env: ['SYNFARM_GPU_CONCURRENCY'],
    kind: 'int',
  },
  {
    path: 'concurrency.cpu',
    flag: ['cpuConcurrency', '--cpu-concurrency'],
    env: ['SYNFARM_CPU_CONCURRENCY'],
    kind: 'int',
  },
  {
    path: 'concurrency.workflows',
    flag: ['workflowConcurrency', '--workflow-concurrency'],
    env: ['SYNFARM_WORKFLOW_CONCURRENCY'],
    kind: 'int',
  },
  { path: 'gpu', flag: ['gpu', '--gpu'], env: ['SYNFARM_GPU'], kind: 'int' },
  {
    path: 'tfjsBackend',
    flag: ['tfjsBackend', '--tfjs-backend'],
    env: ['SYNFARM_TFJS_BACKEND'],
    kind: 'string',
  },
  {
    path: 'metricsPort',
    flag: ['metricsPort', '--metrics-port'],
    env: ['SYNFARM_METRICS_PORT'],
    kind: 'int',
  },
  {
    path: 'partCacheMib',
    flag: ['partCacheMib', '--part-cache-mib'],
    env: ['SYNFARM_PART_CACHE_MIB'],
    kind: 'int',
  },
  {
    path: 'workflowBundle',
    flag: ['workflowBundle', '--workflow-bundle'],
    env: ['SYNFARM_WORKFLOW_BUNDLE'],
    kind: 'string',
  },
];

export class WorkerConfigError extends Error {
  readonly code = 'invalid-config';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'WorkerConfigError';
  }
}

type Tree = Record<string, unknown>;
type Env = Record<string, string | undefined>;

function setPath(tree: Tree, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = tree;
  for (const p of parts.slice(0, -1)) {
    node[p] ??= {};
    node = node[p] as Tree;
  }
  node[parts.at(-1)!] = value;
}

function getPath(tree: unknown, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>((n, p) => (n && typeof n === 'object' ? (n as Tree)[p] : undefined), tree);
}

/** Strings from env and flags become numbers where the field is one; anything else is left for zod to name. */
function typed(kind: Kind, raw: unknown): unknown {
  if (kind === 'int' && typeof raw === 'string' && /^\s*-?\d+\s*$/.test(raw)) return Number(raw);
  return raw;
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Tree, v as Tree)
        : v;
  }
  return out;
}

export interface ConfigSources {
  flags?: Record<string, unknown>;
  env?: Env;
  /** --config, else SYNFARM_CONFIG. */
  file?: string;
}

export interface LoadedWorkerConfig {
  config: WorkerConfig;
  /** Where each set field came from: `--flag`, `env NAME`, `file PATH`. */
  origin: Record<string, string>;
}

async function readConfigFile(file: string): Promise<Tree> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new WorkerConfigError('config', `--config ${file}: cannot read it (${(err as Error).message})`);
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new WorkerConfigError(
      'config',
      `--config ${file}: not valid YAML/JSON (${(err as Error).message})`,
    );
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new WorkerConfigError(
      'config',
      `--config ${file}: expected a mapping of settings at the top level`,
    );
  }
  return parsed as Tree;
}

function leafPaths(tree: unknown, prefix = ''): string[] {
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) return prefix ? [prefix] : [];
  return Object.entries(tree as Tree).flatMap(([k, v]) => leafPaths(v, prefix ? `${prefix}.${k}` : k));
}

/** Reads and validates the worker config; every problem is reported at once, each with field and source. */
export async function loadWorkerConfig(sources: ConfigSources): Promise<LoadedWorkerConfig> {
  const env = sources.env ?? {};
  const flags = sources.flags ?? {};
  const origin: Record<string, string> = {};
  const file = (flags.config as string | undefined) ?? env.SYNFARM_CONFIG;
  const fromFile = file ? await readConfigFile(file) : {};
  for (const p of leafPaths(fromFile)) origin[p] = `file ${file}`;
  const fromEnv: Tree = {};
  const fromFlags: Tree = {};
  for (const f of CONFIG_FIELDS) {
    const name = f.env?.find((n) => env[n] !== undefined && env[n] !== '');
    if (name) {
      setPath(fromEnv, f.path, typed(f.kind, env[name]));
      origin[f.path] = `env ${name}`;
    }
    if (f.flag && flags[f.flag[0]] !== undefined) {
      setPath(fromFlags, f.path, typed(f.kind, flags[f.flag[0]]));
      origin[f.path] = f.flag[1];
    }
  }
  const merged = merge(merge(fromFile, fromEnv), fromFlags);
  const parsed = WorkerConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.join('.') || '(top level)';
      const field = CONFIG_FIELDS.find((f) => path === f.path || path.startsWith(`${f.path}.`));
      const from =
        origin[path] ?? (field ? origin[field.path] : undefined) ?? (file ? `file ${file}` : 'defaults');
      const value = getPath(merged, path) ?? (field ? getPath(merged, field.path) : undefined);
      const shown = field?.secret || value === undefined ? '' : `, got ${JSON.stringify(value)}`;
      return `${path}: ${issue.message}${shown} (from ${from})`;
    });
    throw new WorkerConfigError(
      String(parsed.error.issues[0]?.path.join('.') ?? ''),
      `worker config is invalid:\n  ${lines.join('\n  ')}`,
    );
  }
  return { config: parsed.data, origin };
}

/**
 * How many worker processes fill this node when none is asked for: wasm and cpu TF.js run on
 * one thread, so one process per core; a native backend (tfjs-node, tfjs-node-gpu, or a pinned
 * GPU) already uses every core or the device, so one; a workflow-only worker needs one.
 */
export function defaultProcesses(
  config: WorkerConfig,
  installed: (name: 'node' | 'node-gpu') => boolean = isBackendInstalled,
  cores: number = availableParallelism(),
): { processes: number; why: string } {
  if (!config.queues.some((q) => q !== 'workflows')) return { processes: 1, why: 'workflow tasks only' };
  const native = config.tfjsBackend
    ? isNativeBackend(config.tfjsBackend)
    : installed('node-gpu') || installed('node');
  if (config.gpu !== undefined || native)
    return { processes: 1, why: 'native TF.js backend uses every core' };
  return { processes: cores, why: `one per core (${cores}): wasm TF.js is single-threaded` };
}

const MASK = '****';

/** The config as `--print-config` shows it: secrets masked, each field with its source. */
export function describeConfig(loaded: LoadedWorkerConfig, extra: Tree = {}): string {
  const shown = structuredClone(loaded.config) as Tree;
  for (const f of CONFIG_FIELDS)
    if (f.secret && getPath(shown, f.path) !== undefined) setPath(shown, f.path, MASK);
  return JSON.stringify({ ...shown, ...extra, origin: loaded.origin }, null, 2);
}

/** Where this worker's Temporal and S3 are, after the dev-stack fallback; TLS files read. */
export interface WorkerTargets {
  temporal: TemporalTarget;
  s3: StoreOptions;
  /** For print-config and logs: which settings came from a running `synfarm dev up` stack. */
  devStack: { temporal: boolean; s3: boolean };
}

async function readPem(field: string, file: string | undefined): Promise<Buffer | undefined> {
  if (!file) return undefined;
  try {
    return await readFile(file);
  } catch (err) {
    throw new WorkerConfigError(field, `${field}: cannot read ${file} (${(err as Error).message})`);
  }
}

/**
 * Fills what the config leaves out from a running dev stack (as every other command does), and
 * reads the TLS files. S3 credentials stay with the AWS SDK's chain unless the dev stack's are used.
 */
export async function resolveTargets(config: WorkerConfig, env: Env = process.env): Promise<WorkerTargets> {
  const stack = await readStackInfo();
  const t = config.temporal;
  const tls = t.tls
    ? {
        cert: await readPem('temporal.tls.cert', t.tls.cert),
        key: await readPem('temporal.tls.key', t.tls.key),
        ca: await readPem('temporal.tls.ca', t.tls.ca),
        serverName: t.tls.serverName,
      }
    : undefined;
  if (tls && Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new WorkerConfigError(
      'temporal.tls',
      'temporal.tls: give both cert and key (mutual TLS), or neither',
    );
  }
  const temporalFromStack = !t.address && stack !== undefined;
  const awsChain = ['AWS_ACCESS_KEY_ID', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE'].some((n) => env[n]);
  const s3FromStack = !config.s3.endpoint && !awsChain && !t.address && stack !== undefined;
  return {
    temporal: {
      address: t.address ?? stack?.temporal.address ?? '127.0.0.1:7233',
      namespace: t.namespace ?? (temporalFromStack ? stack?.temporal.namespace : undefined) ?? 'default',
      ...(tls ? { tls } : {}),
      ...(t.apiKey ? { apiKey: t.apiKey } : {}),
    },
    s3:
      s3FromStack && stack
        ? { endpoint: stack.s3.endpoint, region: stack.s3.region, credentials: await readCredentials(stack) }
        : { endpoint: config.s3.endpoint, region: config.s3.region },
    devStack: { temporal: temporalFromStack, s3: s3FromStack },
  };
}
