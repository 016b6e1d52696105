import { performance } from 'node:perf_hooks';

/**
 * The one way a bench compares sides (issue 11, "Benchmark rules"): all run in the same
 * command, interleaved (the side that goes first rotates, so drifting machine load biases
 * none), at least 3 times; the figures are each side's median and the first side's ratio to each
 * baseline. A side that cannot run here (no Python, no GPU) is reported with its reason, never
 * dropped.
 */

/** Figures a bench returns: numbers, or a sentence where a figure could not be measured. */
export type Figures = Record<string, number | string>;

export interface Side {
  name: string;
  /**
   * One repetition. When it resolves to a number, that is the seconds to count (a side that times
   * only part of its work, e.g. a loader reporting its own loop time); otherwise the call is timed.
   */
  run: () => Promise<unknown>;
}

/** A side that cannot run on this machine, with the reason printed in its place. */
export interface UnavailableSide {
  name: string;
  cannotRun: string;
}

export type MaybeSide = Side | UnavailableSide;

export interface CompareOptions {
  /** Prefix of every figure, e.g. `tsDecode_vs_pythonDecode`. */
  name: string;
  /**
   * The measured side first, the baseline second; any further sides are other baselines for the
   * same work (each gets its own ratio to the first), interleaved with the rest.
   */
  sides: readonly [MaybeSide, MaybeSide, ...MaybeSide[]];
  /**
   * `time` (default): first's median seconds / second's (lower is better, e.g. farm / bare loop);
   * `rate`: first's throughput / second's (higher is better, e.g. TS reader / Python reader).
   */
  ratio?: 'time' | 'rate';
  repetitions?: number;
  /** Units of work per repetition (samples, bytes...) to also print a rate per side. */
  work?: { count: number; unit: string };
  /** Untimed runs of each side first (JIT, connections, model kernels). */
  warmups?: number;
  /** Print this process's CPU per side; off when the sides run in child processes. Default true. */
  cpu?: boolean;
}

export const MIN_REPETITIONS = 3;

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function isRunnable(side: MaybeSide): side is Side {
  return 'run' in side;
}

interface Timing {
  seconds: number;
  /** This process's CPU seconds over the run: less disturbed by a busy machine than wall time. */
  cpuSeconds: number;
}

async function timeOnce(side: Side): Promise<Timing> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const reported = await side.run();
  const cpu = process.cpuUsage(cpu0);
  return {
    seconds: typeof reported === 'number' ? reported : (performance.now() - t0) / 1000,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

const round = (x: number, digits = 4) => Number(x.toPrecision(digits));

/**
 * Runs the sides interleaved and returns `<name>.<side>.median_s`, the rate, runs, and the first
 * side's ratio to each baseline.
 */
export async function compare(options: CompareOptions): Promise<Figures> {
  const repetitions = Math.max(MIN_REPETITIONS, options.repetitions ?? MIN_REPETITIONS);
  const runnable = options.sides.filter(isRunnable);
  for (let w = 0; w < (options.warmups ?? 0); w++) for (const side of runnable) await side.run();
  const timings = new Map<string, Timing[]>(runnable.map((s) => [s.name, []]));
  for (let r = 0; r < repetitions; r++) {
    // Rotate who goes first each repetition.
    for (let i = 0; i < runnable.length; i++) {
      const side = runnable[(i + r) % runnable.length]!;
      timings.get(side.name)!.push(await timeOnce(side));
    }
  }
  const figures: Figures = {};
  const medians: (number | undefined)[] = [];
  for (const side of options.sides) {
    const key = `${options.name}.${side.name}`;
    if (!isRunnable(side)) {
      figures[key] = `cannot run: ${side.cannotRun}`;
      medians.push(undefined);
      continue;
    }
    const runs = timings.get(side.name)!.map((t) => t.seconds);
    const m = median(runs);
    medians.push(m);
    figures[`${key}.median_s`] = round(m);
    if (options.work) figures[`${key}.${options.work.unit}_per_s`] = round(options.work.count / m);
    figures[`${key}.runs_s`] = runs.map((s) => round(s, 3)).join(' ');
    if (options.cpu !== false) {
      const cpu = median(timings.get(side.name)!.map((t) => t.cpuSeconds));
      figures[`${key}.this_process_cpu_median_s`] = round(cpu);
    }
  }
  const [a, ...baselines] = options.sides;
  const rate = options.ratio === 'rate';
  const ma = medians[0];
  baselines.forEach((b, i) => {
    const ratioKey = `${options.name}.${rate ? 'rate' : 'time'}_ratio_${a.name}_to_${b.name}`;
    const mb = medians[i + 1];
    figures[ratioKey] =
      ma === undefined || mb === undefined
        ? `cannot run: ${[a, b]
            .filter((s) => !isRunnable(s))
            .map((s) => s.name)
            .join(' and ')} unavailable`
        : round(rate ? mb / ma : ma / mb);
  });
  return figures;
}

/** Prints one bench's figures, one per line, numbers rounded for reading. */
export function formatFigures(name: string, figures: Figures): string {
  const lines = Object.entries(figures).map(([k, v]) => {
    const shown = typeof v === 'string' ? v : Number.isInteger(v) ? String(v) : v.toFixed(3);
    return `  ${k.padEnd(56)} ${shown}`;
  });
  return `${name}\n${lines.join('\n')}\n`;
}
