import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { FarmClient } from '../../client/runs';
import { type DevStackConfig, devDown, devUp, readCredentials } from '../../infra/dev-stack';
import { PROJECT_ROOT } from '../../infra/paths';
import { mulberry32 } from '../../plan/random';
import { parseSidecar } from '../../run/sidecar';
import { resolveSpec, type Spec } from '../../spec';
import {
  type Check,
  compareWithReference,
  countRetries,
  countShardExecutions,
  incompleteUploads,
  readersSeeEveryKeyOnce,
} from './checks';
import { committedShardSet, committedShards, synfarm, waitForState } from './control';
import { S3_FAULTS, S3FaultProxy } from './fault-proxy';
import { FaultInjector, type FaultLog, ROUND_FAULTS, shuffled } from './faults';
import { memoryGrowthCheck } from './memory';
import { killRecordedWorkers, type RssSample, WorkerPool } from './pool';

const exec = promisify(execFile);

export interface ChaosOptions {
  seed: number;
  /** Wall time to aim for; 0 = the short run (one big and one small shard). */
  minutes: number;
  /** Moves every port, so two chaos runs (or a soak and `npm test`) can run side by side. */
  portOffset: number;
  /** Shards of 52 samples at 512 px PNG (each over 5 MiB, so a multipart upload); default from minutes. */
  bigShards?: number;
  /**
   * One extra worker per role that no fault kills, so a soak shows each role's memory over
   * its whole length (killed workers restart every few minutes). Default: on for a soak.
   */
  witnesses?: boolean;
  log?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  spec: { runId: string; samples: number; shards: number; bytesPerBigShard: number; deficitShards: number };
  wallSeconds: { total: number; reference: number; disturbed: number };
  faults: FaultLog;
  proxy: { counts: S3FaultProxy['counts']; requests: S3FaultProxy['requests'] };
  retries: number;
  uploads: { beforeGc: number; afterGc: number; gc: string };
  checks: Check[];
  rss: RssSample[];
  ok: boolean;
}

/** 52 samples of 512 px PNG come to about 5.6 MiB: over S3's 5 MiB minimum part, so two parts. */
const BIG_SHARD = 52;
const SMALL_TAIL = 8;
const HEARTBEAT_SECONDS = 8;
/**
 * Samples the pool gets through per minute on an otherwise idle 2-core machine, undisturbed:
 * seed 29 made 3492 samples in 402 s with the onnxruntime thread and batched child starts, and
 * its `--minutes 30` ran 15 minutes at 350. 50, measured on a machine shared with other test
 * runs, once made `--minutes 25` a four-minute run when the machine was quiet.
 */
const SAMPLES_PER_MINUTE = 700;

function chaosSpec(options: ChaosOptions, output: string): Spec {
  // A soak spends about a third of its time on the undisturbed reference, the rest under faults.
  const big =
    options.bigShards ??
    (options.minutes > 0
      ? Math.max(2, Math.round((options.minutes * SAMPLES_PER_MINUTE) / 3 / BIG_SHARD))
      : 1);
  return resolveSpec({
    runId: `chaos-${options.seed}`,
    seed: options.seed,
    target: big * BIG_SHARD + SMALL_TAIL,
    shardSize: BIG_SHARD,
    image: { size: 512, format: 'png' },
    generator: { backend: 'procedural', batchSize: 4 },
    // The real calibrator and filter with their defaults: dedupe on, deficit rounds on.
    output,
  });
}

const witnesses = (options: ChaosOptions) => options.witnesses ?? options.minutes > 0;
/** A soak's witnesses must have lived this long for the growth check to mean anything. */
const GROWTH_CHECK_MINUTES = 10;

export function chaosStackConfig(portOffset: number): Partial<DevStackConfig> {
  // Below Linux's ephemeral range (32768+), where an outgoing connection could hold the port.
  return {
    stateDir: path.join(PROJECT_ROOT, '.state', `chaos-${portOffset}`),
    temporalPort: 25233 + portOffset,
    temporalUiPort: 26233 + portOffset,
    s3Port: 25070 + portOffset,
    bucket: 'chaos',
  };
}

/**
 * One chaos run: its own stack (Temporal dev server + versitygw, own ports and state), a pool
 * of worker processes by role behind the S3 fault proxy, an undisturbed reference run, then
 * the same spec again under a seeded schedule of faults, then the checks.
 */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const random = mulberry32(options.seed);
  const stack = chaosStackConfig(options.portOffset);
  const stateDir = stack.stateDir!;
  const pidFile = path.join(stateDir, 'pool.pids');
  const strays = await killRecordedWorkers(pidFile);
  if (strays > 0) log(`[chaos] killed ${strays} worker(s) left running by an earlier chaos run`);
  await devDown(stack);
  await rm(stateDir, { recursive: true, force: true });
  await mkdir(path.join(stateDir, 'logs'), { recursive: true });
  const started = Date.now();
  const info = await devUp(stack, (m) => log(`[chaos stack] ${m}`));
  const credentials = await readCredentials(info);
  // A fresh object each time: the AWS SDK marks credentials it used ($source), which the
  // store's strict options then refuse.
  const s3Options = () => ({
    endpoint: info.s3.endpoint,
    region: info.s3.region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
  });
  const awsEnv = {
    AWS_ACCESS_KEY_ID: credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
    AWS_REGION: info.s3.region,
    AWS_DEFAULT_REGION: info.s3.region,
  };
  const queuePrefix = `chaos-${options.seed}-`;
  const cliEnv = {
    ...awsEnv,
    SYNFARM_TEMPORAL_ADDRESS: info.temporal.address,
    SYNFARM_S3_ENDPOINT: info.s3.endpoint,
    SYNFARM_QUEUE_PREFIX: queuePrefix,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const proxy = new S3FaultProxy({
    upstream: info.s3.endpoint,
    port: 25050 + options.portOffset,
    random,
    rate: 0.02,
    stallMs: [2000, 5000],
  });
  await proxy.start();
  const pythonReady = exec('bash', [path.join(PROJECT_ROOT, 'scripts', 'python-env.sh')]).then(
    () => undefined,
  );
  pythonReady.catch(() => undefined);
  const pool = new WorkerPool({
    sizes: { gpu: 2, cpu: 1, workflows: 1 },
    witnesses: witnesses(options),
    queuePrefix,
    // S3's 5 MiB minimum part size, so each 5.6 MiB shard is a real multipart upload of two parts.
    env: { ...cliEnv, SYNFARM_S3_ENDPOINT: proxy.endpoint, SYNFARM_S3_PART_MIB: '5' },
    logDir: path.join(stateDir, 'logs'),
    pidFile,
  });
  let client: FarmClient | undefined;
  try {
    await pool.start();
    client = await FarmClient.connect({ temporal: info.temporal, s3: s3Options(), queuePrefix });
    const reference = chaosSpec(options, `s3://${info.s3.bucket}/reference`);
    const disturbed = chaosSpec(options, `s3://${info.s3.bucket}/disturbed`);
    const timeouts = { heartbeatSeconds: HEARTBEAT_SECONDS };
    log(
      `[chaos] reference run ${reference.runId}: ${reference.targetSamples} samples, ${reference.shardCount} shards`,
    );
    const refStart = Date.now();
    await client.launch(reference, { timeouts, window: 2 });
    const refState = await waitForState(client, reference.runId, ['completed', 'failed'], 60 * 60_000);
    if (refState !== 'completed') throw new Error(`the undisturbed reference run ended ${refState}`);
    const refSeconds = (Date.now() - refStart) / 1000;

    const since = new Date();
    const disturbedStart = Date.now();
    log(`[chaos] reference done in ${refSeconds.toFixed(0)} s; the same spec again, under faults`);
    const injector = new FaultInjector({
      random,
      pool,
      proxy,
      stack,
      client,
      spec: disturbed,
      cliEnv,
      heartbeatSeconds: HEARTBEAT_SECONDS,
      log,
      started: disturbedStart,
    });
    proxy.arm();
    injector.armMidUploadKill();
    await client.launch(disturbed, { timeouts, window: 2 });
    const wait = { done: false };
    let scheduleError: unknown;
    const rounds = options.minutes > 0 ? Number.POSITIVE_INFINITY : 1;
    const schedule = runSchedule(injector, random, wait, disturbed, client, rounds).catch((err) => {
      scheduleError = err;
      return [];
    });
    const finalState = await waitForState(
      client,
      disturbed.runId,
      ['completed', 'failed', 'terminated'],
      60 * 60_000,
      () => scheduleError !== undefined,
    );
    wait.done = true;
    const missed = await schedule;
    if (scheduleError) throw scheduleError;
    proxy.disarm();
    await injector.settle();
    const disturbedSeconds = (Date.now() - disturbedStart) / 1000;
    log(`[chaos] disturbed run ${finalState} after ${disturbedSeconds.toFixed(0)} s; checking`);

    const checks: Check[] = [];
    checks.push({ name: 'the disturbed run completed', ok: finalState === 'completed', detail: finalState });
    checks.push(faultCoverage(injector.log, proxy, missed));
    const bytes = await compareWithReference(client, reference, disturbed);
    checks.push(bytes.check);
    const committed = await committedShardSet(client, disturbed);
    checks.push((await countShardExecutions(client, disturbed, since, committed)).check);
    const uploads = await gcAndCountUploads(disturbed, cliEnv, { ...s3Options(), bucket: info.s3.bucket });
    checks.push(uploads.check);
    checks.push(
      ...(await readersSeeEveryKeyOnce(disturbed, bytes.tars, s3Options(), awsEnv, pythonReady).catch(
        (err) => [
          { name: 'readers see every committed key once', ok: false, detail: String(err).slice(0, 300) },
        ],
      )),
    );
    if (witnesses(options)) checks.push(memoryGrowthCheck(pool.rss, GROWTH_CHECK_MINUTES));
    const sidecars = await Promise.all(
      [...Array(disturbed.shardCount).keys()].map(async (s) =>
        parseSidecar(
          await client!
            .store(disturbed.output)
            .get(`${disturbed.runId}/shards/shard-${String(s).padStart(6, '0')}.json`),
        ),
      ),
    );
    const report: ChaosReport = {
      seed: options.seed,
      spec: {
        runId: disturbed.runId,
        samples: disturbed.targetSamples,
        shards: disturbed.shardCount,
        bytesPerBigShard: sidecars[0]?.bytes ?? 0,
        deficitShards: sidecars.filter((s) => s.rounds > 1).length,
      },
      wallSeconds: {
        total: (Date.now() - started) / 1000,
        reference: refSeconds,
        disturbed: disturbedSeconds,
      },
      faults: injector.log,
      proxy: { counts: proxy.counts, requests: proxy.requests },
      retries: await countRetries(client, disturbed, since),
      uploads: uploads.figures,
      checks,
      rss: pool.rss,
      ok: checks.every((c) => c.ok),
    };
    await writeFile(path.join(stateDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
    return report;
  } finally {
    await pool.stop();
    await client?.close();
    await proxy.stop();
    await devDown(stack);
  }
}

/**
 * Rounds of faults while the run goes on: each round injects every kind once, in a seeded
 * order with seeded gaps. Returns the kinds the first round could not inject before the run
 * ended (the run must not outpace its own chaos).
 */
async function runSchedule(
  injector: FaultInjector,
  random: () => number,
  wait: { done: boolean },
  spec: Spec,
  client: FarmClient,
  rounds: number,
): Promise<string[]> {
  for (let round = 0; round < rounds; round++) {
    // A later round waits until the run has committed another shard (and at least half a
    // minute): faults must not outpace progress, or a soak measures nothing but recovery.
    if (round > 0) {
      const before = await committedShards(client, spec);
      await sleep(Math.round(30_000 + random() * 30_000));
      while (!wait.done && (await committedShards(client, spec)) <= before) await sleep(2000);
    }
    if (wait.done) return [];
    const order = shuffled(ROUND_FAULTS, random);
    for (const [i, fault] of order.entries()) {
      await sleep(Math.round(1000 + random() * 2000));
      if (wait.done) return round === 0 ? order.slice(i) : [];
      try {
        await injector.inject(fault);
      } catch (err) {
        // A fault that could not be injected is reported as missed, never silently dropped.
        if (wait.done || (await client.workflowState(spec.runId).catch(() => 'unknown')) !== 'running')
          return round === 0 ? order.slice(i) : [];
        throw err;
      }
    }
  }
  return [];
}

function faultCoverage(log: FaultLog, proxy: S3FaultProxy, missed: string[]): Check {
  const problems: string[] = [];
  if (missed.length > 0) problems.push(`the run ended before: ${missed.join(', ')}`);
  for (const [kind, n] of Object.entries(log.counts)) if (n === 0) problems.push(`${kind} never injected`);
  // Every proxy fault kind, and some fault on every operation; a short run has few multipart
  // parts, so a missing (operation, kind) pair is listed but not failed.
  const notes: string[] = [];
  const ops = Object.entries(proxy.counts);
  for (const fault of S3_FAULTS)
    if (ops.every(([, f]) => f[fault] === 0)) problems.push(`proxy ${fault} never injected`);
  for (const [op, faults] of ops) {
    if (Object.values(faults).every((n) => n === 0)) problems.push(`no proxy fault on ${op}`);
    for (const [fault, n] of Object.entries(faults)) if (n === 0) notes.push(`${fault} on ${op}`);
  }
  if (log.serverKills.some((k) => !k.unfinished))
    problems.push('a server was killed after the run had finished');
  for (const r of log.resumes)
    if (r.ok !== 1 || r.refused !== 1) problems.push(`two resumes: ${r.ok} started, ${r.refused} refused`);
  return {
    name: 'every fault injected on an unfinished run',
    ok: problems.length === 0,
    detail:
      problems.length > 0
        ? problems.join('; ')
        : `all kinds, each at least once${notes.length > 0 ? ` (pairs not hit: ${notes.join(', ')})` : ''}`,
  };
}

async function gcAndCountUploads(
  spec: Spec,
  cliEnv: Record<string, string>,
  s3: Parameters<typeof incompleteUploads>[0],
): Promise<{ check: Check; figures: ChaosReport['uploads'] }> {
  const prefix = `${spec.output.replace(/^s3:\/\/[^/]+\//, '')}/${spec.runId}/`;
  const before = await incompleteUploads(s3, prefix);
  // `synfarm gc RUN` aborts what a killed worker left; until that command exists, say so.
  const help = await synfarm(['gc', '--help'], cliEnv);
  let gc = 'synfarm gc is not available in this checkout';
  if (help.code === 0) {
    const run = await synfarm(['gc', spec.runId], cliEnv);
    gc = run.code === 0 ? 'synfarm gc ran' : `synfarm gc failed: ${run.stderr.split('\n')[0]}`;
  }
  const after = await incompleteUploads(s3, prefix);
  return {
    figures: { beforeGc: before.length, afterGc: after.length, gc },
    check: {
      name: 'no incomplete multipart upload after synfarm gc',
      // Strict as soon as the command exists; until then the leftover uploads are reported.
      ok: after.length === 0 || help.code !== 0,
      pending: help.code !== 0,
      detail: `${before.length} before, ${after.length} after (${gc})`,
    },
  };
}
