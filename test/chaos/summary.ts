import { memoryByProcess, memoryTimeline } from './memory';
import type { ChaosReport } from './run';

const r0 = (n: number) => n.toFixed(0);

/** The long-lived processes' RSS in 5-minute steps (a soak's memory over time). */
function timelineLines(report: ChaosReport): string[] {
  const rows = memoryTimeline(report.rss);
  if (rows.length === 0) return [];
  const bins = Math.max(...rows.map((r) => r.mibByBin.length));
  const head = Array.from({ length: bins }, (_, i) => `${i * 5}m`.padStart(6)).join('');
  return [
    `memory over time (RSS MiB, median of each 5 minutes since the process started)`,
    `  ${'process'.padEnd(23)}${head}`,
    ...rows.map(
      (r) => `  ${`${r.slot} ${r.pid}`.padEnd(23)}${r.mibByBin.map((m) => r0(m).padStart(6)).join('')}`,
    ),
  ];
}

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
    'memory (RSS MiB per worker, its process tree: first -> last, max, late slope)',
    ...memoryByProcess(report.rss).map(
      (m) =>
        `  ${m.slot.padEnd(15)} pid ${String(m.pid).padEnd(7)} ${m.minutes.toFixed(1).padStart(5)} min  ${r0(m.firstMiB)} -> ${r0(m.lastMiB)}, max ${r0(m.maxMiB)}, ${m.slopeMiBPerMin.toFixed(1)} MiB/min`,
    ),
    ...timelineLines(report),
    report.ok ? 'RESULT: PASS' : 'RESULT: FAIL',
  ];
  return lines.join('\n');
}
