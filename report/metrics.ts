import type { Calibration } from '../models/calibrator/schema';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { SKIN_TONES, skinToneIndex } from '../plan/request';
import type { Sidecar } from '../run/sidecar';

/** Soft-label entropy histogram: ENTROPY_BINS equal bins over [0, log2(8)] bits. */
export const ENTROPY_BINS = 12;
export const MAX_ENTROPY_BITS = Math.log2(AFFECTNET_CLASSES.length);

export function entropyBits(p: readonly number[]): number {
  let h = 0;
  for (const x of p) if (x > 0) h -= x * Math.log2(x);
  return Math.max(0, h);
}

export function entropyBin(bits: number): number {
  return Math.min(ENTROPY_BINS - 1, Math.max(0, Math.floor((bits / MAX_ENTROPY_BITS) * ENTROPY_BINS)));
}

/**
 * What the quality report needs of a shard, accumulated at commit so the report reads sidecars
 * only (one small object per shard) and never re-reads a tar. Its shape is the sidecar's
 * `quality` field (run/sidecar.ts), where each count is described.
 */
export type QualityAggregate = NonNullable<Sidecar['quality']>;
export type SkinToneCounts = NonNullable<QualityAggregate['bySkinTone']>;

export function emptyQuality(): QualityAggregate {
  const n = AFFECTNET_CLASSES.length;
  return {
    generated: 0,
    faceDetected: 0,
    noFace: 0,
    confusion: Array.from({ length: n }, () => new Array<number>(n).fill(0)),
    unlabeled: new Array<number>(n).fill(0),
    entropyBins: new Array<number>(ENTROPY_BINS).fill(0),
    bySkinTone: emptySkinToneCounts(),
  };
}

export function emptySkinToneCounts(): SkinToneCounts {
  const zeros = () => SKIN_TONES.map(() => 0);
  return { generated: zeros(), correct: zeros(), committed: zeros() };
}

/** One generated sample of planned `skinTone`, and whether it was committed. */
export function addSkinTone(
  q: QualityAggregate,
  skinTone: number,
  label: Calibration,
  committed: boolean,
): void {
  const t = skinToneIndex(skinTone);
  if (t < 0) return;
  q.bySkinTone ??= emptySkinToneCounts();
  q.bySkinTone.generated[t]! += 1;
  if (label.classIndex === label.intended.classIndex) q.bySkinTone.correct[t]! += 1;
  if (committed) q.bySkinTone.committed[t]! += 1;
}

export function addGenerated(q: QualityAggregate, label: Calibration): void {
  q.generated++;
  if (label.face) q.faceDetected++;
  else if (label.error?.code === 'no-face') q.noFace++;
  const intended = label.intended.classIndex;
  if (label.classIndex === null) q.unlabeled[intended]! += 1;
  else q.confusion[intended]![label.classIndex]! += 1;
}

export function addCommitted(q: QualityAggregate, label: Calibration): void {
  if (label.softLabel) q.entropyBins[entropyBin(entropyBits(label.softLabel))]! += 1;
}

export function mergeQuality(into: QualityAggregate, q: QualityAggregate): void {
  into.generated += q.generated;
  into.faceDetected += q.faceDetected;
  into.noFace += q.noFace;
  q.confusion.forEach((row, i) => {
    row.forEach((n, j) => {
      into.confusion[i]![j]! += n;
    });
  });
  q.unlabeled.forEach((n, i) => {
    into.unlabeled[i]! += n;
  });
  q.entropyBins.forEach((n, i) => {
    into.entropyBins[i]! += n;
  });
  if (q.bySkinTone) {
    into.bySkinTone ??= emptySkinToneCounts();
    for (const key of ['generated', 'correct', 'committed'] as const) {
      q.bySkinTone[key].forEach((n, i) => {
        into.bySkinTone![key][i]! += n;
      });
    }
  }
}
