import { AU_IDS, type AuId, byClass, EMFACS_PROTOTYPES, type ExpressionClass } from './expressions';
import { type Identity, IdentitySchema, type SampleRequest, SKIN_TONES } from './request';

/** Plain-language FACS action descriptions: text-to-image models know words, not AU numbers. */
export const AU_DESCRIPTIONS: Record<AuId, string> = {
  AU1: 'inner brows raised',
  AU2: 'outer brows raised',
  AU4: 'brows lowered and drawn together',
  AU5: 'upper eyelids raised',
  AU6: 'cheeks raised',
  AU7: 'eyelids tightened',
  AU9: 'nose wrinkled',
  AU10: 'upper lip raised',
  AU12: 'lip corners pulled up',
  AU14: 'cheek dimpled',
  AU15: 'lip corners pulled down',
  AU16: 'lower lip pulled down',
  AU17: 'chin raised',
  AU20: 'lips stretched',
  AU23: 'lips tightened',
  AU25: 'lips parted',
  AU26: 'jaw dropped',
  AU43: 'eyes half closed',
};

/** Wording for an AU shown on one side of the face only. */
const SINGULAR: Partial<Record<AuId, string>> = {
  AU12: 'lip corner pulled up',
  AU15: 'lip corner pulled down',
};

const LOOKS: Record<ExpressionClass, string> = {
  neutral: 'with a neutral, relaxed expression',
  happy: 'looking happy',
  sad: 'looking sad',
  surprise: 'looking surprised',
  fear: 'looking afraid',
  disgust: 'looking disgusted',
  anger: 'looking angry',
  contempt: 'looking contemptuous',
};

/** Below this an AU is too faint to be worth words (FACS "A", trace). */
const DESCRIBE_MIN = 1;

/**
 * The words prompts use for each skin tone (1 very fair .. 6 dark brown). The procedural renderer
 * reads a prompt back into an identity with these same words, so they are written only here.
 */
export const SKIN_TONE_WORDS: Readonly<Record<number, string>> = {
  1: 'very fair skin',
  2: 'fair skin',
  3: 'light brown skin',
  4: 'olive skin',
  5: 'brown skin',
  6: 'dark brown skin',
};

const FACES: Record<Identity['faceShape'], string> = {
  oval: 'an oval face',
  round: 'a round face',
  square: 'a square face',
  heart: 'a heart-shaped face',
  long: 'a long face',
};

const BACKGROUNDS: Record<Identity['background'], string> = {
  'studio gray': 'studio gray background',
  'white wall': 'white wall background',
  office: 'office background',
  'outdoor park': 'outdoor park background',
  'dark backdrop': 'dark backdrop',
  'living room': 'living room background',
};

// Prompts are built once per planned sample, millions per run: the phrases that depend on few
// attributes are tabled once, and the rest is concatenated without intermediate arrays.

function personPhrase(ageBand: Identity['ageBand'], gender: Identity['gender']): string {
  const noun = gender === 'feminine' ? 'woman' : gender === 'masculine' ? 'man' : 'person';
  const age =
    ageBand === 'young adult'
      ? 'young '
      : ageBand === 'middle-aged'
        ? 'middle-aged '
        : ageBand === 'elderly'
          ? 'elderly '
          : '';
  const androgynous = gender === 'androgynous' ? 'androgynous ' : '';
  const phrase = `${age}${androgynous}${noun}`;
  return `${'aeiou'.includes(phrase[0]!) ? 'an' : 'a'} ${phrase}`;
}

const PERSONS = Object.fromEntries(
  IdentitySchema.shape.ageBand.options.map((age) => [
    age,
    Object.fromEntries(IdentitySchema.shape.gender.options.map((g) => [g, personPhrase(age, g)])),
  ]),
) as Record<Identity['ageBand'], Record<Identity['gender'], string>>;

function person(identity: Identity): string {
  return PERSONS[identity.ageBand][identity.gender];
}

function features(identity: Identity): string {
  const hair = identity.hair === 'bald' ? 'a bald head' : `${identity.hair} hair`;
  const beard =
    identity.facialHair === 'none'
      ? ''
      : identity.facialHair === 'stubble'
        ? ', stubble'
        : `, a ${identity.facialHair}`;
  // "with A, B, C[, D] and E": the eyes always come last.
  return `with ${SKIN_TONE_WORDS[identity.skinTone]!}, ${FACES[identity.faceShape]}, ${hair}${beard} and ${identity.eyeColor} eyes`;
}

interface AuWords {
  /** Position in AU_IDS, so the intensity is read from the planned vector. */
  index: number;
  au: AuId;
  both: string;
  left: string;
  right: string;
}

/**
 * Per class: the AUs to describe, prototype AUs first (the defining actions), then AU_IDS order,
 * each with its words for both sides and for one side, written once.
 */
const DESCRIBE_ORDER = byClass((name): AuWords[] => {
  const prototype = EMFACS_PROTOTYPES[name];
  return [...prototype, ...AU_IDS.filter((au) => !prototype.includes(au))].map((au) => {
    const one = SINGULAR[au] ?? AU_DESCRIPTIONS[au];
    return {
      index: AU_IDS.indexOf(au),
      au,
      both: AU_DESCRIPTIONS[au],
      left: `left ${one}`,
      right: `right ${one}`,
    };
  });
});

function expression(className: ExpressionClass, values: Float64Array, auSide: SampleRequest['auSide']) {
  let words = '';
  for (const entry of DESCRIBE_ORDER[className]) {
    if (values[entry.index]! < DESCRIBE_MIN) continue;
    const side = auSide[entry.au];
    const word = side === undefined ? entry.both : entry[side];
    words = words === '' ? word : `${words}, ${word}`;
  }
  return words === '' ? LOOKS[className] : `${LOOKS[className]} (${words})`;
}

function pose(identity: Identity): string {
  const { yaw, pitch } = identity.headPose;
  const turn = Math.abs(yaw) >= 8 ? `, head turned slightly to the ${yaw > 0 ? 'left' : 'right'}` : '';
  const tilt = Math.abs(pitch) >= 6 ? `, chin slightly ${pitch > 0 ? 'raised' : 'lowered'}` : '';
  return turn + tilt;
}

const FROM: Record<Identity['lighting']['direction'], string> = {
  front: 'from the front',
  top: 'from above',
  left: 'from the left',
  right: 'from the right',
};

/** "1 very fair .. 6 dark brown": the scale's ends in the prompts' words, for tables. */
export function skinToneLegend(): string {
  const first = SKIN_TONES[0];
  const last = SKIN_TONES[SKIN_TONES.length - 1]!;
  const words = (tone: number) => SKIN_TONE_WORDS[tone]!.replace(/ skin$/, '');
  return `${first} ${words(first)} .. ${last} ${words(last)}`;
}

/** Light strengths (0..1) that prompts call soft (below) and bright (above). */
export const SOFT_LIGHT_BELOW = 0.6;
export const BRIGHT_LIGHT_ABOVE = 0.85;

function light(identity: Identity): string {
  const { direction, strength, warmth } = identity.lighting;
  const quality = strength < SOFT_LIGHT_BELOW ? 'soft ' : strength > BRIGHT_LIGHT_ABOVE ? 'bright ' : '';
  const tone = warmth === 'neutral' ? '' : `${warmth} `;
  return `${quality}${tone}light ${FROM[direction]}`;
}

/**
 * The text prompt for one sample, e.g. "a photo of a middle-aged woman with fair skin, an oval
 * face, long dark hair and brown eyes, wearing glasses, looking happy (cheeks raised, lip corners
 * pulled up), soft warm light from the left, studio gray background". Sides are the subject's.
 */
export function buildPrompt(
  className: ExpressionClass,
  identity: Identity,
  /** The planned AU intensities in AU_IDS order (as `planAus` leaves them). */
  values: Float64Array,
  auSide: SampleRequest['auSide'],
): string {
  const glasses = identity.glasses ? ', wearing glasses' : '';
  return `a photo of ${person(identity)} ${features(identity)}${glasses}, ${expression(className, values, auSide)}${pose(identity)}, ${light(identity)}, ${BACKGROUNDS[identity.background]}`;
}
