import { describe, expect, it } from 'vitest';
import { runChaos } from './chaos/run';
import { formatSummary } from './chaos/summary';

/**
 * The short seeded chaos run (test/chaos/run.ts): the real pipeline on a stack of its own,
 * a pool of worker processes by role, every kind of fault at least once, then the checks.
 * `npm run chaos -- --seed N --minutes M` runs longer ones.
 */
describe('chaos: the real pipeline under SIGKILLs, server outages and S3 faults', () => {
  it(
    'ends byte-identical to an undisturbed run, each shard completed once, every key read once',
    async () => {
      const report = await runChaos({
        seed: 11,
        minutes: 0,
        portOffset: Number(process.env.SYNFARM_TEST_PORT_OFFSET ?? 0),
        log: () => {},
      });
      const summary = formatSummary(report);
      process.stderr.write(`${summary}\n`);
      expect(report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`)).toEqual([]);
      // Every kind was injected (the coverage check) and the big shard went up in parts.
      expect(report.proxy.requests.part).toBeGreaterThan(0);
      expect(report.spec.bytesPerBigShard).toBeGreaterThan(5 * 2 ** 20);
    },
    15 * 60_000,
  );
});
