import { AU_IDS, type AuId } from '../../plan/expressions';
import type { SampleRequest } from '../../plan/request';

/**
 * How AUs are worded for text-only servers (A1111/Forge), which cannot take an AU vector: the one
 * table of AU phrases. `~` marks where the intensity word goes; `oneSide` replaces the phrase when
 * the AU is requested on one side of the face only (otherwise " on one side" is appended).
 */
export const AU_PROMPT_WORDS: Record<AuId, { phrase: string; oneSide?: string }> = {
  AU1: { phrase: 'inner brows ~raised' },
  AU2: { phrase: 'outer brows ~raised' },
  AU4: { phrase: 'brows ~lowered and drawn together, frowning' },
  AU5: { phrase: 'upper eyelids ~raised, eyes wide open' },
  AU6: { phrase: 'cheeks ~raised' },
  AU7: { phrase: 'eyelids ~tightened' },
  AU9: { phrase: 'nose ~wrinkled' },
  AU10: { phrase: 'upper lip ~raised' },
  AU12: { phrase: 'smiling, lip corners ~pulled up', oneSide: 'smirking, lip corner ~pulled up on one side' },
  AU14: { phrase: 'lip corners ~tightened into dimples', oneSide: 'lip corner ~dimpled on one side' },
  AU15: { phrase: 'lip corners ~pulled down' },
  AU16: { phrase: 'lower lip ~pulled down' },
  AU17: { phrase: 'chin ~raised' },
  AU20: { phrase: 'lips ~stretched sideways' },
  AU23: { phrase: 'lips ~tightened' },
  AU25: { phrase: 'lips ~parted' },
  AU26: { phrase: 'jaw ~dropped, mouth open' },
  AU43: { phrase: 'eyes ~closed' },
};

/**
 * FACS intensity (0..5) to a word: below 0.5 the AU is a trace and left out; a plain phrase stands
 * for the middle of the scale (FACS B-C).
 */
export const INTENSITY_WORDS: readonly { below: number; word: string | null }[] = [
  { below: 0.5, word: null },
  { below: 1.5, word: 'slightly' },
  { below: 3.5, word: '' },
  { below: Number.POSITIVE_INFINITY, word: 'strongly' },
];

export function intensityWord(intensity: number): string | null {
  return INTENSITY_WORDS.find((w) => intensity < w.below)?.word ?? null;
}

/** One AU as words, or undefined when it is too faint to mention. */
export function auPhrase(au: AuId, intensity: number, side?: 'left' | 'right'): string | undefined {
  const word = intensityWord(intensity);
  if (word === null) return undefined;
  const entry = AU_PROMPT_WORDS[au];
  const template = side ? (entry.oneSide ?? `${entry.phrase} on one side`) : entry.phrase;
  return template.replace('~', word ? `${word} ` : '');
}

/** Every active AU of a request as comma-separated words, in AU_IDS order. */
export function auPromptWords(request: Pick<SampleRequest, 'aus' | 'auSide'>): string {
  return AU_IDS.map((au) => auPhrase(au, request.aus[au] ?? 0, request.auSide[au]))
    .filter((p): p is string => p !== undefined)
    .join(', ');
}
