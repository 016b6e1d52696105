import type { AuId } from '../../plan/expressions';
import type { AuVector, SampleRequest } from '../../plan/request';

/** A point in face space: origin between the eyes' level and the nose, x to the image right, y down. */
export interface Pt {
  x: number;
  y: number;
}

/** Per-side values: index 0 is the image's left (the subject's right), index 1 the image's right. */
export type Sides<T> = readonly [T, T];

export interface EyeShape {
  inner: Pt;
  outer: Pt;
  /** Upper and lower lid heights above/below the corner line; both near 0 when closed (AU43). */
  upper: number;
  lower: number;
  /** Height of the upper-lid crease above the lid line; it rises as AU5 retracts the lid. */
  crease: number;
}

export interface BrowShape {
  inner: Pt;
  mid: Pt;
  outer: Pt;
}

export interface MouthShape {
  corners: Sides<Pt>;
  /** Centre of the lip opening's top and bottom edge, and the outer edges of the lips. */
  openTop: number;
  openBottom: number;
  upperLipTop: number;
  lowerLipBottom: number;
  /** Exponent of the opening's profile: 2 is a round smile/frown curve, higher is a stretched slot. */
  flatness: number;
}

/** Everything the AU vector changes, as geometry and shading strengths in face space. */
export interface FaceGeometry {
  eyes: Sides<EyeShape>;
  brows: Sides<BrowShape>;
  mouth: MouthShape;
  /** Extra jaw length from AU26 (chin and lower face move down). */
  jawDrop: number;
  foreheadLines: { center: number; lateral: number };
  glabella: number;
  noseWrinkle: number;
  nostrilLift: number;
  nasolabial: Sides<number>;
  cheekRaise: Sides<number>;
  crowsFeet: Sides<number>;
  dimple: Sides<number>;
  chinBoss: number;
  /** 0..1 how much of the lower teeth the depressed lower lip or dropped jaw shows. */
  lowerTeeth: number;
  lipPress: number;
}

/** 0..1 intensity of one AU on one side (side 0 = image left = subject's right). */
function sideIntensity(req: Pick<SampleRequest, 'aus' | 'auSide'>, au: AuId, side: 0 | 1): number {
  const v = (req.aus[au] ?? 0) / 5;
  const only = req.auSide[au];
  if (!only) return v;
  // The subject's left appears on the image's right.
  const active: 0 | 1 = only === 'left' ? 1 : 0;
  return side === active ? v : 0;
}

function both(aus: AuVector, au: AuId): number {
  return (aus[au] ?? 0) / 5;
}

/**
 * Maps FACS Action Units to feature movement, following the appearance changes the FACS manual
 * lists for each AU (e.g. AU4 lowers the brows and pulls them together, AU6 lifts the cheeks and
 * pushes up the lower lid, AU17 pushes the lower lip and chin up).
 */
export function faceGeometry(req: Pick<SampleRequest, 'aus' | 'auSide'>, ageFactor: number): FaceGeometry {
  const a = req.aus;
  const au1 = both(a, 'AU1');
  const au2 = both(a, 'AU2');
  const au4 = both(a, 'AU4');
  const au5 = both(a, 'AU5');
  const au6 = both(a, 'AU6');
  const au7 = both(a, 'AU7');
  const au9 = both(a, 'AU9');
  const au10 = both(a, 'AU10');
  const au15 = both(a, 'AU15');
  const au16 = both(a, 'AU16');
  const au17 = both(a, 'AU17');
  const au20 = both(a, 'AU20');
  const au23 = both(a, 'AU23');
  const au25 = both(a, 'AU25');
  const au26 = both(a, 'AU26');
  const au43 = both(a, 'AU43');
  const au12 = [sideIntensity(req, 'AU12', 0), sideIntensity(req, 'AU12', 1)] as const;
  const au14 = [sideIntensity(req, 'AU14', 0), sideIntensity(req, 'AU14', 1)] as const;

  const open = 1 - au43;
  const eye = (side: 0 | 1): EyeShape => {
    const s = side === 0 ? -1 : 1;
    // AU9 pushes the cheeks and lower lids up: disgust narrows the eyes to a squint, where anger
    // (AU4+5+7) glares; the squint is what tells the two apart once the brows are both low.
    const upper = Math.max(0.4, (6 + 7.5 * au5 - 2 * au7 - 1.2 * au6 - 3 * au9 - 1.8 * au4) * open);
    const lower = Math.max(0.3, (4 - 2.8 * au7 - 2 * au6 + 0.8 * au5 - 2.6 * au9) * open);
    return {
      inner: { x: s * 12, y: -5 + 0.3 * au6 },
      outer: { x: s * 41, y: -7.5 + 0.8 * au6 },
      upper,
      lower,
      crease: 3.2 + 2.5 * au5 - 0.8 * au7,
    };
  };

  // With AU1 the brow lowerer mostly pulls the brows together instead of down (the 1+4 of sadness and fear).
  const lower4 = au4 * (1 - Math.min(1, 1.3 * au1));
  const lowerMid4 = au4 * (1 - 0.7 * Math.min(1, au1 + au2));
  const brow = (side: 0 | 1): BrowShape => {
    const s = side === 0 ? -1 : 1;
    return {
      // AU9 (procerus) lowers the inner brows only a little and does not knit them: anger's V is AU4's.
      inner: { x: s * (11 - 4.5 * au4), y: -24 - 9 * au1 + 17 * lower4 + 2 * au9 + 1.5 * au7 },
      mid: { x: s * 26, y: -29 - 3 * au1 - 6 * au2 + 8 * lowerMid4 + 3 * au9 + 1 * au6 + 1 * au7 },
      // Without AU1 the lowered inner ends slant the brow into anger's V.
      outer: { x: s * 43, y: -25 - 1 * au1 - 8 * au2 + 1 * au4 - 3 * lower4 + 1.5 * au6 },
    };
  };

  // The chin moves less than the lips part: a longer face falls out of the size band the face
  // detector accepts, and the open mouth is what FER models read.
  const jawDrop = 13 * au26;
  // Lips part with AU25; AU26 and AU16 part them too, since the jaw or lower lip moves away.
  const gap = (au25 > 0 ? 2 + 5 * au25 : 0) + 18 * au26 + 1.5 * au16;
  const centre = 50 - 1.8 * au17 - 0.8 * Math.max(au12[0], au12[1]) + 0.5 * au15;
  // AU23 (with the AU24 press FACS codes beside it in anger) narrows and thins the red of the lips
  // and tightens the corners down: the tight, narrow mouth that reads as anger, not as neutral.
  const thin =
    (1 - 0.75 * au23) * (1 - 0.3 * au20) * (1 - 0.15 * Math.max(au12[0], au12[1])) * (1 - 0.2 * ageFactor);
  // A one-sided pull (contempt's smirk) is small in area, so landmark nets and FER models only
  // see it when the raised corner clearly lifts and draws back; it gets a floor and a steeper gain.
  const unilateral = req.auSide.AU12 !== undefined || req.auSide.AU14 !== undefined;
  const smirk = (c: number) => (unilateral && c > 0 ? Math.min(1, 0.45 + c) : 0);
  const corner = (side: 0 | 1): Pt => {
    const s = side === 0 ? -1 : 1;
    const c12 = au12[side];
    const c14 = au14[side];
    const sm = Math.max(smirk(c12), smirk(c14));
    // The other corner stays down, so the whole lip line tilts toward the pulled side.
    const other = (1 - side) as 0 | 1;
    const tilt = Math.max(smirk(au12[other]), smirk(au14[other]));
    const smirkY = -18 * sm + 4 * tilt;
    return {
      x: s * (23 + 7 * c12 + 9 * au20 - 3 * c14 - 7 * au23 - 1 * au15 - 1 * au17 + 1 * au10 + 3 * sm),
      y:
        50 -
        10 * c12 -
        2.5 * c14 +
        7.5 * au15 +
        11 * au20 +
        2.5 * au17 +
        7 * au23 -
        1.2 * au10 -
        0.8 * au9 +
        smirkY,
    };
  };
  // AU9 drags the upper lip up with the nose wrinkle: disgust's raised, squared upper lip that bares
  // the upper teeth. AU16 only parts the lower lip a little: a wide drop showing the lower teeth
  // reads as fear or sadness, not disgust.
  const openTop = centre - gap * 0.2 - 4 * au10 * (1 - 0.3 * au25) - 13 * au9;
  const openBottom = centre + gap * 0.8 + 2 * au16 + (au10 > 0.5 && gap === 0 ? 1 : 0);
  const mouth: MouthShape = {
    corners: [corner(0), corner(1)],
    openTop,
    openBottom,
    upperLipTop: openTop - 6.5 * thin + 0.6 * au10 + 0.8 * au9,
    lowerLipBottom: openBottom + (8.5 + 2 * au17 + 1.5 * au16) * thin,
    flatness: 2 + 4 * au20 + 1.5 * au10 + 1.5 * au16 + 1.5 * au9,
  };

  const nasolabialBase = 0.1 + 0.2 * ageFactor;
  return {
    eyes: [eye(0), eye(1)],
    brows: [brow(0), brow(1)],
    mouth,
    jawDrop,
    foreheadLines: { center: Math.min(1, au1 + 0.4 * au2), lateral: Math.min(1, au2 + 0.3 * au1) },
    glabella: au4,
    noseWrinkle: au9,
    nostrilLift: 2.5 * au9 + 1.5 * au10,
    nasolabial: [0, 1].map((side) =>
      Math.min(1, nasolabialBase + 0.55 * Math.max(au12[side as 0 | 1], 0.6 * au6, au9, au10, 0.5 * au20)),
    ) as unknown as Sides<number>,
    cheekRaise: [au6 + 0.35 * au12[0] + 0.5 * au9, au6 + 0.35 * au12[1] + 0.5 * au9],
    crowsFeet: [Math.min(1, au6 + 0.3 * ageFactor), Math.min(1, au6 + 0.3 * ageFactor)],
    dimple: [au14[0], au14[1]],
    chinBoss: au17,
    lowerTeeth: Math.min(1, 0.3 * au16 + 0.3 * au26 + au20),
    lipPress: Math.max(au23, 0.6 * au17),
  };
}
