import type { Pt } from './geometry';

/** One decimal keeps the SVG short and the output byte-stable. */
export function f(n: number): string {
  const r = Math.round(n * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

export function pt(p: Pt): string {
  return `${f(p.x)} ${f(p.y)}`;
}

/** A smooth path through every point (uniform Catmull-Rom written as cubic Béziers). */
export function smooth(points: readonly Pt[], closed: boolean): string {
  const n = points.length;
  if (n < 2) return '';
  const at = (i: number): Pt => {
    if (closed) return points[((i % n) + n) % n] as Pt;
    return points[Math.max(0, Math.min(n - 1, i))] as Pt;
  };
  let d = `M${pt(at(0))}`;
  const segments = closed ? n : n - 1;
  for (let i = 0; i < segments; i++) {
    const p0 = at(i - 1);
    const p1 = at(i);
    const p2 = at(i + 1);
    const p3 = at(i + 2);
    const c1 = { x: p1.x + (p2.x - p0.x) / 6, y: p1.y + (p2.y - p0.y) / 6 };
    const c2 = { x: p2.x - (p3.x - p1.x) / 6, y: p2.y - (p3.y - p1.y) / 6 };
    d += `C${pt(c1)} ${pt(c2)} ${pt(p2)}`;
  }
  return closed ? `${d}Z` : d;
}

/** Continues a path through more points (used to close a region along a second edge). */
export function smoothContinue(points: readonly Pt[]): string {
  const full = smooth(points, false);
  return full.replace(/^M[^C]*/, `L${pt(points[0] as Pt)}`);
}

export function mirror(points: readonly Pt[]): Pt[] {
  return points.map((p) => ({ x: -p.x, y: p.y }));
}

/** Quadratic control point so the curve passes through `mid` at t = 0.5. */
export function through(a: Pt, mid: Pt, b: Pt): Pt {
  return { x: 2 * mid.x - (a.x + b.x) / 2, y: 2 * mid.y - (a.y + b.y) / 2 };
}
