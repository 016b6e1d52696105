import type { Identity } from '../../plan/request';
import { type Rng, range } from './rng';

export type Rgb = readonly [number, number, number];

const SKIN: readonly Rgb[] = [
  [241, 210, 189],
  [228, 184, 152],
  [206, 156, 120],
  [172, 120, 84],
  [130, 86, 58],
  [88, 58, 40],
];

const EYES: Record<Identity['eyeColor'], Rgb> = {
  brown: [92, 56, 30],
  blue: [70, 112, 160],
  green: [78, 120, 74],
  hazel: [128, 96, 50],
  gray: [118, 128, 136],
};

export function hex([r, g, b]: Rgb): string {
  const c = (v: number) =>
    Math.max(0, Math.min(255, Math.round(v)))
      .toString(16)
      .padStart(2, '0');
  return `#${c(r)}${c(g)}${c(b)}`;
}

export function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

/** Multiplies brightness; >1 lightens towards white, <1 darkens. */
export function shade(c: Rgb, k: number): Rgb {
  return k >= 1 ? mix(c, [255, 255, 255], Math.min(1, k - 1)) : [c[0] * k, c[1] * k, c[2] * k];
}

export interface Palette {
  skin: Rgb;
  hair: Rgb;
  brow: Rgb;
  iris: Rgb;
  lip: Rgb;
  clothing: Rgb;
}

const CLOTHING: readonly Rgb[] = [
  [40, 52, 80],
  [120, 30, 40],
  [60, 60, 62],
  [210, 210, 205],
  [50, 90, 70],
  [150, 120, 90],
  [20, 20, 24],
  [90, 120, 160],
];

export function paletteFor(identity: Identity, ageFactor: number, rng: Rng): Palette {
  const base = SKIN[identity.skinTone - 1] as Rgb;
  const j = range(rng, -8, 8);
  const skin: Rgb = [base[0] + j, base[1] + j * 0.8 + range(rng, -4, 4), base[2] + j * 0.7];
  const dark: Rgb = [range(rng, 30, 55), range(rng, 22, 36), range(rng, 16, 26)];
  const light: Rgb = [range(rng, 180, 215), range(rng, 145, 175), range(rng, 90, 120)];
  const gray: Rgb = [165, 163, 160];
  let hair: Rgb =
    identity.hair === 'gray'
      ? gray
      : identity.hair.includes('light')
        ? light
        : identity.hair === 'curly'
          ? mix(dark, light, range(rng, 0, 0.35))
          : dark;
  // Age grays whatever hair the identity has.
  hair = mix(hair, gray, Math.max(0, ageFactor - 0.35) * 1.1);
  // Brows read darker than the hair, as in photographs; detectors key on their contrast.
  const brow = mix(shade(hair, 0.6), [35, 26, 22], identity.hair === 'gray' ? 0.35 : 0.3);
  const lipBase: Rgb = [skin[0] * 0.82 + 30, skin[1] * 0.55, skin[2] * 0.6];
  const lip = identity.gender === 'feminine' ? mix(lipBase, [175, 60, 70], 0.3) : lipBase;
  return {
    skin,
    hair,
    brow,
    iris: mix(EYES[identity.eyeColor], [0, 0, 0], range(rng, 0, 0.15)),
    lip,
    clothing: CLOTHING[Math.floor(rng() * CLOTHING.length)] as Rgb,
  };
}
