import type { Ctx } from './context';
import type { EyeShape, Pt } from './geometry';
import { hex, mix, shade } from './palette';
import { f, pt, smooth, smoothContinue, through } from './svg-util';

const SIDES = [0, 1] as const;

/**
 * Soft-edged shapes without SVG blur filters: librsvg renders each filter on its own surface,
 * which cost ~3x the rest of the face, so shadows are radial gradients and creases a faint wide
 * stroke under a thin one.
 */
export function softDefs(c: Ctx): string {
  const grad = (id: string, color: string) =>
    `<radialGradient id="${id}"><stop offset="0" stop-color="${color}"/><stop offset=".5" stop-color="${color}" stop-opacity=".6"/><stop offset="1" stop-color="${color}" stop-opacity="0"/></radialGradient>`;
  return grad('sgD', c.deep) + grad('sgC', c.crease) + grad('sgH', c.highlight) + grad('sgK', '#000');
}

/** A blurred-looking ellipse: the gradient fades to nothing, so the shape is drawn 1.6x larger. */
export function soft(
  cx: number,
  cy: number,
  rx: number,
  ry: number,
  gradient: string,
  opacity: number,
): string {
  if (opacity <= 0.01) return '';
  return `<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="${f(rx * 1.6)}" ry="${f(ry * 1.6)}" fill="url(#${gradient})" opacity="${f(Math.min(1, opacity))}"/>`;
}

export function softLine(d: string, color: string, width: number, opacity: number): string {
  if (opacity <= 0.01) return '';
  return `<path d="${d}" fill="none" stroke="${color}" stroke-linecap="round" stroke-width="${f(width * 2.4)}" opacity="${f(opacity * 0.25)}"/><path d="${d}" fill="none" stroke="${color}" stroke-linecap="round" stroke-width="${f(width * 0.9)}" opacity="${f(opacity * 0.75)}"/>`;
}
const sign = (side: 0 | 1) => (side === 0 ? -1 : 1);

/** Upper-lid and lower-lid curves of one eye (cubic, so the lid peaks off-centre like a real almond eye). */
function lidCurves(e: EyeShape): { upper: string; lower: string; closed: string } {
  const dx = e.outer.x - e.inner.x;
  const dy = e.outer.y - e.inner.y;
  const at = (t: number, off: number): Pt => ({ x: e.inner.x + dx * t, y: e.inner.y + dy * t + off });
  const u1 = at(0.22, -e.upper / 0.75);
  const u2 = at(0.68, -e.upper / 0.75);
  const l1 = at(0.72, e.lower / 0.75);
  const l2 = at(0.25, e.lower / 0.75);
  const upper = `M${pt(e.inner)}C${pt(u1)} ${pt(u2)} ${pt(e.outer)}`;
  const lower = `M${pt(e.outer)}C${pt(l1)} ${pt(l2)} ${pt(e.inner)}`;
  const closed = `${upper}C${pt(l1)} ${pt(l2)} ${pt(e.inner)}Z`;
  return { upper, lower, closed };
}

function eyeCentre(e: EyeShape): Pt {
  return { x: (e.inner.x + e.outer.x) / 2, y: (e.inner.y + e.outer.y) / 2 };
}

export function eyeDefs(c: Ctx): string {
  const iris = c.iris;
  let d = '';
  for (const side of SIDES) {
    d += `<clipPath id="ec${side}"><path d="${lidCurves(c.geo.eyes[side]).closed}"/></clipPath>`;
  }
  d += `<radialGradient id="ir"><stop offset="0" stop-color="${hex(shade(iris, 1.25))}"/><stop offset=".55" stop-color="${hex(iris)}"/><stop offset="1" stop-color="${hex(shade(iris, 0.45))}"/></radialGradient>`;
  d +=
    '<radialGradient id="scl" cx=".5" cy=".4" r=".6"><stop offset="0" stop-color="#f3efea"/><stop offset=".7" stop-color="#e2dad3"/><stop offset="1" stop-color="#b8aca4"/></radialGradient>';
  d += `<radialGradient id="sock"><stop offset="0" stop-color="${c.deep}" stop-opacity=".5"/><stop offset="1" stop-color="${c.deep}" stop-opacity="0"/></radialGradient>`;
  return d;
}

export function eyes(c: Ctx, gaze: Pt): string {
  let s = '';
  const fem = 1 - c.masculine;
  // Lowered brows (AU4) cast the eye sockets into shadow, as in a glare.
  const socket = 0.35 + 0.3 * (c.lightTop ? 1 : 0) * c.strength + 0.1 * c.age + 0.45 * c.geo.glabella;
  for (const side of SIDES) {
    const e = c.geo.eyes[side];
    const ctr = eyeCentre(e);
    const lids = lidCurves(e);
    s += `<ellipse cx="${f(ctr.x)}" cy="${f(ctr.y - 5)}" rx="22" ry="14" fill="url(#sock)" opacity="${f(socket)}"/>`;
    if (e.upper + e.lower > 1.6) {
      const ir = { x: ctr.x + gaze.x, y: ctr.y + 0.6 + gaze.y };
      const hl = { x: ir.x - 1.8 + 1.2 * c.lightX, y: ir.y - 2.2 };
      s += `<g clip-path="url(#ec${side})"><path d="${lids.closed}" fill="url(#scl)"/>`;
      s += `<circle cx="${f(ir.x)}" cy="${f(ir.y)}" r="6.8" fill="url(#ir)"/>`;
      s += `<circle cx="${f(ir.x)}" cy="${f(ir.y)}" r="6.8" fill="none" stroke="#1a1210" stroke-width=".9" opacity=".6"/>`;
      s += `<circle cx="${f(ir.x)}" cy="${f(ir.y)}" r="2.7" fill="#0b0807"/>`;
      s += `<circle cx="${f(hl.x)}" cy="${f(hl.y)}" r="1.3" fill="#fff" opacity=".85"/>`;
      s += `<path d="${lids.upper}" fill="none" stroke="#2a1a14" stroke-width="3.4" opacity=".35"/></g>`;
    }
    const lash = e.upper < 1.5 ? 1.5 : 1.7 + 0.7 * fem;
    s += `<path d="${lids.upper}" fill="none" stroke="#1c1310" stroke-width="${f(lash)}" stroke-linecap="round"/>`;
    if (fem > 0.4 && e.upper >= 1.5) {
      const o = e.outer;
      s += `<path d="M${pt(o)}l${f(sign(side) * 3)} -2" stroke="#1c1310" stroke-width="1.2" stroke-linecap="round"/>`;
    }
    s += `<path d="${lids.lower}" fill="none" stroke="${c.crease}" stroke-width=".9" opacity=".55"/>`;
    // The lid crease sits above the lash line; when the lid is retracted (AU5) it rises with it.
    const cr = (t: number, k: number): Pt => ({
      x: e.inner.x + (e.outer.x - e.inner.x) * t,
      y: e.inner.y + (e.outer.y - e.inner.y) * t - (e.upper + e.crease) * k,
    });
    s += `<path d="M${pt(cr(0.08, 0.5))}Q${pt(cr(0.45, 1.45))} ${pt(cr(0.95, 0.55))}" fill="none" stroke="${c.crease}" stroke-width="1.1" opacity=".38"/>`;
  }
  return s;
}

export function brows(c: Ctx): string {
  let s = '';
  const thick = { inner: 5 + 2 * c.masculine, mid: 4 + 1.8 * c.masculine };
  for (const side of SIDES) {
    const b = c.geo.brows[side];
    const it = { x: b.inner.x, y: b.inner.y - thick.inner / 2 };
    const ib = { x: b.inner.x, y: b.inner.y + thick.inner / 2 };
    const mt = { x: b.mid.x, y: b.mid.y - thick.mid / 2 };
    const mb = { x: b.mid.x, y: b.mid.y + thick.mid / 2 };
    const d = `M${pt(ib)}L${pt(it)}Q${pt(through(it, mt, b.outer))} ${pt(b.outer)}Q${pt(through(b.outer, mb, ib))} ${pt(ib)}Z`;
    s += `<path d="${d}" fill="${c.brow}" stroke="${c.brow}" stroke-width=".8" stroke-opacity=".4" opacity=".92"/>`;
  }
  return s;
}

/** Creases that FACS uses as AU evidence: forehead lines (AU1/AU2), glabella furrows (AU4), crow's feet (AU6), nose wrinkles (AU9). */
export function wrinkles(c: Ctx): string {
  const g = c.geo;
  let s = '';
  const line = (d: string, op: number, w = 1.1) => {
    if (op > 0.02) s += softLine(d, c.crease, w, Math.min(0.9, op));
  };
  const browTop = Math.min(g.brows[0].mid.y, g.brows[1].mid.y);
  for (let k = 0; k < 3; k++) {
    const y = browTop - 10 - k * 6.5;
    const lift = 3 * g.foreheadLines.center;
    line(
      `M-15 ${f(y + 1)}Q0 ${f(y - lift - 1)} 15 ${f(y + 1)}`,
      0.55 * g.foreheadLines.center + 0.25 * c.age - 0.1 * k,
    );
    for (const side of SIDES) {
      const sx = sign(side);
      line(
        `M${f(sx * 12)} ${f(y + 1)}Q${f(sx * 24)} ${f(y - 1.5 - 2 * g.foreheadLines.lateral)} ${f(sx * 36)} ${f(y + 3)}`,
        0.5 * g.foreheadLines.lateral + 0.25 * c.age - 0.1 * k,
      );
    }
  }
  if (g.glabella > 0) {
    const yi = Math.max(g.brows[0].inner.y, g.brows[1].inner.y);
    line(`M-3.5 ${f(yi - 8)}Q-2.5 ${f(yi - 2)} -4 ${f(yi + 5)}`, 0.7 * g.glabella, 1.3);
    line(`M3.5 ${f(yi - 8)}Q2.5 ${f(yi - 2)} 4 ${f(yi + 5)}`, 0.7 * g.glabella, 1.3);
    s += `<ellipse cx="0" cy="${f(yi - 1)}" rx="7" ry="6" fill="${c.crease}" opacity="${f(0.25 * g.glabella)}"/>`;
  }
  for (const side of SIDES) {
    const sx = sign(side);
    const e = g.eyes[side];
    const o = { x: e.outer.x + sx * 3, y: e.outer.y };
    const cf = g.crowsFeet[side];
    for (const [dx, dy] of [
      [8, -5],
      [9.5, 0.5],
      [8, 6],
    ] as const) {
      line(`M${pt(o)}l${f(sx * dx)} ${f(dy)}`, 0.55 * cf, 0.9);
    }
    const cr = g.cheekRaise[side];
    const lowY = Math.max(e.inner.y, e.outer.y) + e.lower + 4;
    line(
      `M${f(sx * 15)} ${f(lowY)}Q${f(sx * 27)} ${f(lowY + 5)} ${f(sx * 39)} ${f(lowY - 1)}`,
      0.45 * cr + 0.3 * c.age,
      1.2,
    );
  }
  if (g.noseWrinkle > 0) {
    for (const y of [-5, -0.5, 4, 8.5])
      line(`M-9 ${f(y)}Q0 ${f(y - 3.5)} 9 ${f(y)}`, 1.2 * g.noseWrinkle, 1.6);
    for (const side of SIDES) {
      const sx = sign(side);
      line(`M${f(sx * 8)} -7l${f(sx * 5)} 7`, 0.9 * g.noseWrinkle, 1.4);
    }
  }
  return s;
}

export function cheeks(c: Ctx): string {
  let s = '';
  for (const side of SIDES) {
    const sx = sign(side);
    const cr = c.geo.cheekRaise[side];
    const lit = c.lightX === 0 ? 1 : c.lightX === sx ? 1.4 : 0.5;
    s += soft(sx * 33, 21 - 8 * cr, 15, 10 + 2 * cr, 'sgH', (0.12 + 0.3 * cr) * lit);
    s += soft(sx * 36, 38 - 6 * cr, 14, 6, 'sgC', 0.1 + 0.22 * cr);
  }
  return s;
}

export function nose(c: Ctx): string {
  const lift = c.geo.nostrilLift;
  const far = (sx: number) => (c.lightX === 0 ? 0.22 : c.lightX === sx ? 0.1 : 0.4);
  let s = '';
  for (const side of SIDES) {
    const sx = sign(side);
    s += softLine(
      `M${f(sx * 7)} -14Q${f(sx * 9.5)} 4 ${f(sx * 12)} 18`,
      c.crease,
      3,
      far(sx) * (0.6 + c.strength),
    );
  }
  s += soft(0, 31 - lift * 0.5, 11, 3, 'sgD', 0.45);
  s += soft(-1.5 * c.lightX, 17, 5, 4.5, 'sgH', 0.45);
  s += softLine('M-2 -12L-1.5 10', c.highlight, 2.5, 0.22);
  for (const side of SIDES) {
    const sx = sign(side);
    const y = 21 - lift;
    s += `<path d="M${f(sx * (12 + 0.6 * lift))} ${f(y)}C${f(sx * (17 + lift))} ${f(y + 4)} ${f(sx * (15 + lift))} ${f(y + 10)} ${f(sx * 8)} ${f(y + 9.5)}" fill="none" stroke="${c.crease}" stroke-width="1.6" opacity=".6"/>`;
    s += `<ellipse cx="${f(sx * 5.5)}" cy="${f(28.5 - lift * 0.8)}" rx="3.4" ry="1.7" transform="rotate(${f(sx * 12)} ${f(sx * 5.5)} ${f(28.5 - lift * 0.8)})" fill="${c.deep}" opacity=".8"/>`;
  }
  return s;
}

interface MouthLines {
  openTop: Pt[];
  openBottom: Pt[];
  upperOuter: Pt[];
  lowerOuter: Pt[];
  open: boolean;
}

/** Samples each lip edge as y = centre + (corner - centre) * |x / halfWidth|^p, per side. */
function mouthLines(c: Ctx): MouthLines {
  const m = c.geo.mouth;
  const [cl, cr] = m.corners;
  const edge = (centreY: number, p: number, bow = 0): Pt[] => {
    const pts: Pt[] = [cl];
    for (const t of [0.78, 0.55, 0.3]) {
      const y = centreY + (cl.y - centreY) * t ** p;
      pts.push({ x: cl.x * t, y: y - bow * Math.exp(-((cl.x * t - -5) ** 2) / 18) });
    }
    pts.push({ x: 0, y: centreY });
    for (const t of [0.3, 0.55, 0.78]) {
      const y = centreY + (cr.y - centreY) * t ** p;
      pts.push({ x: cr.x * t, y: y - bow * Math.exp(-((cr.x * t - 5) ** 2) / 18) });
    }
    pts.push(cr);
    return pts;
  };
  const open = m.openBottom - m.openTop > 0.6;
  return {
    openTop: edge(m.openTop, m.flatness),
    openBottom: open ? edge(m.openBottom, m.flatness) : edge(m.openTop, m.flatness),
    upperOuter: edge(m.upperLipTop, 1.4, 1.6),
    lowerOuter: edge(m.lowerLipBottom, 1.9),
    open,
  };
}

export function mouthDefs(c: Ctx): string {
  const l = mouthLines(c);
  const inner = `${smooth(l.openTop, false)}${smoothContinue([...l.openBottom].reverse())}Z`;
  const lip = c.lip;
  return (
    `<clipPath id="mo"><path d="${inner}"/></clipPath>` +
    `<linearGradient id="lu" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(shade(lip, 0.8))}"/><stop offset="1" stop-color="${hex(shade(lip, 0.62))}"/></linearGradient>` +
    `<linearGradient id="ll" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hex(shade(lip, 0.75))}"/><stop offset=".45" stop-color="${hex(shade(lip, 1.08))}"/><stop offset="1" stop-color="${hex(shade(lip, 0.82))}"/></linearGradient>` +
    '<linearGradient id="th" x1="0" y1="0" x2="1" y2="0"><stop offset="0" stop-color="#a89d90"/><stop offset=".3" stop-color="#f1ede4"/><stop offset=".7" stop-color="#f1ede4"/><stop offset="1" stop-color="#a89d90"/></linearGradient>'
  );
}

export function mouth(c: Ctx): string {
  const g = c.geo;
  const m = g.mouth;
  const l = mouthLines(c);
  let s = '';
  // Philtrum and the shadow below the lower lip give the mouth its relief.
  s += softLine(`M-3.5 31L-4.5 ${f(m.upperLipTop)}M3.5 31L4.5 ${f(m.upperLipTop)}`, c.crease, 1.4, 0.3);
  s += soft(0, m.lowerLipBottom + 4, 12, 3.2, 'sgD', 0.4 + 0.25 * g.chinBoss);
  if (l.open) {
    const inner = `${smooth(l.openTop, false)}${smoothContinue([...l.openBottom].reverse())}Z`;
    s += `<path d="${inner}" fill="#2b0f0f"/>`;
    s += '<g clip-path="url(#mo)">';
    const down = (pts: Pt[], dy: number, k: number) => pts.map((p) => ({ x: p.x * k, y: p.y + dy }));
    // Upper teeth are a smile's signature; a stretched fearful mouth (AU20) shows the lower ones instead.
    const teeth = Math.min(6.5, 2 + 0.45 * (m.openBottom - m.openTop)) * (1 - 0.6 * g.lowerTeeth);
    const up = `${smooth(down(l.openTop, -3, 1), false)}${smoothContinue(down(l.openTop, teeth, 0.9).reverse())}Z`;
    s += `<path d="${up}" fill="url(#th)"/>`;
    const hw = Math.max(Math.abs(m.corners[0].x), Math.abs(m.corners[1].x));
    let seps = '';
    for (const x of [0, 4.8, -4.8, 9.2, -9.2, 13, -13]) {
      if (Math.abs(x) < hw * 0.8) seps += `M${f(x)} ${f(m.openTop - 2)}v${f(teeth + 2)}`;
    }
    s += `<path d="${seps}" stroke="#b5aa9d" stroke-width=".6"/>`;
    if (g.lowerTeeth > 0) {
      const lowTeeth = `${smooth(down(l.openBottom, -5 * g.lowerTeeth, 0.8), false)}${smoothContinue(down(l.openBottom, 3, 1).reverse())}Z`;
      s += `<path d="${lowTeeth}" fill="url(#th)" opacity=".9"/>`;
    }
    s += `<path d="${smooth(l.openTop, false)}" fill="none" stroke="#3a1a16" stroke-width="2.2" opacity=".5"/></g>`;
  }
  const upperLip = `${smooth(l.upperOuter, false)}${smoothContinue([...l.openTop].reverse())}Z`;
  const lowerLip = `${smooth(l.openBottom, false)}${smoothContinue([...l.lowerOuter].reverse())}Z`;
  s += `<path d="${upperLip}" fill="url(#lu)"/>`;
  s += `<path d="${lowerLip}" fill="url(#ll)"/>`;
  const press = g.lipPress;
  s += `<path d="${smooth(l.openTop, false)}" fill="none" stroke="${hex(mix(c.lip, [40, 15, 15], 0.7))}" stroke-width="${f(l.open ? 0.8 : 1.3 + press)}" opacity=".8"/>`;
  if (press > 0) {
    s += `<path d="${smooth(l.upperOuter, false)}${smooth(l.lowerOuter, false)}" fill="none" stroke="${c.highlight}" stroke-width="2" opacity="${f(0.3 * press)}"/>`;
  }
  let creases = '';
  for (const side of SIDES) {
    const sx = sign(side);
    const k = m.corners[side];
    creases += `<circle cx="${f(k.x + sx * 0.8)}" cy="${f(k.y)}" r="1.6" fill="${c.deep}" opacity=".45"/>`;
    const nl = g.nasolabial[side];
    const start = { x: sx * 15, y: 23 - g.nostrilLift };
    const end = { x: k.x + sx * 6, y: k.y + 9 };
    const ctl = { x: sx * (Math.abs(k.x) + 7), y: (start.y + k.y) / 2 - 2 };
    creases += softLine(`M${pt(start)}Q${pt(ctl)} ${pt(end)}`, c.crease, 2, 0.2 + 0.6 * nl);
    creases += `<path d="M${f(start.x + sx * 3)} ${f(start.y + 1)}Q${f(ctl.x + sx * 4)} ${f(ctl.y)} ${f(end.x + sx * 4)} ${f(end.y - 2)}" fill="none" stroke="${c.highlight}" stroke-width="3" opacity="${f(0.25 * nl)}"/>`;
    const d = g.dimple[side];
    if (d > 0) {
      creases += softLine(
        `M${f(k.x + sx * 3.5)} ${f(k.y - 4)}q${f(sx * 2)} 4 ${f(sx * 0.5)} 8`,
        c.crease,
        1.6,
        0.75 * d,
      );
    }
  }
  const sulcusY = m.lowerLipBottom + 7 + 0.5 * g.jawDrop;
  creases += softLine(
    `M-10 ${f(sulcusY)}Q0 ${f(sulcusY - 3 - 2 * g.chinBoss)} 10 ${f(sulcusY)}`,
    c.crease,
    1.6,
    0.25 + 0.4 * g.chinBoss,
  );
  if (g.chinBoss > 0) {
    const cy = c.shape.chinY + g.jawDrop - 16 - 3 * g.chinBoss;
    creases += soft(0, cy, 13, 8, 'sgH', 0.45 * g.chinBoss);
    for (const [dx, dy] of [
      [-5, -2],
      [4, -3],
      [0, 2],
      [-3, 5],
      [5, 4],
    ] as const) {
      creases += `<circle cx="${dx}" cy="${f(cy + dy)}" r="1.3" fill="${c.crease}" opacity="${f(0.35 * g.chinBoss)}"/>`;
    }
  }
  s += creases;
  return s;
}
