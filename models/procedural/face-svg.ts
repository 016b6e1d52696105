import type { Identity, SampleRequest } from '../../plan/request';
import { ageFactorOf, makeCtx } from './context';
import { brows, cheeks, eyeDefs, eyes, mouth, mouthDefs, nose, softDefs, wrinkles } from './features';
import { faceGeometry } from './geometry';
import { paletteFor } from './palette';
import { createRng, range } from './rng';
import {
  background,
  body,
  ears,
  face,
  facialHair,
  glasses,
  hairBack,
  hairFront,
  lightTint,
  skinDefs,
} from './scene';
import { f } from './svg-util';

const FILTERS =
  '<filter id="b1" x="-20%" y="-20%" width="140%" height="140%"><feGaussianBlur stdDeviation=".7"/></filter>' +
  '<filter id="b2" x="-30%" y="-30%" width="160%" height="160%"><feGaussianBlur stdDeviation="1.6"/></filter>' +
  '<filter id="b3" x="-40%" y="-40%" width="180%" height="180%"><feGaussianBlur stdDeviation="3.5"/></filter>';

/**
 * One face as an SVG document of `size` px. The drawing lives in a 256-unit viewBox; the head
 * is drawn in face space (origin near the nose bridge) and placed by the head-pose transform.
 */
export function faceSvg(
  req: Pick<SampleRequest, 'aus' | 'auSide' | 'generatorSeed'>,
  identity: Identity,
  size: number,
): string {
  const rng = createRng(req.generatorSeed);
  const age = ageFactorOf(identity);
  const palette = paletteFor(identity, age, rng);
  const geo = faceGeometry(req, age);
  const c = makeCtx(identity, geo, palette, rng);
  const pose = identity.headPose;
  // The tiny face detector fires reliably only within a narrow band of face sizes (measured with
  // scripts/measure-quality.ts: 0.86-0.93 missed 14% of faces, 0.78-0.84 about 5%).
  // Longer face shapes are scaled down to the oval's height (crown at -104) for the same reason.
  const scale = range(rng, 0.78, 0.84) * Math.min(1, 194 / (104 + c.shape.chinY));
  const headX = 128 + range(rng, -4, 4) + pose.yaw * 0.3;
  const headY = 114 + range(rng, -3, 3) + pose.pitch * 0.3;
  const gaze = { x: range(rng, -0.8, 0.8) + pose.yaw * 0.05, y: range(rng, -0.3, 0.3) };
  const shift = c.featureShift;

  const defs = `<defs>${FILTERS}${softDefs(c)}${skinDefs(c)}${eyeDefs(c)}${mouthDefs(c)}</defs>`;
  const bg = background(identity.background, c);
  const head =
    hairBack(c) +
    body(c) +
    ears(c) +
    face(c) +
    `<g transform="translate(${f(shift.x)} ${f(shift.y)})">` +
    cheeks(c) +
    wrinkles(c) +
    facialHair(c) +
    nose(c) +
    mouth(c) +
    eyes(c, gaze) +
    brows(c) +
    glasses(c, req.generatorSeed) +
    '</g>' +
    hairFront(c);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}" viewBox="0 0 256 256">` +
    defs +
    bg +
    `<g transform="translate(${f(headX)} ${f(headY)}) rotate(${f(pose.roll)}) scale(${Math.round(scale * 1000) / 1000})">` +
    head +
    '</g>' +
    lightTint(c) +
    '</svg>'
  );
}
