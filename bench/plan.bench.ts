import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { createPlan } from '../plan';
import { resolveSpec } from '../spec';
import { type Figures, MIN_REPETITIONS, median } from './compare';

const MB = 1024 * 1024;
const exec = promisify(execFile);

interface PlanRun {
  shards: number;
  samples: number;
  seconds: number;
  /** CPU seconds of the planning loop: on a shared machine wall time includes waiting for a core. */
  cpuSeconds: number;
  peakRssAboveStartMb: number;
  shardListMs: number;
  checksum: number;
}

/**
 * This process's peak RSS in bytes. Linux's VmHWM belongs to the process's own address space;
 * getrusage's maxRSS does not: it keeps the high-water mark of the parent that forked it, so a
 * child of a bench that had loaded models reported the parent's 1.4 GB as its own peak.
 */
function peakRss(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // Not Linux: maxRSS below, an upper bound.
  }
  return process.resourceUsage().maxRSS * 1024;
}

/**
 * One measurement, in a fresh process so that every repetition's "peak RSS above the process's
 * start" starts from the same place: plans every shard of a 5x AffectNet run one at a time,
 * materialising each shard's requests and dropping them, as the farm does. The peak is the
 * kernel's high-water mark, which sees every moment of the loop at no cost; sampling RSS after
 * each shard cost a tenth of the loop's CPU. A transient peak during start-up would count against
 * planning, so the figure errs high, never low.
 */
function planOnce(): PlanRun {
  const startRss = process.memoryUsage.rss();
  const spec = resolveSpec({
    runId: 'bench-plan',
    target: '5x affectnet',
    output: 'file:///tmp/synfarm-bench',
  });
  const listStart = performance.now();
  const plan = createPlan(spec);
  let shards = 0;
  for (const _ of plan.shards()) shards++;
  const shardListMs = performance.now() - listStart;

  let samples = 0;
  let checksum = 0;
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  for (let shard = 0; shard < plan.shardCount; shard++) {
    const requests = plan.planShard(shard);
    samples += requests.length;
    // Touch the output so the work cannot be optimised away.
    checksum = (checksum + requests[requests.length - 1]!.generatorSeed + requests[0]!.prompt.length) >>> 0;
  }
  const seconds = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  if (samples !== spec.targetSamples)
    throw new Error(`planned ${samples} samples, expected ${spec.targetSamples}`);
  return {
    shards,
    samples,
    seconds,
    cpuSeconds,
    peakRssAboveStartMb: Math.max(0, peakRss() - startRss) / MB,
    shardListMs,
    checksum,
  };
}

/**
 * Planning 5x AffectNet (issue 11: goal < 1 s and < 50 MB peak RSS above start): the median of
 * 3 runs, each in its own process. There is no baseline to compare with: the figures are absolute.
 */
export async function benchPlan(): Promise<Figures> {
  const script = fileURLToPath(import.meta.url);
  const runs: PlanRun[] = [];
  for (let i = 0; i < MIN_REPETITIONS; i++) {
    const { stdout } = await exec(process.execPath, ['--import', 'tsx', script, '--once']);
    runs.push(JSON.parse(stdout) as PlanRun);
  }
  const checksums = new Set(runs.map((r) => r.checksum));
  if (checksums.size !== 1)
    throw new Error(`planning is not deterministic: checksums ${[...checksums].join(', ')}`);
  return {
    'plan.shards': runs[0]!.shards,
    'plan.samples': runs[0]!.samples,
    'plan.median_s': round(median(runs.map((r) => r.seconds)), 3),
    'plan.samples_per_s': Math.round(runs[0]!.samples / median(runs.map((r) => r.seconds))),
    'plan.runs_s': runs.map((r) => r.seconds.toFixed(2)).join(' '),
    'plan.cpu_median_s': round(median(runs.map((r) => r.cpuSeconds)), 3),
    'plan.cpu_runs_s': runs.map((r) => r.cpuSeconds.toFixed(2)).join(' '),
    'plan.peak_rss_above_start_mb.median': round(median(runs.map((r) => r.peakRssAboveStartMb)), 1),
    'plan.peak_rss_above_start_mb.runs': runs.map((r) => r.peakRssAboveStartMb.toFixed(1)).join(' '),
    'plan.shard_list_ms.median': round(median(runs.map((r) => r.shardListMs)), 3),
    'plan.checksum': runs[0]!.checksum,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  if (process.argv.includes('--once')) process.stdout.write(`${JSON.stringify(planOnce())}\n`);
  else console.log(await benchPlan());
}
