import { describe, expect, it } from 'vitest';
import { applyGuidance, computeGuidance, type Guidance, guidanceHint, type RoundSample } from '../guidance';
import type { Calibration } from '../models/calibrator/schema';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { createPlan } from '../plan/plan';
import { resolveSpec } from '../spec';

const spec = resolveSpec({ runId: 'guide', target: 64, shardSize: 64, output: 'file:///tmp/synfarm-guide' });
const settings = spec.filter;

function sample(
  intended: number,
  read: number | null,
  keep: boolean,
  requested: Record<string, number> = {},
): RoundSample {
  const calibration = {
    key: 'k',
    intended: { classIndex: intended, className: AFFECTNET_CLASSES[intended]! },
    classIndex: read,
    className: read === null ? null : AFFECTNET_CLASSES[read]!,
    aus: { requested, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
  } as unknown as Calibration;
  return { calibration, keep };
}

/** Contempt read as happy 3 times in 4; anger always accepted. */
const round0: RoundSample[] = [
  sample(7, 1, false),
  sample(7, 1, false),
  sample(7, 1, false),
  sample(7, 7, true),
  sample(6, 6, true),
  sample(6, 6, true),
];

describe('computeGuidance', () => {
  it('steers only classes accepted too rarely, toward the prototype and away from the confusion', () => {
    const g = computeGuidance(0, round0, undefined, settings)!;
    expect(g.round).toBe(1);
    expect(Object.keys(g.classes)).toEqual(['contempt']);
    const c = g.classes.contempt!;
    expect(c.gain).toBeCloseTo(1 + 0.5 * 0.75, 4);
    expect(c.confusedWith).toBe('happy');
    // happy's AU6 pushes toward happy and is not part of contempt's prototype (AU12 + AU14).
    expect(c.suppress).toEqual(['AU6']);
    expect(c.basis).toEqual({ samples: 4, kept: 1, misread: 3, acceptance: 0.25, recognised: 0.25 });
  });

  it('compounds the gain over rounds up to the cap, and keeps guidance of classes now doing well', () => {
    let g: Guidance | undefined;
    for (let r = 0; r < 6; r++) g = computeGuidance(r, round0, g, settings);
    expect(g!.classes.contempt!.gain).toBe(settings.guidanceMaxGain);
    const better = computeGuidance(6, [sample(7, 7, true)], g, settings)!;
    expect(better.classes.contempt!.gain).toBe(settings.guidanceMaxGain);
    expect(better.classes.contempt!.basis.acceptance).toBe(1);
  });

  it('counts a sample kept but read as another class (synfer soft label) as not recognised', () => {
    const kept = [sample(5, 6, true), sample(5, 6, true), sample(5, 5, true)];
    const g = computeGuidance(0, kept, undefined, settings)!;
    expect(g.classes.disgust!.basis).toMatchObject({ acceptance: 1, recognised: 0.3333 });
    expect(g.classes.disgust!.confusedWith).toBe('anger');
  });

  it('lowers companion AUs that the misread samples carried and the kept ones did not', () => {
    const samples = [
      sample(6, 0, false, { AU4: 3, AU17: 2 }),
      sample(6, 0, false, { AU4: 3, AU17: 2 }),
      sample(6, 6, true, { AU4: 3 }),
    ];
    expect(computeGuidance(0, samples, undefined, settings)!.classes.anger!.suppress).toEqual(['AU17']);
  });

  it('is deterministic and off when disabled', () => {
    expect(JSON.stringify(computeGuidance(0, round0, undefined, settings))).toBe(
      JSON.stringify(computeGuidance(0, round0, undefined, settings)),
    );
    expect(computeGuidance(0, round0, undefined, { ...settings, guidance: false })).toBeUndefined();
    expect(computeGuidance(0, [sample(6, 6, true)], undefined, settings)).toBeUndefined();
  });
});

describe('applyGuidance', () => {
  const requests = createPlan(spec).planShard(0, 0);
  const guidance: Guidance = {
    format: 'synfarm-guidance-v1',
    round: 1,
    basedOnRound: 0,
    classes: {
      fear: {
        gain: 1.5,
        suppress: ['AU20', 'AU43'],
        suppressFactor: 0.5,
        confusedWith: 'happy',
        basis: { samples: 8, kept: 1, misread: 6, acceptance: 0.125, recognised: 0.125 },
      },
    },
  };

  it('raises the prototype AUs, lowers the suppressed ones, stays within 0..5 and records the change', () => {
    const withAu43 = requests.map((r) => (r.className === 'fear' ? { ...r, aus: { ...r.aus, AU43: 1 } } : r));
    const out = applyGuidance(withAu43, guidance);
    let checked = 0;
    withAu43.forEach((before, i) => {
      const { request: after, applied } = out[i]!;
      if (before.className !== 'fear') {
        expect(after).toBe(before);
        expect(applied).toBeUndefined();
        return;
      }
      checked++;
      // AU20 is fear's own: raised even though the guidance lists it as suppressed.
      for (const au of ['AU1', 'AU2', 'AU4', 'AU5', 'AU7', 'AU20', 'AU26'] as const) {
        expect(after.aus[au]!).toBeGreaterThan(before.aus[au]!);
        expect(after.aus[au]!).toBeLessThanOrEqual(5);
        expect(after.aus[au]!).toBe(Math.min(5, Math.round(before.aus[au]! * 1.5 * 100) / 100));
      }
      expect(after.aus.AU43).toBe(0.5);
      expect(applied!.changed.AU43).toEqual([1, 0.5]);
      expect(applied).toMatchObject({ round: 1, gain: 1.5, confusedWith: 'happy' });
    });
    expect(checked).toBe(8);
    expect(JSON.stringify(applyGuidance(withAu43, guidance))).toBe(JSON.stringify(out));
  });

  it('gives http backends a hint instead of changed AUs', () => {
    const fear = requests.find((r) => r.className === 'fear')!;
    expect(guidanceHint(fear, guidance)).toEqual({
      targetClass: 'fear',
      avoidClass: 'happy',
      gain: 1.5,
      emphasise: ['AU1', 'AU2', 'AU4', 'AU5', 'AU7', 'AU20', 'AU26'],
      suppress: ['AU20', 'AU43'],
    });
    expect(guidanceHint(requests.find((r) => r.className === 'sad')!, guidance)).toBeUndefined();
  });
});
