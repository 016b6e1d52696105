import { AFFECTNET_TRAIN_SIZE } from '../plan/expressions';

export const TARGET_EXPECTED =
  'a sample count: a positive integer (e.g. 280000), a "k"/"m" size (e.g. "280k", "1.4m"), ' +
  `or "Nx affectnet" (e.g. "5x affectnet"; 1x = ${AFFECTNET_TRAIN_SIZE.toLocaleString('en-US')} images)`;

const MULTIPLE_OF_AFFECTNET = /^(\d+(?:\.\d+)?|\.\d+)\s*x\s*affectnet$/;
const SUFFIXED = /^(\d+(?:\.\d+)?|\.\d+)\s*([km])$/;
/** Digit grouping with `_` or `,` (e.g. 1_438_255) is accepted as people write it. */
const PLAIN = /^\d{1,3}(?:[_,]?\d{3})*$|^\d+$/;

/**
 * Resolves a target size to an integer sample count, or undefined when the text is none of the
 * accepted forms. Fractional results ("0.5x affectnet" = 143,825.5) round to the nearest sample.
 */
export function parseTarget(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 1 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  let samples: number | undefined;
  const multiple = MULTIPLE_OF_AFFECTNET.exec(text);
  const suffixed = SUFFIXED.exec(text);
  if (multiple) samples = Math.round(Number(multiple[1]) * AFFECTNET_TRAIN_SIZE);
  else if (suffixed) samples = Math.round(Number(suffixed[1]) * (suffixed[2] === 'k' ? 1e3 : 1e6));
  else if (PLAIN.test(text)) samples = Number(text.replace(/[_,]/g, ''));
  return samples !== undefined && Number.isSafeInteger(samples) && samples >= 1 ? samples : undefined;
}
