import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  CreateBucketCommand,
  HeadBucketCommand,
  PutBucketLifecycleConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { z } from 'zod';
import { DevStackError } from './errors';
import { defaultStateDir } from './paths';
import {
  canConnect,
  isPortFree,
  type ManagedProcess,
  runningPid,
  startDetached,
  stopProcess,
  waitFor,
} from './processes';
import { ensureTool } from './tools';

const port = z.coerce.number().int().min(1).max(65535);

/**
 * Where and how the embedded stack runs. Ports default away from Temporal's and S3 servers'
 * usual ones so a user's own servers on 7233/9000 never collide with ours.
 */
export const DevStackConfigSchema = z.object({
  stateDir: z.string().default(defaultStateDir),
  host: z.literal('127.0.0.1').default('127.0.0.1'),
  temporalPort: port.default(Number(process.env.SYNFARM_TEMPORAL_PORT ?? 17233)),
  temporalUiPort: port.default(Number(process.env.SYNFARM_TEMPORAL_UI_PORT ?? 18233)),
  s3Port: port.default(Number(process.env.SYNFARM_S3_PORT ?? 17070)),
  bucket: z.string().default('synfarm'),
  namespace: z.string().default('default'),
  region: z.string().default('us-east-1'),
  /** Temporal dynamic config, e.g. a lower continue-as-new suggestion threshold for tests. */
  dynamicConfig: z.record(z.string(), z.unknown()).default({}),
});
export type DevStackConfig = z.infer<typeof DevStackConfigSchema>;

/** What `dev up` writes for every other command: addresses and where the S3 keys are, never the keys. */
export const StackInfoSchema = z.object({
  temporal: z.object({ address: z.string(), namespace: z.string(), uiUrl: z.string() }),
  s3: z.object({ endpoint: z.string(), bucket: z.string(), region: z.string(), credentialsFile: z.string() }),
});
export type StackInfo = z.infer<typeof StackInfoSchema>;

const CredentialsSchema = z.object({ accessKeyId: z.string(), secretAccessKey: z.string() });
export type S3Credentials = z.infer<typeof CredentialsSchema>;

export interface StackStatus {
  info: StackInfo;
  temporal: { running: boolean; pid?: number; healthy: boolean };
  s3: { running: boolean; pid?: number; healthy: boolean };
}

/**
 * SQLite's default rollback journal syncs the file several times per transaction, and the dev
 * server commits one for every workflow and activity task, so a shard's hops from one stage to
 * the next waited on the disk. With a write-ahead log, which syncs at checkpoints, a run of
 * 16-sample default-pipeline shards took 15% less time on a 2-core machine, one of 256-sample
 * testpattern shards 3% less (the README's figures). With synchronous=normal a commit survives any
 * crash of the server process (the chaos suite SIGKILLs it); only a power cut may roll back the last
 * few, which the farm's idempotent stages redo from storage.
 */
const TEMPORAL_SQLITE_PRAGMAS = ['journal_mode=wal', 'synchronous=normal'] as const;

function layout(config: DevStackConfig) {
  const proc = (name: string): ManagedProcess => ({
    name,
    pidFile: path.join(config.stateDir, 'pids', `${name}.pid`),
    logFile: path.join(config.stateDir, 'logs', `${name}.log`),
  });
  return {
    temporal: proc('temporal'),
    s3: proc('versitygw'),
    temporalDb: path.join(config.stateDir, 'temporal', 'temporal.db'),
    s3Root: path.join(config.stateDir, 's3'),
    credentialsFile: path.join(config.stateDir, 's3-credentials.json'),
    infoFile: path.join(config.stateDir, 'stack.json'),
  };
}

export function stackInfo(config: DevStackConfig): StackInfo {
  const paths = layout(config);
  return {
    temporal: {
      address: `${config.host}:${config.temporalPort}`,
      namespace: config.namespace,
      uiUrl: `http://${config.host}:${config.temporalUiPort}`,
    },
    s3: {
      endpoint: `http://${config.host}:${config.s3Port}`,
      bucket: config.bucket,
      region: config.region,
      credentialsFile: paths.credentialsFile,
    },
  };
}

/** The stack's own S3 keys: generated once per state folder, readable only by the owner. */
export async function loadOrCreateCredentials(file: string): Promise<S3Credentials> {
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) return CredentialsSchema.parse(JSON.parse(existing));
  const creds = {
    accessKeyId: `synfarm${randomBytes(6).toString('hex')}`,
    secretAccessKey: randomBytes(24).toString('base64url'),
  };
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, JSON.stringify(creds), { mode: 0o600 });
  return creds;
}

export async function readStackInfo(stateDir = defaultStateDir()): Promise<StackInfo | undefined> {
  const text = await readFile(path.join(stateDir, 'stack.json'), 'utf8').catch(() => undefined);
  return text ? StackInfoSchema.parse(JSON.parse(text)) : undefined;
}

async function temporalHealthy(address: string): Promise<boolean> {
  const [host, p] = address.split(':');
  if (!(await canConnect(Number(p), host))) return false;
  const { Connection } = await import('@temporalio/client');
  try {
    const connection = await Connection.connect({ address, connectTimeout: 2000 });
    try {
      const res = await connection.healthService.check({});
      return res.status === 1; // SERVING
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

async function s3Healthy(endpoint: string): Promise<boolean> {
  try {
    await fetch(endpoint, { signal: AbortSignal.timeout(2000) });
    return true; // any HTTP answer (even 403) means the gateway is serving
  } catch {
    return false;
  }
}

function s3Client(info: StackInfo, creds: S3Credentials): S3Client {
  return new S3Client({
    endpoint: info.s3.endpoint,
    region: info.s3.region,
    forcePathStyle: true,
    credentials: creds,
  });
}

/**
 * Asks the bucket to abort multipart uploads left unfinished for a day (a killed worker's),
 * which S3 bills until aborted. versitygw v1.7.0 answers NotImplemented: there `synfarm gc RUN`
 * (also run by `resume`) is the remedy, so that answer is reported, not an error.
 */
export async function applyUploadLifecycle(
  client: S3Client,
  bucket: string,
): Promise<'applied' | 'unsupported'> {
  try {
    await client.send(
      new PutBucketLifecycleConfigurationCommand({
        Bucket: bucket,
        LifecycleConfiguration: {
          Rules: [
            {
              ID: 'synfarm-abort-incomplete-uploads',
              Status: 'Enabled',
              Filter: { Prefix: '' },
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            },
          ],
        },
      }),
    );
    return 'applied';
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.name === 'NotImplemented' || e.$metadata?.httpStatusCode === 501) return 'unsupported';
    throw err;
  }
}

async function ensureBucket(info: StackInfo, creds: S3Credentials, logFile: string): Promise<void> {
  const client = s3Client(info, creds);
  try {
    await client.send(new HeadBucketCommand({ Bucket: info.s3.bucket })).catch(async () => {
      await client.send(new CreateBucketCommand({ Bucket: info.s3.bucket }));
    });
    await applyUploadLifecycle(client, info.s3.bucket);
  } catch (err) {
    throw new DevStackError(
      'bucket-failed',
      `could not create bucket ${info.s3.bucket} at ${info.s3.endpoint}: ${(err as Error).name}; see ${logFile}`,
    );
  } finally {
    client.destroy();
  }
}

/**
 * The state folder holds the S3 root (every object of every run), Temporal's database (every
 * workflow's history) and the S3 keys: only the owner may enter it. chmod as well as mkdir's
 * mode, because mkdir leaves a folder that already exists as it was.
 */
async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

async function requireFreePort(portNumber: number, what: string, envVar: string): Promise<void> {
  if (!(await isPortFree(portNumber))) {
    throw new DevStackError(
      'port-in-use',
      `port ${portNumber} on 127.0.0.1 (${what}) is taken by another process: stop it, or choose another port with ${envVar}=<port>`,
    );
  }
}

/**
 * Brings the stack up, or confirms it is up: idempotent, so every command that needs it can
 * call this. Waits until Temporal answers its health check and S3 answers HTTP, with the bucket.
 */
export async function devUp(
  input: Partial<DevStackConfig> = {},
  onProgress: (msg: string) => void = () => {},
): Promise<StackInfo> {
  const config = DevStackConfigSchema.parse(input);
  const paths = layout(config);
  const info = stackInfo(config);
  // Also for a stack already running: a folder left open by an older synfarm is closed now.
  await ensurePrivateDir(config.stateDir);
  await ensurePrivateDir(paths.s3Root);
  const temporalBin = await ensureTool('temporal', onProgress);
  const s3Bin = await ensureTool('versitygw', onProgress);
  const creds = await loadOrCreateCredentials(paths.credentialsFile);

  // Check every port before starting anything, so a conflict leaves nothing half-started.
  const startTemporal = (await runningPid(paths.temporal)) === undefined;
  const startS3 = (await runningPid(paths.s3)) === undefined;
  if (startTemporal) {
    await requireFreePort(config.temporalPort, 'Temporal gRPC', 'SYNFARM_TEMPORAL_PORT');
    await requireFreePort(config.temporalUiPort, 'Temporal web UI', 'SYNFARM_TEMPORAL_UI_PORT');
  }
  if (startS3) await requireFreePort(config.s3Port, 'S3 gateway', 'SYNFARM_S3_PORT');

  if (startTemporal) {
    await mkdir(path.dirname(paths.temporalDb), { recursive: true });
    const dynamic = Object.entries(config.dynamicConfig).flatMap(([k, v]) => [
      '--dynamic-config-value',
      `${k}=${JSON.stringify(v)}`,
    ]);
    onProgress(`starting Temporal dev server on ${info.temporal.address}`);
    await startDetached(paths.temporal, temporalBin, [
      'server',
      'start-dev',
      '--ip',
      config.host,
      '--port',
      String(config.temporalPort),
      '--ui-port',
      String(config.temporalUiPort),
      '--db-filename',
      paths.temporalDb,
      ...TEMPORAL_SQLITE_PRAGMAS.flatMap((pragma) => ['--sqlite-pragma', pragma]),
      '--namespace',
      config.namespace,
      '--log-level',
      'warn',
      ...dynamic,
    ]);
  }
  if (startS3) {
    onProgress(`starting versitygw S3 on ${info.s3.endpoint}`);
    // Keys go through the environment, not argv, so they never show in `ps`.
    await startDetached(
      paths.s3,
      s3Bin,
      ['--port', `${config.host}:${config.s3Port}`, '--quiet', 'posix', paths.s3Root],
      { ROOT_ACCESS_KEY: creds.accessKeyId, ROOT_SECRET_KEY: creds.secretAccessKey },
    );
  }

  if (!(await waitFor(() => temporalHealthy(info.temporal.address), 60_000, 300))) {
    throw new DevStackError(
      'unhealthy',
      `Temporal did not become healthy on ${info.temporal.address} within 60 s: see ${paths.temporal.logFile}`,
    );
  }
  if (!(await waitFor(() => s3Healthy(info.s3.endpoint), 30_000))) {
    throw new DevStackError(
      'unhealthy',
      `versitygw did not answer on ${info.s3.endpoint} within 30 s: see ${paths.s3.logFile}`,
    );
  }
  await ensureBucket(info, creds, paths.s3.logFile);
  await writeFile(paths.infoFile, `${JSON.stringify(info, null, 2)}\n`);
  return info;
}

/** Where the dev server keeps its state (an SQLite file), for tools that inspect it. */
export function temporalDbFile(input: Partial<DevStackConfig> = {}): string {
  return layout(DevStackConfigSchema.parse(input)).temporalDb;
}

export async function devDown(input: Partial<DevStackConfig> = {}): Promise<string[]> {
  const config = DevStackConfigSchema.parse(input);
  const paths = layout(config);
  const stopped: string[] = [];
  if (await stopProcess(paths.temporal)) stopped.push('temporal');
  if (await stopProcess(paths.s3)) stopped.push('versitygw');
  return stopped;
}

/** Stops only the Temporal server (its database stays), for tests of a lost server. */
export async function stopTemporal(input: Partial<DevStackConfig> = {}): Promise<boolean> {
  const config = DevStackConfigSchema.parse(input);
  return stopProcess(layout(config).temporal);
}

/**
 * Sends `signal` to one server of the stack (its pid file is kept, so `devUp` restarts it on the
 * same state): the chaos suite SIGKILLs servers this way. Returns the pid signalled, if any.
 */
export async function signalServer(
  input: Partial<DevStackConfig>,
  server: 'temporal' | 's3',
  signal: NodeJS.Signals,
): Promise<number | undefined> {
  const config = DevStackConfigSchema.parse(input);
  const pid = await runningPid(layout(config)[server]);
  if (pid !== undefined) process.kill(pid, signal);
  return pid;
}

export async function devStatus(input: Partial<DevStackConfig> = {}): Promise<StackStatus> {
  const config = DevStackConfigSchema.parse(input);
  const paths = layout(config);
  const info = stackInfo(config);
  const tPid = await runningPid(paths.temporal);
  const sPid = await runningPid(paths.s3);
  return {
    info,
    temporal: {
      running: tPid !== undefined,
      pid: tPid,
      healthy: await temporalHealthy(info.temporal.address),
    },
    s3: { running: sPid !== undefined, pid: sPid, healthy: await s3Healthy(info.s3.endpoint) },
  };
}

export async function readCredentials(info: StackInfo): Promise<S3Credentials> {
  return CredentialsSchema.parse(JSON.parse(await readFile(info.s3.credentialsFile, 'utf8')));
}
