import type { AuVector } from '../../plan/request';

export interface Point {
  x: number;
  y: number;
}

/**
 * Face geometry from the 68 iBUG landmarks, in units of the inter-ocular distance (eye centre to
 * eye centre) after rotating the eye line level, so it does not depend on image size, face size
 * or head roll. y grows downwards; "left"/"right" are the subject's own sides (the subject's
 * left is the image's right for a frontal face).
 */
export interface FaceGeometry {
  /** Inner brow ends above the eye line (mean of both sides). */
  innerBrowHeight: number;
  /** Outer brow ends above the eye line. */
  outerBrowHeight: number;
  /** Horizontal gap between the inner brow ends. */
  browGap: number;
  /** Eye aspect ratio (lid opening / eye width), mean of both eyes. */
  eyeOpening: number;
  /** Lip corner height above the lips' vertical midpoint, per side. */
  cornerLiftLeft: number;
  cornerLiftRight: number;
  /** Inner lip gap (upper inner lip centre to lower inner lip centre). */
  lipGap: number;
  mouthWidth: number;
}

const mean = (ps: Point[]): Point => ({
  x: ps.reduce((a, p) => a + p.x, 0) / ps.length,
  y: ps.reduce((a, p) => a + p.y, 0) / ps.length,
});
const dist = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);

export function faceGeometry(landmarks: readonly Point[]): FaceGeometry {
  if (landmarks.length !== 68) throw new RangeError(`expected 68 landmarks, got ${landmarks.length}`);
  const at = (i: number) => landmarks[i] as Point;
  const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => at(a + k));
  // Image-left eye (36-41) is the subject's right eye.
  const eyeR = mean(range(36, 41));
  const eyeL = mean(range(42, 47));
  const iod = dist(eyeR, eyeL) || 1;
  const angle = Math.atan2(eyeL.y - eyeR.y, eyeL.x - eyeR.x);
  const cos = Math.cos(-angle);
  const sin = Math.sin(-angle);
  const mid = mean([eyeR, eyeL]);
  const n = (i: number): Point => {
    const p = at(i);
    const dx = p.x - mid.x;
    const dy = p.y - mid.y;
    return { x: (dx * cos - dy * sin) / iod, y: (dx * sin + dy * cos) / iod };
  };
  const ear = (a: number, b: number, c: number, d: number, e: number, f: number) =>
    (dist(n(b), n(f)) + dist(n(c), n(e))) / (2 * (dist(n(a), n(d)) || 1));
  const lipsMidY = (n(51).y + n(57).y) / 2;
  return {
    innerBrowHeight: -(n(21).y + n(22).y) / 2,
    outerBrowHeight: -(n(17).y + n(26).y) / 2,
    browGap: n(22).x - n(21).x,
    eyeOpening: (ear(36, 37, 38, 39, 40, 41) + ear(42, 43, 44, 45, 46, 47)) / 2,
    cornerLiftRight: lipsMidY - n(48).y,
    cornerLiftLeft: lipsMidY - n(54).y,
    lipGap: dist(n(62), n(66)),
    mouthWidth: dist(n(48), n(54)),
  };
}

/**
 * Where each measure starts counting (`from`, a neutral face sits on the near side of it) and the
 * change beyond that which reads as intensity 5. Set from 20 faces in face-api's demo photos
 * (mostly neutral or smiling adults): typical neutral values are inner brow 0.30, outer brow 0.28,
 * eye opening 0.33, lip-corner lift 0.03, left/right lift difference under 0.05. Without a
 * neutral image of the same identity the scale is rough: good for "is the requested AU visible at
 * all, and roughly how strongly", not for FACS coding.
 */
export const AU_SCALE = {
  AU1: { from: 0.34, full: 0.16 },
  AU2: { from: 0.32, full: 0.16 },
  AU4: { from: 0.27, full: 0.17 },
  AU5: { from: 0.37, full: 0.15 },
  AU43: { from: 0.27, full: 0.21 },
  AU12: { from: 0.04, full: 0.14 },
  asymmetry: { from: 0.03, full: 0.15 },
  AU15: { from: 0.0, full: 0.1 },
  AU25: { from: 0.03, full: 0.1 },
  AU26: { from: 0.16, full: 0.3 },
} as const;

const to05 = (delta: number, full: number) =>
  Math.round(Math.min(5, Math.max(0, (5 * delta) / full)) * 100) / 100;

export interface AuEvidence {
  /** Rough 0-5 intensities of the AUs visible in landmarks. */
  measured: AuVector;
  /** One-sided lip-corner pull on the 0-5 scale (contempt's unilateral AU12+AU14). */
  lipCornerAsymmetry: number;
  /** The subject's side whose lip corner is pulled more, when the asymmetry is above 1. */
  asymmetricSide: 'left' | 'right' | null;
  geometry: FaceGeometry;
}

export function auEvidence(landmarks: readonly Point[]): AuEvidence {
  const g = faceGeometry(landmarks);
  const s = AU_SCALE;
  const lift = Math.max(g.cornerLiftLeft, g.cornerLiftRight);
  const meanLift = (g.cornerLiftLeft + g.cornerLiftRight) / 2;
  const asym = to05(Math.abs(g.cornerLiftLeft - g.cornerLiftRight) - s.asymmetry.from, s.asymmetry.full);
  const measured: AuVector = {
    AU1: to05(g.innerBrowHeight - s.AU1.from, s.AU1.full),
    AU2: to05(g.outerBrowHeight - s.AU2.from, s.AU2.full),
    AU4: to05(s.AU4.from - g.innerBrowHeight, s.AU4.full),
    AU5: to05(g.eyeOpening - s.AU5.from, s.AU5.full),
    AU43: to05(s.AU43.from - g.eyeOpening, s.AU43.full),
    // The stronger side, so a one-sided (contempt) pull still registers at its own intensity.
    AU12: to05(lift - s.AU12.from, s.AU12.full),
    // A dimpler is not visible in 68 points; a one-sided lip-corner pull is its best proxy.
    AU14: asym,
    AU15: to05(s.AU15.from - meanLift, s.AU15.full),
    AU25: to05(g.lipGap - s.AU25.from, s.AU25.full),
    AU26: to05(g.lipGap - s.AU26.from, s.AU26.full),
  };
  return {
    measured,
    lipCornerAsymmetry: asym,
    asymmetricSide: asym > 1 ? (g.cornerLiftLeft > g.cornerLiftRight ? 'left' : 'right') : null,
    geometry: g,
  };
}
