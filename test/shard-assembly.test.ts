import { describe, expect, it } from 'vitest';
import {
  chooseSamples,
  classShortfall,
  deficitByClass,
  nextRoundRequest,
  type RoundDecisions,
} from '../run/assembly';

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

  it('a surplus class with planned skin tones keeps its most confident samples spread over the tones', () => {
    const toned = (key: string, confidence: number, skinTone: number) => ({
      ...d(key, 1, 1, confidence),
      skinTone,
    });
    const round: RoundDecisions = {
      round: 0,
      decisions: [
        toned('000000_000000', 0.95, 1),
        toned('000000_000001', 0.9, 1),
        toned('000000_000002', 0.85, 1),
        toned('000000_000003', 0.8, 2),
        toned('000000_000004', 0.5, 6),
        toned('000000_000005', 0.45, 6),
        toned('000000_000006', 0.4, 6),
      ],
    };
    const keep = (n: number) => [...chooseSamples([round], [0, n, 0, 0, 0, 0, 0, 0], 'calibrated')].sort();
    // By confidence alone the three tone-1 samples would fill a quota of 3.
    expect(keep(3)).toEqual(['000000_000000', '000000_000003', '000000_000004']);
    // Tone 2 has one candidate; the other picks alternate between tones 1 and 6, best first.
    expect(keep(5)).toEqual([
      '000000_000000',
      '000000_000001',
      '000000_000003',
      '000000_000004',
      '000000_000005',
    ]);
    expect(keep(9)).toHaveLength(7);
    // Decisions recorded before tones were: by confidence alone, as before.
    const untoned = { round: 0, decisions: round.decisions.map(({ skinTone: _, ...rest }) => rest) };
    expect([...chooseSamples([untoned], [0, 3, 0, 0, 0, 0, 0, 0], 'calibrated')].sort()).toEqual([
      '000000_000000',
      '000000_000001',
      '000000_000002',
    ]);
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

describe('shard assembly: the next deficit round asks by yield', () => {
  const options = { balanceBy: 'calibrated' as const, capacity: 100, maxOvergeneration: 4 };

  it("asks for a class's deficit over its yield so far, at most maxOvergeneration times it", () => {
    // sad: 1 of 4 intended-sad samples landed as sad (yield 1/4), deficit 1 -> asks for 4.
    expect(nextRoundRequest(planned, [round0], options)).toEqual([0, 0, 4, 0, 0, 0, 0, 0]);
    // None of 8 landed: the yield floor 1/maxOvergeneration caps the ask at 4 x the deficit.
    const none: RoundDecisions = {
      round: 0,
      decisions: Array.from({ length: 8 }, (_, i) => d(`000000_00001${i}`, 2, 1, 0.9)),
    };
    expect(nextRoundRequest([0, 0, 3, 0, 0, 0, 0, 0], [none], options)).toEqual([0, 0, 12, 0, 0, 0, 0, 0]);
    expect(nextRoundRequest([0, 0, 3, 0, 0, 0, 0, 0], [none], { ...options, maxOvergeneration: 1 })).toEqual([
      0, 0, 3, 0, 0, 0, 0, 0,
    ]);
  });

  it('a full shard asks for nothing, and an ask over the round capacity shrinks to it, never below the deficit', () => {
    expect(nextRoundRequest([0, 2, 0, 0, 0, 0, 0, 0], [round0], options)).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
    const none: RoundDecisions = {
      round: 0,
      decisions: [
        ...Array.from({ length: 4 }, (_, i) => d(`000000_00002${i}`, 2, 1, 0.9)),
        ...Array.from({ length: 4 }, (_, i) => d(`000000_00003${i}`, 5, 1, 0.9)),
      ],
    };
    const ask = nextRoundRequest([0, 0, 10, 0, 0, 10, 0, 0], [none], { ...options, capacity: 50 });
    expect(ask.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(50);
    expect(ask[2]).toBeGreaterThanOrEqual(10);
    expect(ask[5]).toBeGreaterThanOrEqual(10);
  });
});
