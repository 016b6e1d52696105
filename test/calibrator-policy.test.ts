import { describe, expect, it } from 'vitest';
import {
  CalibrationPolicySchema,
  FACE_API_EXPRESSIONS,
  FACE_API_TO_AFFECTNET,
  HUMAN_EMOTIONS,
  HUMAN_TO_AFFECTNET,
  softLabel,
  temperatureScale,
  toAffectNet,
  weightedAverage,
} from '../models/calibrator';
import { AFFECTNET_CLASSES, classIndex } from '../plan/expressions';

const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
const entropy = (v: number[]) => -v.reduce((a, p) => a + (p > 0 ? p * Math.log(p) : 0), 0);
const policy = (input: Parameters<typeof CalibrationPolicySchema.parse>[0] = {}) =>
  CalibrationPolicySchema.parse(input);

describe('mapping model outputs onto AffectNet classes', () => {
  it('face-api order maps each class to its AffectNet index and sums to 1', () => {
    const probs = [0.05, 0.1, 0.15, 0.2, 0.25, 0.15, 0.1]; // neutral happy sad angry fearful disgusted surprised
    const out = toAffectNet(probs, FACE_API_EXPRESSIONS, FACE_API_TO_AFFECTNET);
    expect(out).toHaveLength(8);
    expect(sum(out)).toBeCloseTo(1, 10);
    expect(out[classIndex('anger')]).toBeCloseTo(0.2);
    expect(out[classIndex('fear')]).toBeCloseTo(0.25);
    expect(out[classIndex('surprise')]).toBeCloseTo(0.1);
    expect(out[classIndex('contempt')]).toBe(0);
  });

  it("human emotion order ('angry','disgust','fear','happy','sad','surprise','neutral') maps correctly", () => {
    const onehots = HUMAN_EMOTIONS.map((_, i) => HUMAN_EMOTIONS.map((__, j) => (i === j ? 1 : 0)));
    const argmaxes = onehots.map((p) => toAffectNet(p, HUMAN_EMOTIONS, HUMAN_TO_AFFECTNET).indexOf(1));
    expect(argmaxes.map((i) => AFFECTNET_CLASSES[i])).toEqual([
      'anger',
      'disgust',
      'fear',
      'happy',
      'sad',
      'surprise',
      'neutral',
    ]);
  });

  it('renormalises a softmax that drifted from 1 and rejects a wrong-length vector', () => {
    const out = toAffectNet([0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], HUMAN_EMOTIONS, HUMAN_TO_AFFECTNET);
    expect(sum(out)).toBeCloseTo(1, 10);
    expect(() => toAffectNet([1, 0], HUMAN_EMOTIONS, HUMAN_TO_AFFECTNET)).toThrow(RangeError);
  });
});

describe('temperature scaling', () => {
  const p = [0.7, 0.2, 0.05, 0.05, 0, 0, 0, 0];
  it('T=1 leaves probabilities unchanged', () => {
    temperatureScale(p, 1).forEach((v, i) => {
      expect(v).toBeCloseTo(p[i]!, 10);
    });
  });
  it('T>1 softens, T<1 sharpens, argmax and impossible classes unchanged', () => {
    const soft = temperatureScale(p, 2);
    const sharp = temperatureScale(p, 0.5);
    expect(entropy(soft)).toBeGreaterThan(entropy(p));
    expect(entropy(sharp)).toBeLessThan(entropy(p));
    for (const v of [soft, sharp]) {
      expect(sum(v)).toBeCloseTo(1, 10);
      expect(v.indexOf(Math.max(...v))).toBe(0);
      expect(v[7]).toBe(0);
    }
    // p^(1/T) renormalised: 0.7^0.5 / (sum of sqrt) for T=2.
    const roots = p.map(Math.sqrt);
    expect(soft[0]).toBeCloseTo(roots[0]! / sum(roots), 6);
  });
  it('per-model temperature changes only that model in the ensemble average', () => {
    const perModel = { a: p, b: [0.1, 0.8, 0.1, 0, 0, 0, 0, 0] };
    const plain = weightedAverage(perModel, policy());
    const hot = weightedAverage(perModel, policy({ temperatures: { a: 3 } }));
    expect(hot[0]).toBeLessThan(plain[0]!);
    expect(hot[1]).toBeGreaterThan(plain[1]!);
  });
});

describe('soft-label policy (SynFER)', () => {
  const happy = classIndex('happy');
  const perModel = {
    a: [0.1, 0.8, 0.1, 0, 0, 0, 0, 0],
    b: [0.3, 0.6, 0.1, 0, 0, 0, 0, 0],
  };
  const ensemble = [0.2, 0.7, 0.1, 0, 0, 0, 0, 0];

  it('where the ensemble agrees, keeps the intended class: mix*onehot + (1-mix)*ensemble', () => {
    const out = softLabel(happy, perModel, 0, policy({ mixWeight: 0.6 }));
    expect(out.agrees).toBe(true);
    out.ensemble.forEach((v, i) => {
      expect(v).toBeCloseTo(ensemble[i]!, 10);
    });
    const expected = ensemble.map((e, i) => 0.6 * (i === happy ? 1 : 0) + 0.4 * e);
    out.softLabel.forEach((v, i) => {
      expect(v).toBeCloseTo(expected[i]!, 10);
    });
    expect(out.classIndex).toBe(happy);
    expect(out.confidence).toBeCloseTo(0.6 + 0.4 * 0.7, 10);
    expect(sum(out.softLabel)).toBeCloseTo(1, 10);
  });

  it('where it disagrees, the label becomes the ensemble average', () => {
    const sad = classIndex('sad');
    const out = softLabel(sad, perModel, 0, policy({ mixWeight: 0.9 }));
    expect(out.agrees).toBe(false);
    out.softLabel.forEach((v, i) => {
      expect(v).toBeCloseTo(ensemble[i]!, 10);
    });
    expect(out.classIndex).toBe(happy);
    expect(out.confidence).toBeCloseTo(0.7, 10);
  });

  it("'intended' mode never relabels and 'ensemble' mode always uses the average", () => {
    const sad = classIndex('sad');
    expect(softLabel(sad, perModel, 0, policy({ mode: 'intended' })).classIndex).toBe(sad);
    const ens = softLabel(happy, perModel, 0, policy({ mode: 'ensemble' }));
    ens.softLabel.forEach((v, i) => {
      expect(v).toBeCloseTo(ensemble[i]!, 10);
    });
  });

  it('model weights shift the ensemble toward the heavier model', () => {
    const out = softLabel(happy, perModel, 0, policy({ weights: { a: 3, b: 1 } }));
    expect(out.ensemble[happy]).toBeCloseTo((3 * 0.8 + 0.6) / 4, 10);
  });

  it('lip-corner asymmetry moves a share of the ensemble onto contempt, none below the onset', () => {
    const contempt = classIndex('contempt');
    const none = softLabel(contempt, perModel, 0.45, policy());
    expect(none.ensemble[contempt]).toBe(0);
    const strong = softLabel(contempt, perModel, 4, policy({ contemptMaxShare: 0.8 }));
    expect(strong.ensemble[contempt]).toBeCloseTo(0.8, 10);
    expect(strong.agrees).toBe(true);
    expect(strong.classIndex).toBe(contempt);
    expect(sum(strong.ensemble)).toBeCloseTo(1, 10);
  });

  it('the contempt ramp is named config: onset and full-share asymmetry move it, defaults 0.5 and 1.5', () => {
    const contempt = classIndex('contempt');
    const share = (asym: number, p: Parameters<typeof policy>[0] = {}) =>
      softLabel(contempt, perModel, asym, policy(p)).ensemble[contempt]!;
    expect(share(1)).toBeCloseTo(0.6 * 0.5, 10); // halfway from 0.5 to 1.5
    expect(share(2.5, { contemptOnset: 0.5, contemptFullAt: 2.5 })).toBeCloseTo(0.6, 10);
    expect(share(0.8, { contemptOnset: 0.5, contemptFullAt: 2.5 })).toBeCloseTo(0.6 * 0.15, 10);
    expect(() => policy({ contemptOnset: 3, contemptFullAt: 2 })).toThrow(/contemptFullAt/);
  });
});
