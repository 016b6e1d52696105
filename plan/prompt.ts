import { AU_IDS, type AuId, EMFACS_PROTOTYPES, type ExpressionClass } from './expressions';
import type { Identity, SampleRequest } from './request';

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

const SKIN: Record<number, string> = {
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

function person(identity: Identity): string {
  const noun = identity.gender === 'feminine' ? 'woman' : identity.gender === 'masculine' ? 'man' : 'person';
  const age =
    identity.ageBand === 'young adult'
      ? 'young '
      : identity.ageBand === 'middle-aged'
        ? 'middle-aged '
        : identity.ageBand === 'elderly'
          ? 'elderly '
          : '';
  const androgynous = identity.gender === 'androgynous' ? 'androgynous ' : '';
  const phrase = `${age}${androgynous}${noun}`;
  return `${'aeiou'.includes(phrase[0]!) ? 'an' : 'a'} ${phrase}`;
}

function features(identity: Identity): string {
  const hair = identity.hair === 'bald' ? 'a bald head' : `${identity.hair} hair`;
  const parts = [SKIN[identity.skinTone]!, FACES[identity.faceShape], hair];
  if (identity.facialHair === 'stubble') parts.push('stubble');
  else if (identity.facialHair !== 'none') parts.push(`a ${identity.facialHair}`);
  parts.push(`${identity.eyeColor} eyes`);
  const last = parts.pop();
  return `with ${parts.join(', ')} and ${last}`;
}

function expression(className: ExpressionClass, aus: SampleRequest['aus'], auSide: SampleRequest['auSide']) {
  // Prototype AUs first (the expression's defining actions), then companions in AU_IDS order.
  const prototype = EMFACS_PROTOTYPES[className];
  const words: string[] = [];
  const describe = (au: AuId) => {
    if ((aus[au] ?? 0) < DESCRIBE_MIN) return;
    const side = auSide[au];
    words.push(side ? `${side} ${SINGULAR[au] ?? AU_DESCRIPTIONS[au]}` : AU_DESCRIPTIONS[au]);
  };
  for (const au of prototype) describe(au);
  for (const au of AU_IDS) if (!prototype.includes(au)) describe(au);
  return words.length === 0 ? LOOKS[className] : `${LOOKS[className]} (${words.join(', ')})`;
}

function pose(identity: Identity): string | undefined {
  const { yaw, pitch } = identity.headPose;
  const turns: string[] = [];
  if (Math.abs(yaw) >= 8) turns.push(`head turned slightly to the ${yaw > 0 ? 'left' : 'right'}`);
  if (Math.abs(pitch) >= 6) turns.push(`chin slightly ${pitch > 0 ? 'raised' : 'lowered'}`);
  return turns.length > 0 ? turns.join(', ') : undefined;
}

function light(identity: Identity): string {
  const { direction, strength, warmth } = identity.lighting;
  const quality = strength < 0.6 ? 'soft ' : strength > 0.85 ? 'bright ' : '';
  const tone = warmth === 'neutral' ? '' : `${warmth} `;
  const from =
    direction === 'front' ? 'from the front' : direction === 'top' ? 'from above' : `from the ${direction}`;
  return `${quality}${tone}light ${from}`;
}

/**
 * The text prompt for one sample, e.g. "a photo of a middle-aged woman with fair skin, an oval
 * face, long dark hair and brown eyes, wearing glasses, looking happy (cheeks raised, lip corners
 * pulled up), soft warm light from the left, studio gray background". Sides are the subject's.
 */
export function buildPrompt(
  className: ExpressionClass,
  identity: Identity,
  aus: SampleRequest['aus'],
  auSide: SampleRequest['auSide'],
): string {
  const parts = [`a photo of ${person(identity)} ${features(identity)}`];
  if (identity.glasses) parts.push('wearing glasses');
  parts.push(expression(className, aus, auSide));
  const turned = pose(identity);
  if (turned) parts.push(turned);
  parts.push(light(identity), BACKGROUNDS[identity.background]);
  return parts.join(', ');
}
