import type { Check } from './checks';
import type { RssSample } from './pool';

export interface ProcessMemory {
  slot: string;
  pid: number;
  minutes: number;
  firstMiB: number;
  lastMiB: number;
  maxMiB: number;
  /** Least-squares slope over the process's second half, MiB per minute (after warm-up). */
  slopeMiBPerMin: number;
}

function byProcess(rss: RssSample[]): RssSample[][] {
  const byPid = new Map<number, RssSample[]>();
  for (const s of rss) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  return [...byPid.values()];
}

function slope(samples: RssSample[]): number {
  const t0 = samples[0]!.t;
  const xs = samples.map((s) => (s.t - t0) / 60_000);
  const ys = samples.map((s) => s.rssMiB);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
  return sxx > 0 ? sxy / sxx : 0;
}

const minutesOf = (samples: RssSample[]) => (samples.at(-1)!.t - samples[0]!.t) / 60_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** RSS per worker process: first, last, max and the late slope (growth would show there). */
export function memoryByProcess(rss: RssSample[]): ProcessMemory[] {
  return byProcess(rss).map((samples) => ({
    slot: samples[0]!.slot,
    pid: samples[0]!.pid,
    minutes: minutesOf(samples),
    firstMiB: samples[0]!.rssMiB,
    lastMiB: samples.at(-1)!.rssMiB,
    maxMiB: Math.max(...samples.map((s) => s.rssMiB)),
    slopeMiBPerMin: slope(samples.slice(Math.floor(samples.length / 2))),
  }));
}

/**
 * RSS over time of each process that lived at least `minMinutes`: the median of each
 * `binMinutes` window since it started, so a slow leak reads as a rising row.
 */
export function memoryTimeline(
  rss: RssSample[],
  minMinutes = 10,
  binMinutes = 5,
): Array<{ slot: string; pid: number; mibByBin: number[] }> {
  return byProcess(rss)
    .filter((samples) => minutesOf(samples) >= minMinutes)
    .map((samples) => {
      const bins: number[][] = [];
      for (const s of samples) {
        const bin = Math.floor((s.t - samples[0]!.t) / (binMinutes * 60_000));
        bins[bin] = [...(bins[bin] ?? []), s.rssMiB];
      }
      return { slot: samples[0]!.slot, pid: samples[0]!.pid, mibByBin: bins.map((b) => median(b ?? [])) };
    });
}

/** How much a long-lived process may grow from its second quarter to its last before it fails. */
export const GROWTH_LIMIT = { fraction: 0.2, mib: 64 };

/**
 * No growth: for each process that lived at least `minMinutes`, the median RSS of its last
 * quarter against that of its second quarter (the first quarter is warm-up: models load,
 * the workflow bundle is built). Growth beyond both limits fails.
 */
export function memoryGrowthCheck(rss: RssSample[], minMinutes: number): Check {
  const name = `no worker process grows (those living >= ${minMinutes} min)`;
  const long = byProcess(rss).filter((samples) => minutesOf(samples) >= minMinutes);
  if (long.length === 0) return { name, ok: false, detail: 'no worker process lived that long' };
  const rows = long.map((samples) => {
    const q = Math.floor(samples.length / 4);
    const early = median(samples.slice(q, 2 * q).map((s) => s.rssMiB));
    const late = median(samples.slice(3 * q).map((s) => s.rssMiB));
    const grew = late - early > GROWTH_LIMIT.mib && late > early * (1 + GROWTH_LIMIT.fraction);
    return { grew, text: `${samples[0]!.slot} ${early.toFixed(0)} -> ${late.toFixed(0)} MiB` };
  });
  return {
    name,
    ok: rows.every((r) => !r.grew),
    detail: rows.map((r) => `${r.text}${r.grew ? ' (GREW)' : ''}`).join('; '),
  };
}
