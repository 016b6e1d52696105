import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  buildRunReport,
  ENTROPY_BINS,
  entropyBin,
  entropyBits,
  formatReport,
  RunReportSchema,
  reportFromSidecars,
} from '../report';
import { runKeys } from '../run/layout';
import type { Sidecar } from '../run/sidecar';
import { openStore } from '../storage';

const zeros8 = () => new Array<number>(8).fill(0);
const matrix = (cells: [number, number, number][]) => {
  const m = Array.from({ length: 8 }, zeros8);
  for (const [i, j, n] of cells) m[i]![j] = n;
  return m;
};
const bins = (cells: [number, number][]) => {
  const b = new Array<number>(ENTROPY_BINS).fill(0);
  for (const [i, n] of cells) b[i] = n;
  return b;
};

function sidecar(shard: number, extra: Partial<Sidecar>): Sidecar {
  return {
    format: 'synfarm-shard-v1',
    runId: 'rep',
    shard,
    tar: `shard-${String(shard).padStart(6, '0')}.tar`,
    samples: 4,
    bytes: 10 + shard,
    sha256: '0'.repeat(64),
    planned: 4,
    shortfall: 0,
    rounds: 1,
    classHistogram: [0, 2, 1, 0, 0, 0, 0, 1],
    rejectsByReason: {},
    keys: { first: null, last: null },
    ...extra,
  };
}

/**
 * Shard 0: 10 generated (happy: 4 right, 1 read neutral, 1 no face; sad: 2 right, 1 neutral, 1
 * no face). Shard 1: 4 generated (happy 2 right; contempt 2 read happy). Shard 2 predates the
 * aggregates. By hand: happy 6/8, sad 2/4, contempt 0/2, neutral none; overall 8/14; faces 12/14.
 */
const SIDECARS: Sidecar[] = [
  sidecar(0, {
    rejectsByReason: { 'no-face': 2, 'low-confidence': 1 },
    quality: {
      generated: 10,
      faceDetected: 8,
      noFace: 2,
      confusion: matrix([
        [1, 1, 4],
        [1, 0, 1],
        [2, 2, 2],
        [2, 0, 1],
      ]),
      unlabeled: [0, 1, 1, 0, 0, 0, 0, 0],
      entropyBins: bins([
        [0, 3],
        [5, 1],
      ]),
    },
  }),
  sidecar(1, {
    rejectsByReason: { 'low-confidence': 2 },
    quality: {
      generated: 4,
      faceDetected: 4,
      noFace: 0,
      confusion: matrix([
        [1, 1, 2],
        [7, 1, 2],
      ]),
      unlabeled: zeros8(),
      entropyBins: bins([[5, 4]]),
    },
    guidance: [{ round: 1, classes: [] }],
  }),
  sidecar(2, {}),
];

describe('run report', () => {
  it('computes FER accuracy, detection rate, confusion and rejects from sidecars as by hand', () => {
    const r = reportFromSidecars('rep', SIDECARS);
    expect(r.shards).toBe(3);
    expect(r.shardsWithoutQuality).toEqual([2]);
    expect(r.committedSamples).toBe(12);
    expect(r.generatedSamples).toBe(14);
    expect(r.faceDetectionRate).toBe(0.8571);
    expect(r.ferAccuracy.overall).toBe(0.5714);
    expect(r.ferAccuracy.perClass).toMatchObject({ neutral: null, happy: 0.75, sad: 0.5, contempt: 0 });
    expect(r.confusion.matrix[1]).toEqual([1, 6, 0, 0, 0, 0, 0, 0]);
    expect(r.confusion.matrix[7]![1]).toBe(2);
    expect(r.confusion.unlabeled).toEqual([0, 1, 1, 0, 0, 0, 0, 0]);
    expect(r.rejectsByReason).toEqual({ 'low-confidence': 3, 'no-face': 2 });
    expect(r.entropy.counts[0]).toBe(3);
    expect(r.entropy.counts[5]).toBe(5);
    expect(r.entropy.edges).toHaveLength(ENTROPY_BINS + 1);
    expect(r.entropy.edges.at(-1)).toBe(3);
    expect(r.guidanceRounds).toBe(1);
    expect(RunReportSchema.parse(r)).toEqual(r);
  });

  it('counts by planned skin tone only when every sidecar with aggregates has the counts', () => {
    const tones = (generated: number[], correct: number[], committed: number[]) => ({
      generated,
      correct,
      committed,
    });
    const [s0, s1] = SIDECARS as [Sidecar, Sidecar];
    const withTones = [
      {
        ...s0,
        quality: {
          ...s0.quality!,
          bySkinTone: tones([4, 0, 2, 0, 0, 4], [3, 0, 1, 0, 0, 2], [2, 0, 1, 0, 0, 1]),
        },
      },
      {
        ...s1,
        quality: {
          ...s1.quality!,
          bySkinTone: tones([0, 1, 1, 0, 0, 2], [0, 1, 1, 0, 0, 0], [0, 1, 1, 0, 0, 0]),
        },
      },
    ];
    const r = reportFromSidecars('rep', withTones);
    expect(r.bySkinTone).toEqual({
      tones: [1, 2, 3, 4, 5, 6],
      generated: [4, 1, 3, 0, 0, 6],
      committed: [2, 1, 2, 0, 0, 1],
      ferAccuracy: [0.75, 1, 0.6667, null, null, 0.3333],
    });
    expect(formatReport(r)).toMatch(/6\s+6 ->\s+1\s+33\.3%/);
    // One shard without the counts, or without any quality aggregates, would make them partial:
    // none are reported. Nor are they for a run with no committed shard.
    expect(reportFromSidecars('rep', [withTones[0]!, s1]).bySkinTone).toBeNull();
    expect(reportFromSidecars('rep', [...withTones, SIDECARS[2]!]).bySkinTone).toBeNull();
    expect(reportFromSidecars('rep', []).bySkinTone).toBeNull();
    expect(reportFromSidecars('rep', SIDECARS).bySkinTone).toBeNull();
  });

  it('bins soft-label entropy in bits: one-hot 0, uniform log2(8) = 3 in the last bin', () => {
    expect(entropyBits([1, 0, 0, 0, 0, 0, 0, 0])).toBe(0);
    expect(entropyBits(new Array(8).fill(1 / 8))).toBeCloseTo(3, 10);
    expect(entropyBits([0.5, 0.5, 0, 0, 0, 0, 0, 0])).toBeCloseTo(1, 10);
    expect(entropyBin(0)).toBe(0);
    expect(entropyBin(3)).toBe(ENTROPY_BINS - 1);
    expect(entropyBin(1)).toBe(Math.floor(ENTROPY_BINS / 3));
  });

  it('formats the accuracy, the matrix and the histogram for the CLI', () => {
    const text = formatReport(reportFromSidecars('rep', SIDECARS));
    expect(text).toContain('FER accuracy of generated images (calibrated == intended):  57.1%');
    expect(text).toMatch(/happy\s+1\s+6\s+0\s+0\s+0\s+0\s+0\s+0\s+1\s+75\.0%/);
    expect(text).toContain('rejects: low-confidence 3, no-face 2');
    expect(text).toContain('face detected:  85.7%');
  });

  it('buildRunReport reads committed sidecars only and writes report.json beside the manifest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-report-'));
    const store = openStore(pathToFileURL(dir).href);
    const keys = runKeys('rep');
    for (const s of SIDECARS.slice(0, 2)) {
      await store.put(keys.shardTar(s.shard), new Uint8Array(s.bytes));
      await store.put(keys.shardSidecar(s.shard), JSON.stringify(s));
    }
    // A sidecar whose tar is missing is not committed.
    await store.put(keys.shardSidecar(2), JSON.stringify(SIDECARS[2]));
    const report = await buildRunReport(store, 'rep');
    expect(report.shards).toBe(2);
    expect(report.ferAccuracy.overall).toBe(0.5714);
    const stored = JSON.parse(Buffer.from(await store.get(keys.report)).toString());
    expect(stored).toEqual(report);
  });
});
