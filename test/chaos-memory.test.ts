import { describe, expect, it } from 'vitest';
import { memoryGrowthCheck, memoryTimeline } from './chaos/memory';
import type { RssSample } from './chaos/pool';

/** One process sampled every 5 s for `minutes`, its RSS given by `mib(minute)`. */
function process(pid: number, minutes: number, mib: (minute: number) => number): RssSample[] {
  return Array.from({ length: minutes * 12 }, (_, i) => ({
    t: 1_000_000 + i * 5000,
    slot: `gpu-${pid}`,
    role: 'gpu' as const,
    pid,
    rssMiB: mib(i / 12),
  }));
}

describe('the chaos soak memory check', () => {
  it('passes a process that warms up, then stays flat with GC noise', () => {
    const flat = process(1, 30, (m) => (m < 3 ? 300 + m * 100 : 600 + ((m * 37) % 11)));
    expect(memoryGrowthCheck(flat, 10).ok).toBe(true);
  });

  it('fails a process that keeps growing after its warm-up', () => {
    const leak = process(2, 30, (m) => 600 + m * 10);
    const check = memoryGrowthCheck([...process(1, 30, () => 600), ...leak], 10);
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/gpu-2 \d+ -> \d+ MiB \(GREW\)/);
  });

  it('fails when no process lived long enough to judge', () => {
    expect(
      memoryGrowthCheck(
        process(1, 5, () => 600),
        10,
      ),
    ).toMatchObject({ ok: false });
  });

  it('gives long-lived processes one median per 5 minutes', () => {
    const rows = memoryTimeline([
      ...process(1, 20, (m) => 100 + Math.floor(m / 5) * 10),
      ...process(2, 4, () => 1),
    ]);
    expect(rows).toEqual([{ slot: 'gpu-1', pid: 1, mibByBin: [100, 110, 120, 130] }]);
  });
});
