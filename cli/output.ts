import type { Progress } from '../workflows/dataset';

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '-';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0
    ? `${h}h${String(m).padStart(2, '0')}m`
    : m > 0
      ? `${m}m${String(s % 60).padStart(2, '0')}s`
      : `${s}s`;
}

export function formatRejects(rejects: Record<string, number>): string {
  const entries = Object.entries(rejects).sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

export function progressLine(p: Progress): string {
  const s = p.shards;
  return [
    `${p.state}`,
    `shards ${s.committed}/${s.planned} committed, ${s.running} running, ${s.failed} failed`,
    `samples ${p.samples.committed.toLocaleString('en-US')}`,
    `${p.rate.toFixed(1)} samples/s`,
    `ETA ${formatDuration(p.etaSeconds)}`,
  ].join(' | ');
}
