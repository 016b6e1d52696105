import { describe, expect, it } from 'vitest';
import { chooseSamples, classShortfall, deficitByClass, type RoundDecisions } from '../run/assembly';

const d = (key: string, intended: number, cls: number | null, confidence: number, keep = true) => ({
  key,
  classIndex: intended,
  keep,
  reasons: keep ? [] : ['low-confidence'],
  cls,
  confidence,
});

// Two classes planned (happy 2, sad 2). The ensemble reads two intended-sad samples as happy.
const planned = [0, 2, 2, 0, 0, 0, 0, 0];
const round0: RoundDecisions = {
  round: 0,
  decisions: [
    d('000000_000000', 1, 1, 0.9),
    d('000000_000001', 1, 1, 0.6),
    d('000000_000002', 2, 1, 0.8),
    d('000000_000003', 2, 2, 0.7),
    d('000000_000004', 2, 1, 0.6),
    d('000000_000005', 2, null, 0, false),
  ],
};

describe('shard assembly: class quotas by calibrated label', () => {
  it('a surplus class keeps its most confident samples, ties broken by key', () => {
    const chosen = chooseSamples([round0], planned, 'calibrated');
    // happy has four candidates (0.9, 0.6, 0.8, 0.6): keeps 0.9 and 0.8; sad has one.
    expect([...chosen].sort()).toEqual(['000000_000000', '000000_000002', '000000_000003']);
    expect(classShortfall([round0], planned, chosen, 'calibrated')).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    const tie: RoundDecisions = {
      round: 0,
      decisions: [d('000000_000009', 1, 1, 0.5), d('000000_000008', 1, 1, 0.5)],
    };
    expect([...chooseSamples([tie], [0, 1, 0, 0, 0, 0, 0, 0], 'calibrated')]).toEqual(['000000_000008']);
  });

  it('the deficit is counted by calibrated label, so the next round generates the class that is short', () => {
    expect(deficitByClass(planned, [round0], 'calibrated')).toEqual([0, 0, 1, 0, 0, 0, 0, 0]);
    // By intended label the same round looks full for sad (4 kept of 2 planned).
    expect(deficitByClass(planned, [round0], 'intended')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const round1: RoundDecisions = { round: 1, decisions: [d('000000_000008', 2, 2, 0.4)] };
    expect(deficitByClass(planned, [round0, round1], 'calibrated')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const chosen = chooseSamples([round0, round1], planned, 'calibrated');
    expect(chosen.has('000000_000008')).toBe(true);
    expect(classShortfall([round0, round1], planned, chosen, 'calibrated')).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('by intended label: the earliest kept samples per intended class, as before', () => {
    const chosen = chooseSamples([round0], planned, 'intended');
    expect([...chosen].sort()).toEqual(['000000_000000', '000000_000001', '000000_000002', '000000_000003']);
  });
});
