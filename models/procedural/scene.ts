import type { Identity } from '../../plan/request';
import type { Ctx } from './context';
import { soft, softLine } from './features';
import type { Pt } from './geometry';
import { hex, mix, type Rgb, shade } from './palette';
import { range } from './rng';
import { f, mirror, smooth } from './svg-util';

/** Image-space background (256 x 256 viewBox): soft gradients and out-of-focus blobs, never sharp shapes. */
export function background(kind: Identity['background'], c: Ctx): string {
  const r = c.rng;
  const blobs = (colors: readonly Rgb[], n: number, op: number) => {
    let s = '';
    for (let i = 0; i < n; i++) {
      s += `<circle cx="${f(range(r, 0, 256))}" cy="${f(range(r, 0, 200))}" r="${f(range(r, 25, 70))}" fill="url(#bb${i % colors.length})" opacity="${f(op)}"/>`;
    }
    const defs = colors
      .map(
        (col, i) =>
          `<radialGradient id="bb${i}"><stop offset="0" stop-color="${hex(col)}"/><stop offset="1" stop-color="${hex(col)}" stop-opacity="0"/></radialGradient>`,
      )
      .join('');
    return `<defs>${defs}</defs>${s}`;
  };
  const lin = (top: Rgb, bottom: Rgb) =>
    `<defs><linearGradient id="bg" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(top)}"/><stop offset="1" stop-color="${hex(bottom)}"/></linearGradient></defs><rect width="256" height="256" fill="url(#bg)"/>`;
  const rad = (mid: Rgb, edge: Rgb) =>
    `<defs><radialGradient id="bg" cx="${f(0.5 - 0.15 * c.lightX)}" cy=".4" r=".8"><stop offset="0" stop-color="${hex(mid)}"/><stop offset="1" stop-color="${hex(edge)}"/></radialGradient></defs><rect width="256" height="256" fill="url(#bg)"/>`;
  const k = range(r, 0.9, 1.1);
  switch (kind) {
    case 'studio gray':
      return rad(shade([150, 150, 152], k), [70, 70, 74]);
    case 'white wall':
      return lin(shade([236, 232, 226], k), [196, 190, 180]);
    case 'office':
      return (
        lin(shade([214, 208, 196], k), [150, 142, 128]) +
        blobs(
          [
            [250, 250, 240],
            [120, 110, 100],
            [90, 110, 130],
          ],
          5,
          0.55,
        )
      );
    case 'outdoor park':
      return (
        lin(shade([160, 196, 226], k), [70, 110, 60]) +
        blobs(
          [
            [80, 130, 60],
            [120, 160, 80],
            [230, 240, 210],
          ],
          7,
          0.7,
        )
      );
    case 'dark backdrop':
      return rad(shade([62, 62, 68], k), [14, 14, 16]);
    case 'living room':
      return (
        lin(shade([196, 160, 124], k), [96, 70, 52]) +
        blobs(
          [
            [255, 214, 150],
            [110, 70, 50],
          ],
          5,
          0.6,
        )
      );
  }
}

/** Face outline in face space; the lower jaw follows AU26's drop. */
export function faceOutline(c: Ctx): string {
  const { cheek, jaw, chin, chinY } = c.shape;
  const jd = c.geo.jawDrop;
  const right: Pt[] = [
    { x: 42, y: -97 },
    { x: 62, y: -68 },
    { x: cheek, y: -25 },
    { x: cheek - 2, y: 12 },
    { x: jaw, y: 50 + jd * 0.4 },
    { x: chin, y: chinY - 12 + jd },
  ];
  const left = mirror(right).reverse();
  return smooth([{ x: 0, y: -104 }, ...right, { x: 0, y: chinY + jd }, ...left], true);
}

export function skinDefs(c: Ctx): string {
  const s = c.strength;
  const cx = c.lightX * 45;
  const cy = c.lightTop ? -70 : -25;
  let d = `<radialGradient id="sk" gradientUnits="userSpaceOnUse" cx="${f(cx)}" cy="${f(cy)}" r="${f(140 + 20 * (1 - s))}">`;
  d += `<stop offset="0" stop-color="${hex(shade(c.skin, 1 + 0.14 * s))}"/>`;
  d += `<stop offset=".5" stop-color="${c.skinHex}"/>`;
  d += `<stop offset=".82" stop-color="${hex(shade(c.skin, 0.88 - 0.1 * s))}"/>`;
  d += `<stop offset="1" stop-color="${hex(shade(c.skin, 0.66 - 0.12 * s))}"/></radialGradient>`;
  // The side away from a side light falls into shadow across the whole face.
  if (c.lightX !== 0) {
    const x1 = -c.lightX * -40;
    const x2 = -c.lightX * 75;
    d += `<linearGradient id="lsh" gradientUnits="userSpaceOnUse" x1="${f(x1)}" y1="0" x2="${f(x2)}" y2="0"><stop offset="0" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${f(0.5 * s)}"/></linearGradient>`;
  }
  if (c.lightTop) {
    d += `<linearGradient id="lsh" gradientUnits="userSpaceOnUse" x1="0" y1="-20" x2="0" y2="110"><stop offset="0" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${f(0.45 * s)}"/></linearGradient>`;
  }
  d += `<clipPath id="fc"><path d="${faceOutline(c)}"/></clipPath>`;
  d += `<linearGradient id="nk" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(shade(c.skin, 0.55))}"/><stop offset=".5" stop-color="${hex(shade(c.skin, 0.8))}"/></linearGradient>`;
  const cl = c.clothing;
  d += `<linearGradient id="cl" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(shade(cl, 1.1))}"/><stop offset="1" stop-color="${hex(shade(cl, 0.6))}"/></linearGradient>`;
  const h = c.hairRgb;
  d += `<linearGradient id="hr" x1="0" y1="0" x2="${f(0.3 * c.lightX + 0.2)}" y2="1"><stop offset="0" stop-color="${hex(shade(h, 1.12))}"/><stop offset=".6" stop-color="${hex(h)}"/><stop offset="1" stop-color="${hex(shade(h, 0.7))}"/></linearGradient>`;
  return d;
}

export function body(c: Ctx): string {
  const chinY = c.shape.chinY + c.geo.jawDrop;
  let s = `<path d="M-40 40L-44 170L44 170L40 40Z" fill="url(#nk)"/>`;
  s += `<path d="M-170 260C-160 140 -90 122 -46 116Q0 140 46 116C90 122 160 140 170 260Z" fill="url(#cl)"/>`;
  s += soft(0, chinY + 4, 34, 10, 'sgK', 0.3);
  return s;
}

export function ears(c: Ctx): string {
  let s = '';
  const yawShift = -c.identity.headPose.yaw * 0.25;
  for (const sx of [-1, 1]) {
    const x = sx * (c.shape.cheek + 3) + yawShift;
    s += `<ellipse cx="${f(x)}" cy="-4" rx="9" ry="17" fill="${hex(shade(c.skin, 0.85))}"/>`;
    s += `<path d="M${f(x - sx * 2)} -14q${f(sx * 5)} 8 0 18" fill="none" stroke="${c.crease}" stroke-width="1.5" opacity=".4"/>`;
  }
  return s;
}

export function face(c: Ctx): string {
  const outline = faceOutline(c);
  let s = `<path d="${outline}" fill="url(#sk)"/>`;
  if (c.lightX !== 0 || c.lightTop)
    s += `<rect x="-110" y="-130" width="220" height="260" fill="url(#lsh)" clip-path="url(#fc)"/>`;
  s += softLine(outline, hex(shade(c.skin, 0.5)), 2, 0.3);
  return s;
}

function hairCap(c: Ctx, long: boolean): Pt[] {
  const part = range(c.rng, -14, 14);
  const fringe = range(c.rng, -4, 10) + (c.masculine < 0.5 ? 6 : 0);
  const outerRight: Pt[] = [
    { x: 32, y: -116 },
    { x: 60, y: -98 },
    { x: 73, y: -62 },
    { x: 70, y: -20 },
  ];
  const innerRight: Pt[] = long
    ? [
        { x: 62, y: 15 },
        { x: 60, y: -30 },
        { x: 50, y: -60 + fringe * 0.3 },
      ]
    : [
        { x: 66, y: -5 },
        { x: 61, y: -32 },
        { x: 52, y: -60 + fringe * 0.3 },
      ];
  if (long) outerRight.push({ x: 76, y: 40 }, { x: 66, y: 70 });
  const outerLeft = mirror(outerRight).reverse();
  const innerLeft = mirror(innerRight).reverse();
  return [
    ...outerLeft,
    { x: 0, y: -121 },
    ...outerRight,
    ...innerRight,
    { x: part + 15, y: -70 + fringe },
    { x: part, y: -72 + fringe * 0.5 },
    { x: part - 15, y: -68 + fringe },
    ...innerLeft,
  ];
}

/** Hair behind the head (long styles); drawn before the face. */
export function hairBack(c: Ctx): string {
  const h = c.identity.hair;
  if (!h.startsWith('long') && h !== 'curly') return '';
  const right: Pt[] = [
    { x: 50, y: -108 },
    { x: 80, y: -70 },
    { x: 86, y: 0 },
    { x: h === 'curly' ? 80 : 84, y: h === 'curly' ? 50 : 100 },
    { x: 50, y: h === 'curly' ? 70 : 135 },
  ];
  const pts = [{ x: 0, y: -118 }, ...right, ...mirror(right).reverse()];
  return `<path d="${smooth(pts, true)}" fill="${hex(shade(c.hairRgb, 0.7))}"/>`;
}

export function hairFront(c: Ctx): string {
  const h = c.identity.hair;
  if (h === 'bald') {
    if (c.age < 0.5) return '';
    let s = '';
    for (const sx of [-1, 1]) {
      s += `<ellipse cx="${f(sx * 64)}" cy="-30" rx="8" ry="20" fill="${c.hair}" opacity=".7"/>`;
    }
    return s;
  }
  const long = h.startsWith('long');
  const cap = hairCap(c, long);
  let s = `<path d="${smooth(cap, true)}" fill="url(#hr)"/>`;
  if (h === 'curly') {
    let curls = '';
    for (let i = 0; i < 26; i++) {
      const a = Math.PI * (1.02 + (0.96 * i) / 25);
      const r = 74 + range(c.rng, -4, 4);
      curls += `<circle cx="${f(Math.cos(a) * r)}" cy="${f(-48 + Math.sin(a) * r * 0.95)}" r="${f(range(c.rng, 9, 13))}"/>`;
    }
    s = `<g fill="url(#hr)">${curls}</g>${s}`;
  }
  let strands = '';
  for (let i = 0; i < 7; i++) {
    const x = range(c.rng, -45, 45);
    strands += `M${f(x)} -112Q${f(x * 1.2 + range(c.rng, -8, 8))} -90 ${f(x * 1.35)} -68`;
  }
  s += `<path d="${strands}" fill="none" stroke="${hex(shade(c.hairRgb, 1.3))}" stroke-width="1.5" opacity=".25"/>`;
  return s;
}

export function facialHair(c: Ctx): string {
  const kind = c.identity.facialHair;
  if (kind === 'none') return '';
  const m = c.geo.mouth;
  const jd = c.geo.jawDrop;
  const { jaw, chin, chinY } = c.shape;
  const [cl, cr] = m.corners;
  const moustache = (): Pt[] => [
    { x: cl.x - 4, y: cl.y + 3 },
    { x: -14, y: m.upperLipTop - 6 },
    { x: 0, y: m.upperLipTop - 8 },
    { x: 14, y: m.upperLipTop - 6 },
    { x: cr.x + 4, y: cr.y + 3 },
    { x: cr.x + 1, y: cr.y - 0.5 },
    { x: 9, y: m.upperLipTop - 0.5 },
    { x: 0, y: m.upperLipTop - 1 },
    { x: -9, y: m.upperLipTop - 0.5 },
    { x: cl.x - 1, y: cl.y - 0.5 },
  ];
  const beardRight: Pt[] = [
    { x: c.shape.cheek - 3, y: 12 },
    { x: jaw + 1, y: 50 + jd * 0.4 },
    { x: chin + 2, y: chinY - 10 + jd },
  ];
  const beardInner: Pt[] = [
    { x: cr.x + 7, y: cr.y + 4 },
    { x: 0, y: m.lowerLipBottom + 4 },
    { x: cl.x - 7, y: cl.y + 4 },
  ];
  const beard = smooth(
    [
      { x: -(c.shape.cheek - 3), y: 12 },
      { x: -(jaw + 1), y: 50 + jd * 0.4 },
      { x: -(chin + 2), y: chinY - 10 + jd },
      { x: 0, y: chinY + 4 + jd },
      ...beardRight.slice().reverse(),
      { x: 54, y: 16 },
      { x: 40, y: 34 },
      ...beardInner,
      { x: -40, y: 34 },
      { x: -54, y: 16 },
    ],
    true,
  );
  const col = kind === 'stubble' ? hex(mix(c.hairRgb, [20, 20, 20], 0.5)) : c.hair;
  const op = kind === 'stubble' ? 0.2 : 0.95;
  let s = '';
  if (kind === 'beard' || kind === 'stubble')
    s += `<path d="${beard}" fill="${col}" opacity="${f(op)}" filter="url(#b2)"/>`;
  s += `<path d="${smooth(moustache(), true)}" fill="${col}" opacity="${f(op)}" filter="url(#b1)"/>`;
  return s;
}

export function glasses(c: Ctx, seed: number): string {
  if (!c.identity.glasses) return '';
  const frame = ['#1a1a1a', '#4a2f1e', '#8a8a90', '#202a40'][seed % 4] as string;
  let s = `<g fill="none" stroke="${frame}" stroke-width="2.4">`;
  for (const sx of [-1, 1]) {
    const cx = sx * 27;
    s += `<rect x="${f(cx - 18)}" y="-19" width="36" height="26" rx="9" fill="#fff" fill-opacity=".06"/>`;
    s += `<path d="M${f(sx * 45)} -12L${f(sx * (c.shape.cheek + 2))} -10"/>`;
  }
  s += '<path d="M-9 -11Q0 -15 9 -11"/></g>';
  s += `<path d="M-38 -16l10 -2M16 -16l10 -2" stroke="#fff" stroke-width="1.5" opacity=".35"/>`;
  return s;
}

export function lightTint(c: Ctx): string {
  const w = c.identity.lighting.warmth;
  if (w === 'neutral') return '';
  const col = w === 'warm' ? '#ff9a40' : '#4a8cff';
  return `<rect width="256" height="256" fill="${col}" opacity="${f(0.06 + 0.06 * c.strength)}"/>`;
}
