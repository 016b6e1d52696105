import type { Rng } from './random';
import { type Identity, IdentitySchema, SKIN_TONES } from './request';

const shape = IdentitySchema.shape;
const AGE_BANDS = shape.ageBand.options;
const GENDERS = shape.gender.options;
const FACE_SHAPES = shape.faceShape.options;
const EYE_COLORS = shape.eyeColor.options;
const DIRECTIONS = shape.lighting.shape.direction.options;
const WARMTHS = shape.lighting.shape.warmth.options;
const BACKGROUNDS = shape.background.options;

type Hair = Identity['hair'];
type FacialHair = Identity['facialHair'];

/** Head-pose limits in degrees: beyond these, FER models and landmark AU estimates degrade. */
export const HEAD_POSE_LIMITS = { yaw: 15, pitch: 10, roll: 8 } as const;

/**
 * Hair follows age and gender presentation loosely (gray is common only when older, baldness
 * mostly masculine) so prompts stay plausible without making any attribute a certainty.
 */
function hairWeights(age: Identity['ageBand'], gender: Identity['gender']): [Hair, number][] {
  const gray = age === 'elderly' ? 4 : age === 'middle-aged' ? 1 : 0.1;
  const bald =
    gender === 'masculine' ? (age === 'young adult' ? 0.3 : 1) : gender === 'androgynous' ? 0.3 : 0.05;
  return [
    ['short dark', 1],
    ['short light', 1],
    ['long dark', gender === 'masculine' ? 0.4 : 1.2],
    ['long light', gender === 'masculine' ? 0.4 : 1.2],
    ['curly', 1],
    ['bald', bald],
    ['gray', gray],
  ];
}

// The weight tables are built once per (age, gender), not once per sample: planning runs millions
// of times per run. Same entries in the same order, so every draw is what it always was.
// Indexed [age * GENDERS.length + gender].
const HAIR_TABLES = AGE_BANDS.flatMap((age) => GENDERS.map((g) => hairWeights(age, g)));
const ANDROGYNOUS_FACIAL_HAIR: [FacialHair, number][] = [
  ['none', 0.8],
  ['stubble', 0.15],
  ['moustache', 0.05],
];
const MASCULINE_FACIAL_HAIR: [FacialHair, number][] = [
  ['none', 0.45],
  ['stubble', 0.25],
  ['beard', 0.2],
  ['moustache', 0.1],
];

function drawFacialHair(rng: Rng, gender: Identity['gender']): FacialHair {
  if (gender === 'feminine') return 'none';
  return rng.weighted(gender === 'androgynous' ? ANDROGYNOUS_FACIAL_HAIR : MASCULINE_FACIAL_HAIR);
}

function round1(x: number): number {
  // `+ 0` turns -0 into 0 so JSON and deep-equality never see a signed zero.
  return Math.round(x * 10) / 10 + 0;
}

/**
 * Identity attributes drawn uniformly (age band, gender presentation, skin tone, face shape,
 * eye colour, lighting, background) so a large run is balanced across them.
 *
 * Head pose conventions (degrees): positive yaw turns the face to the subject's left, positive
 * pitch tilts the chin up, positive roll tilts the head toward the subject's left shoulder.
 */
export function planIdentity(rng: Rng): Identity {
  // rng.pick(AGE_BANDS), rng.pick(GENDERS), keeping the indices for the hair table.
  const age = rng.int(AGE_BANDS.length);
  const g = rng.int(GENDERS.length);
  const ageBand = AGE_BANDS[age]!;
  const gender = GENDERS[g]!;
  return {
    ageBand,
    gender,
    skinTone: SKIN_TONES[rng.int(SKIN_TONES.length)]!,
    faceShape: rng.pick(FACE_SHAPES),
    hair: rng.weighted(HAIR_TABLES[age * GENDERS.length + g]!),
    eyeColor: rng.pick(EYE_COLORS),
    glasses: rng.chance(0.25),
    facialHair: drawFacialHair(rng, gender),
    headPose: {
      yaw: round1(rng.triangular(HEAD_POSE_LIMITS.yaw)),
      pitch: round1(rng.triangular(HEAD_POSE_LIMITS.pitch)),
      roll: round1(rng.triangular(HEAD_POSE_LIMITS.roll)),
    },
    lighting: {
      direction: rng.pick(DIRECTIONS),
      strength: Math.round(rng.range(0.4, 1) * 100) / 100,
      warmth: rng.pick(WARMTHS),
    },
    background: rng.pick(BACKGROUNDS),
  };
}
