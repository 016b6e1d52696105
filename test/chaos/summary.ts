import type { RssSample } from './pool';
import type { ChaosReport } from './run';

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

/** RSS per worker process: first, last, max and the late slope (growth would show there). */
export function memoryByProcess(rss: RssSample[]): ProcessMemory[] {
  const byPid = new Map<number, RssSample[]>();
  for (const s of rss) byPid.set(s.pid, [...(byPid.get(s.pid) ?? []), s]);
  return [...byPid.values()].map((samples) => {
    const late = samples.slice(Math.floor(samples.length / 2));
    const t0 = late[0]!.t;
    const xs = late.map((s) => (s.t - t0) / 60_000);
    const ys = late.map((s) => s.rssMiB);
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
    const sxy = xs.reduce((a, x, i) => a + (x - mx) * (ys[i]! - my), 0);
    return {
      slot: samples[0]!.slot,
      pid: samples[0]!.pid,
      minutes: (samples.at(-1)!.t - samples[0]!.t) / 60_000,
      firstMiB: samples[0]!.rssMiB,
      lastMiB: samples.at(-1)!.rssMiB,
      maxMiB: Math.max(...ys, ...samples.map((s) => s.rssMiB)),
      slopeMiBPerMin: sxx > 0 ? sxy / sxx : 0,
    };
  });
}

const r0 = (n: number) => n.toFixed(0);

/** The one-screen summary: what was injected, what it cost, and each check. */
export function formatSummary(report: ChaosReport): string {
  const f = report.faults.counts;
  const p = report.proxy.counts;
  const proxyLine = (op: keyof typeof p) =>
    `${op.padEnd(4)} slowdown ${p[op].slowdown}  reset ${p[op].reset}  truncate ${p[op].truncate}  stall ${p[op].stall}`;
  const lines = [
    `chaos seed ${report.seed}: ${report.spec.runId}, ${report.spec.samples} samples in ${report.spec.shards} shards (512 px PNG, big shard ${(report.spec.bytesPerBigShard / 2 ** 20).toFixed(2)} MiB, ${report.spec.deficitShards} with deficit rounds)`,
    `wall      ${r0(report.wallSeconds.total)} s total; reference ${r0(report.wallSeconds.reference)} s, disturbed ${r0(report.wallSeconds.disturbed)} s`,
    `workers   SIGKILL gpu ${f['kill-gpu']}, cpu ${f['kill-cpu']} (+${f['kill-cpu-mid-upload']} mid multipart upload), workflows ${f['kill-workflows']}`,
    `servers   SIGKILL temporal ${f['kill-temporal']}, versitygw ${f['kill-s3']}; cancel + two resumes at once ${f['cancel-and-two-resumes']}`,
    `s3 proxy  ${proxyLine('put')}`,
    `          ${proxyLine('part')}`,
    `          ${proxyLine('get')}`,
    `          requests: put ${report.proxy.requests.put}, part ${report.proxy.requests.part}, get ${report.proxy.requests.get}, other ${report.proxy.requests.other}`,
    `retries   ${report.retries} activity attempts beyond the first; uploads left: ${report.uploads.beforeGc} before gc, ${report.uploads.afterGc} after`,
    'checks',
    ...report.checks.map((c) => `  ${c.pending ? 'PENDING' : c.ok ? 'PASS' : 'FAIL'} ${c.name}: ${c.detail}`),
    'memory (RSS MiB per worker process: first -> last, max, late slope)',
    ...memoryByProcess(report.rss).map(
      (m) =>
        `  ${m.slot.padEnd(11)} pid ${String(m.pid).padEnd(7)} ${m.minutes.toFixed(1).padStart(5)} min  ${r0(m.firstMiB)} -> ${r0(m.lastMiB)}, max ${r0(m.maxMiB)}, ${m.slopeMiBPerMin.toFixed(1)} MiB/min`,
    ),
    report.ok ? 'RESULT: PASS' : 'RESULT: FAIL',
  ];
  return lines.join('\n');
}
