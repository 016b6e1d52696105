import { BRIGHT_LIGHT_ABOVE, SKIN_TONE_WORDS, SOFT_LIGHT_BELOW } from '../../plan/prompt';
import type { Identity } from '../../plan/request';

/** What a prompt changed, plus the words it used and the words the renderer cannot honour. */
export interface PromptParse {
  overrides: IdentityOverrides;
  used: string[];
  ignored: string[];
}

export type IdentityOverrides = Partial<Omit<Identity, 'headPose' | 'lighting'>> & {
  lighting?: Partial<Identity['lighting']>;
  /** "side light" names no side; the renderer picks one from the seed. */
  sideLight?: boolean;
  /**
   * Words like "soft" name a band of light strengths: the identity's strength is kept when it is
   * inside (as it is for the planner's own prompts), else moved to the band's nearest end.
   */
  lightStrength?: readonly [number, number];
  headPose?: Partial<Identity['headPose']>;
};

type Apply = (o: IdentityOverrides) => void;

// The planner writes "soft" strictly below SOFT_LIGHT_BELOW and "bright" strictly above
// BRIGHT_LIGHT_ABOVE: the bands stop just short of those bounds, whatever the strength's precision.
const below = (x: number) => x * (1 - Number.EPSILON);
const above = (x: number) => x * (1 + Number.EPSILON);

/**
 * Multi-word phrases first, so "dark hair" is not read as a dark backdrop. Each entry maps a
 * phrase to the identity attribute it sets. The planner's skin words come first: its prompts must
 * read back as the skin tone they were written for.
 */
const PHRASES: ReadonlyArray<readonly [string, Apply]> = [
  ...Object.entries(SKIN_TONE_WORDS).map(([tone, words]): readonly [string, Apply] => [
    words,
    (o) => (o.skinTone = Number(tone)),
  ]),
  ['clean shaven', (o) => (o.facialHair = 'none')],
  ['clean-shaven', (o) => (o.facialHair = 'none')],
  ['no glasses', (o) => (o.glasses = false)],
  ['without glasses', (o) => (o.glasses = false)],
  ['no beard', (o) => (o.facialHair = 'none')],
  ['young adult', (o) => (o.ageBand = 'young adult')],
  ['middle aged', (o) => (o.ageBand = 'middle-aged')],
  ['long dark hair', (o) => (o.hair = 'long dark')],
  ['long light hair', (o) => (o.hair = 'long light')],
  ['long blond hair', (o) => (o.hair = 'long light')],
  ['long blonde hair', (o) => (o.hair = 'long light')],
  ['short dark hair', (o) => (o.hair = 'short dark')],
  ['short light hair', (o) => (o.hair = 'short light')],
  ['short blond hair', (o) => (o.hair = 'short light')],
  ['short blonde hair', (o) => (o.hair = 'short light')],
  ['dark hair', (o) => (o.hair = o.hair?.startsWith('long') ? 'long dark' : 'short dark')],
  ['black hair', (o) => (o.hair = 'short dark')],
  ['brown hair', (o) => (o.hair = 'short dark')],
  ['light hair', (o) => (o.hair = 'short light')],
  ['long hair', (o) => (o.hair = 'long dark')],
  ['short hair', (o) => (o.hair = 'short dark')],
  ['curly hair', (o) => (o.hair = 'curly')],
  ['gray hair', (o) => (o.hair = 'gray')],
  ['grey hair', (o) => (o.hair = 'gray')],
  ['white hair', (o) => (o.hair = 'gray')],
  ['blue eyes', (o) => (o.eyeColor = 'blue')],
  ['green eyes', (o) => (o.eyeColor = 'green')],
  ['brown eyes', (o) => (o.eyeColor = 'brown')],
  ['hazel eyes', (o) => (o.eyeColor = 'hazel')],
  ['gray eyes', (o) => (o.eyeColor = 'gray')],
  ['grey eyes', (o) => (o.eyeColor = 'gray')],
  ['dark skin', (o) => (o.skinTone = 6)],
  ['dark skinned', (o) => (o.skinTone = 6)],
  ['dark-skinned', (o) => (o.skinTone = 6)],
  ['light skin', (o) => (o.skinTone = 1)],
  ['tan skin', (o) => (o.skinTone = 4)],
  ['round face', (o) => (o.faceShape = 'round')],
  ['oval face', (o) => (o.faceShape = 'oval')],
  ['square face', (o) => (o.faceShape = 'square')],
  ['square jaw', (o) => (o.faceShape = 'square')],
  ['heart shaped face', (o) => (o.faceShape = 'heart')],
  ['heart-shaped face', (o) => (o.faceShape = 'heart')],
  ['long face', (o) => (o.faceShape = 'long')],
  ['narrow face', (o) => (o.faceShape = 'long')],
  ['side light', (o) => (o.sideLight = true)],
  ['side lighting', (o) => (o.sideLight = true)],
  ['left light', (o) => setLight(o, { direction: 'left' })],
  ['light from the left', (o) => setLight(o, { direction: 'left' })],
  ['right light', (o) => setLight(o, { direction: 'right' })],
  ['light from the right', (o) => setLight(o, { direction: 'right' })],
  ['top light', (o) => setLight(o, { direction: 'top' })],
  ['front light', (o) => setLight(o, { direction: 'front' })],
  ['studio gray', (o) => (o.background = 'studio gray')],
  ['gray background', (o) => (o.background = 'studio gray')],
  ['white wall', (o) => (o.background = 'white wall')],
  ['white background', (o) => (o.background = 'white wall')],
  ['dark backdrop', (o) => (o.background = 'dark backdrop')],
  ['dark background', (o) => (o.background = 'dark backdrop')],
  ['black background', (o) => (o.background = 'dark backdrop')],
  ['living room', (o) => (o.background = 'living room')],
  ['outdoor park', (o) => (o.background = 'outdoor park')],
  ['looking left', (o) => (o.headPose = { ...o.headPose, yaw: -8 })],
  ['looking right', (o) => (o.headPose = { ...o.headPose, yaw: 8 })],
  ['head tilted', (o) => (o.headPose = { ...o.headPose, roll: 6 })],
];

const WORDS: Readonly<Record<string, Apply>> = {
  young: (o) => (o.ageBand = 'young adult'),
  youthful: (o) => (o.ageBand = 'young adult'),
  adult: (o) => (o.ageBand = 'adult'),
  'middle-aged': (o) => (o.ageBand = 'middle-aged'),
  elderly: (o) => (o.ageBand = 'elderly'),
  old: (o) => (o.ageBand = 'elderly'),
  senior: (o) => (o.ageBand = 'elderly'),
  man: (o) => (o.gender = 'masculine'),
  male: (o) => (o.gender = 'masculine'),
  guy: (o) => (o.gender = 'masculine'),
  gentleman: (o) => (o.gender = 'masculine'),
  masculine: (o) => (o.gender = 'masculine'),
  woman: (o) => (o.gender = 'feminine'),
  female: (o) => (o.gender = 'feminine'),
  lady: (o) => (o.gender = 'feminine'),
  feminine: (o) => (o.gender = 'feminine'),
  androgynous: (o) => (o.gender = 'androgynous'),
  pale: (o) => (o.skinTone = 1),
  fair: (o) => (o.skinTone = 1),
  olive: (o) => (o.skinTone = 4),
  tanned: (o) => (o.skinTone = 4),
  bald: (o) => (o.hair = 'bald'),
  curly: (o) => (o.hair = 'curly'),
  blond: (o) => (o.hair = o.hair?.startsWith('long') ? 'long light' : 'short light'),
  blonde: (o) => (o.hair = o.hair?.startsWith('long') ? 'long light' : 'short light'),
  brunette: (o) => (o.hair = 'long dark'),
  glasses: (o) => (o.glasses = true),
  spectacles: (o) => (o.glasses = true),
  eyeglasses: (o) => (o.glasses = true),
  bespectacled: (o) => (o.glasses = true),
  beard: (o) => (o.facialHair = 'beard'),
  bearded: (o) => (o.facialHair = 'beard'),
  moustache: (o) => (o.facialHair = 'moustache'),
  mustache: (o) => (o.facialHair = 'moustache'),
  stubble: (o) => (o.facialHair = 'stubble'),
  unshaven: (o) => (o.facialHair = 'stubble'),
  warm: (o) => setLight(o, { warmth: 'warm' }),
  cool: (o) => setLight(o, { warmth: 'cool' }),
  cold: (o) => setLight(o, { warmth: 'cool' }),
  soft: (o) => (o.lightStrength = [0, below(SOFT_LIGHT_BELOW)]),
  dim: (o) => (o.lightStrength = [0.2, 0.3]),
  bright: (o) => (o.lightStrength = [above(BRIGHT_LIGHT_ABOVE), 1]),
  harsh: (o) => (o.lightStrength = [0.9, 1]),
  dramatic: (o) => (o.lightStrength = [0.9, 1]),
  strong: (o) => (o.lightStrength = [0.8, 1]),
  overhead: (o) => setLight(o, { direction: 'top' }),
  frontal: (o) => setLight(o, { direction: 'front' }),
  studio: (o) => (o.background = 'studio gray'),
  office: (o) => (o.background = 'office'),
  park: (o) => (o.background = 'outdoor park'),
  outdoor: (o) => (o.background = 'outdoor park'),
  outdoors: (o) => (o.background = 'outdoor park'),
  outside: (o) => (o.background = 'outdoor park'),
  home: (o) => (o.background = 'living room'),
};

/** Words that carry no attribute; they are neither used nor reported as ignored. */
const FILLER = new Set(
  'a an the of with and in on at to from photo photograph picture portrait image face headshot close-up closeup shot person people who is has having wearing looking their his her light lighting lit background'.split(
    ' ',
  ),
);

function setLight(o: IdentityOverrides, l: Partial<Identity['lighting']>): void {
  o.lighting = { ...o.lighting, ...l };
}

const CLAUSE = '|';

/**
 * Reads the attributes the renderer can draw from free text. Expression words ("smiling",
 * "angry") land in `ignored` on purpose: the AU vector, not the prompt, drives the expression.
 */
export function parsePrompt(prompt: string): PromptParse {
  const overrides: IdentityOverrides = {};
  const used: string[] = [];
  const ignored: string[] = [];
  // A phrase never spans punctuation: ", head turned to the right, light from above" names no
  // "right light". The clause mark is a token that matches no phrase and is otherwise skipped.
  const tokens = prompt
    .toLowerCase()
    .replace(/[,;:.!?()[\]]+/g, ` ${CLAUSE} `)
    .replace(/[^a-z0-9\s'|-]+/g, ' ')
    .split(/\s+/)
    .filter((t) => t.length > 0);
  let i = 0;
  while (i < tokens.length) {
    const phrase = matchPhrase(tokens, i);
    if (phrase) {
      phrase.apply(overrides);
      used.push(phrase.text);
      i += phrase.length;
      continue;
    }
    const word = tokens[i] as string;
    if (word === CLAUSE) {
      i += 1;
      continue;
    }
    const apply = WORDS[word];
    if (apply) {
      apply(overrides);
      used.push(word);
    } else if (!FILLER.has(word)) {
      ignored.push(word);
    }
    i += 1;
  }
  return { overrides, used, ignored };
}

interface Phrase {
  text: string;
  words: readonly string[];
  apply: Apply;
}

/** PHRASES by first word, in table order: every sample's prompt is parsed, token by token. */
const PHRASES_BY_FIRST_WORD = (() => {
  const index = new Map<string, Phrase[]>();
  for (const [text, apply] of PHRASES) {
    const words = text.split(' ');
    const list = index.get(words[0]!) ?? [];
    list.push({ text, words, apply });
    index.set(words[0]!, list);
  }
  return index;
})();

/** The longest phrase starting at token `at`; between equally long ones, the first in the table. */
function matchPhrase(
  tokens: readonly string[],
  at: number,
): { text: string; length: number; apply: Apply } | undefined {
  let best: Phrase | undefined;
  for (const phrase of PHRASES_BY_FIRST_WORD.get(tokens[at]!) ?? []) {
    if (best && phrase.words.length <= best.words.length) continue;
    if (phrase.words.every((w, k) => tokens[at + k] === w)) best = phrase;
  }
  return best && { text: best.text, length: best.words.length, apply: best.apply };
}

/** The request's identity with the prompt's attributes laid over it. */
export function applyOverrides(identity: Identity, o: IdentityOverrides, sideLightRight: boolean): Identity {
  const { sideLight, lighting, headPose, lightStrength, ...rest } = o;
  const merged: Identity = {
    ...identity,
    ...rest,
    lighting: { ...identity.lighting, ...lighting },
    headPose: { ...identity.headPose, ...headPose },
  };
  if (lightStrength) {
    const [min, max] = lightStrength;
    merged.lighting.strength = Math.min(max, Math.max(min, merged.lighting.strength));
  }
  if (sideLight && !lighting?.direction) merged.lighting.direction = sideLightRight ? 'right' : 'left';
  return merged;
}
