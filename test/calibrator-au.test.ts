import { describe, expect, it } from 'vitest';
import { auEvidence, faceGeometry, type Point } from '../models/calibrator';

/** A frontal neutral face in inter-ocular units, eye centres at (-0.5, 0) and (0.5, 0), y down. */
function neutralFace(): Point[] {
  const pts: Point[] = Array.from({ length: 68 }, () => ({ x: 0, y: 0.5 }));
  const set = (i: number, x: number, y: number): void => {
    pts[i] = { x, y };
  };
  [
    [-0.8, -0.28],
    [-0.65, -0.33],
    [-0.5, -0.35],
    [-0.35, -0.33],
    [-0.25, -0.3],
  ].forEach(([x, y], k) => {
    set(17 + k, x!, y!);
    set(26 - k, -x!, y!);
  });
  const eye = [
    [-0.72, 0],
    [-0.58, -0.07],
    [-0.42, -0.07],
    [-0.28, 0],
    [-0.42, 0.07],
    [-0.58, 0.07],
  ];
  for (const [k, [x, y]] of eye.entries()) set(36 + k, x!, y!);
  // Mirror so 42 is the inner corner and 45 the outer one, as in iBUG.
  [
    [0.28, 0],
    [0.42, -0.07],
    [0.58, -0.07],
    [0.72, 0],
    [0.58, 0.07],
    [0.42, 0.07],
  ].forEach(([x, y], k) => {
    set(42 + k, x!, y!);
  });
  set(48, -0.4, 1.0);
  set(54, 0.4, 1.0);
  set(51, 0, 0.93);
  set(57, 0, 1.08);
  set(62, 0, 1.0);
  set(66, 0, 1.01);
  return pts;
}

function edit(pts: Point[], changes: Record<number, Partial<Point>>): Point[] {
  return pts.map((p, i) => ({ ...p, ...changes[i] }));
}
const moveY = (pts: Point[], idx: number[], dy: number) =>
  edit(pts, Object.fromEntries(idx.map((i) => [i, { y: (pts[i] as Point).y + dy }])));

describe('AU evidence from 68 landmarks', () => {
  it('a neutral face shows no AU above 0.5', () => {
    const { measured, asymmetricSide } = auEvidence(neutralFace());
    for (const v of Object.values(measured)) expect(v).toBeLessThanOrEqual(0.5);
    expect(asymmetricSide).toBeNull();
  });

  it('raised brows read as AU1 and AU2, lowered brows as AU4', () => {
    const raised = auEvidence(moveY(neutralFace(), [17, 18, 19, 20, 21, 22, 23, 24, 25, 26], -0.14)).measured;
    expect(raised.AU1).toBeGreaterThanOrEqual(3);
    expect(raised.AU2).toBeGreaterThanOrEqual(3);
    expect(raised.AU4).toBe(0);
    const lowered = auEvidence(moveY(neutralFace(), [20, 21, 22, 23], 0.12)).measured;
    expect(lowered.AU4).toBeGreaterThanOrEqual(2.5);
    expect(lowered.AU1).toBe(0);
  });

  it('wide-open eyes read as AU5 and closed eyes as AU43', () => {
    const wide = auEvidence(
      moveY(moveY(neutralFace(), [37, 38, 43, 44], -0.06), [40, 41, 46, 47], 0.06),
    ).measured;
    expect(wide.AU5).toBeGreaterThanOrEqual(3);
    const closed = auEvidence(
      moveY(moveY(neutralFace(), [37, 38, 43, 44], 0.065), [40, 41, 46, 47], -0.065),
    ).measured;
    expect(closed.AU43).toBeGreaterThanOrEqual(4);
  });

  it('both lip corners up read as AU12 without asymmetry; down as AU15', () => {
    const smile = auEvidence(moveY(neutralFace(), [48, 54], -0.14));
    expect(smile.measured.AU12).toBeGreaterThanOrEqual(3);
    expect(smile.lipCornerAsymmetry).toBeLessThan(1);
    const frown = auEvidence(moveY(neutralFace(), [48, 54], 0.08)).measured;
    expect(frown.AU15).toBeGreaterThanOrEqual(3);
    expect(frown.AU12).toBe(0);
  });

  it("one lip corner up reads as asymmetry on the subject's own side (image right = subject left)", () => {
    const left = auEvidence(moveY(neutralFace(), [54], -0.14));
    expect(left.lipCornerAsymmetry).toBeGreaterThanOrEqual(2.5);
    expect(left.asymmetricSide).toBe('left');
    expect(left.measured.AU14).toBe(left.lipCornerAsymmetry);
    expect(left.measured.AU12).toBeGreaterThanOrEqual(3);
    expect(auEvidence(moveY(neutralFace(), [48], -0.14)).asymmetricSide).toBe('right');
  });

  it('parted lips read as AU25, a dropped jaw also as AU26', () => {
    const parted = auEvidence(moveY(neutralFace(), [66, 57], 0.08)).measured;
    expect(parted.AU25).toBeGreaterThanOrEqual(3);
    expect(parted.AU26).toBe(0);
    const dropped = auEvidence(moveY(neutralFace(), [66, 57], 0.4)).measured;
    expect(dropped.AU25).toBe(5);
    expect(dropped.AU26).toBeGreaterThanOrEqual(3);
  });

  it('measures do not depend on face size, position or head roll', () => {
    const face = moveY(neutralFace(), [54], -0.1);
    const a = 0.4;
    const moved = face.map((p) => ({
      x: 300 + 180 * (p.x * Math.cos(a) - p.y * Math.sin(a)),
      y: 200 + 180 * (p.x * Math.sin(a) + p.y * Math.cos(a)),
    }));
    const g1 = faceGeometry(face);
    const g2 = faceGeometry(moved);
    for (const k of Object.keys(g1) as (keyof typeof g1)[]) expect(g2[k]).toBeCloseTo(g1[k], 6);
    expect(auEvidence(moved).measured).toEqual(auEvidence(face).measured);
  });
});
