/**
 * Inline SVG charts for report.html: pure functions from numbers to markup, no scripts, no
 * fonts beyond the system's, so the page renders the same from S3, a laptop or a test browser.
 */

export const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const r1 = (x: number) => Math.round(x * 10) / 10;

/** Round axis maximum and tick step for values up to `max`. */
export function niceScale(max: number, ticks = 4): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 0.25 };
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

export interface BarSeries {
  name: string;
  color: string;
  values: readonly (number | null)[];
}

export interface BarChartOptions {
  categories: readonly string[];
  series: readonly BarSeries[];
  format: (v: number) => string;
  /** Format of the value printed over each bar (default: `format`). */
  labelFormat?: (v: number) => string;
  /** Fixed axis top (e.g. 1 for shares); else from the data. */
  max?: number;
  refLines?: readonly { value: number; label: string; color: string }[];
  width?: number;
  height?: number;
  /** Accessible name of the chart. */
  title: string;
}

/** Grouped vertical bars with a value axis, gridlines, optional reference lines and a legend. */
export function barChart(o: BarChartOptions): string {
  const width = o.width ?? 520;
  const height = o.height ?? 240;
  const legend = o.series.length > 1 || (o.refLines?.length ?? 0) > 0;
  const m = { l: 44, r: 8, t: legend ? 26 : 12, b: 30 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const values = o.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const { top, step } =
    o.max !== undefined ? { top: o.max, step: o.max / 4 } : niceScale(Math.max(...values, 0));
  const y = (v: number) => m.t + ph - (Math.min(v, top) / top) * ph;
  const parts: string[] = [];
  for (let v = 0; v <= top + 1e-9; v += step) {
    parts.push(
      `<line x1="${m.l}" x2="${width - m.r}" y1="${r1(y(v))}" y2="${r1(y(v))}" stroke="#e5e7eb"/>`,
      `<text x="${m.l - 6}" y="${r1(y(v) + 4)}" text-anchor="end" class="ax">${esc(o.format(v))}</text>`,
    );
  }
  const gw = pw / Math.max(1, o.categories.length);
  const bw = (gw * 0.78) / Math.max(1, o.series.length);
  o.categories.forEach((cat, i) => {
    const gx = m.l + i * gw + gw * 0.11;
    o.series.forEach((s, j) => {
      const v = s.values[i];
      if (v === null || v === undefined) return;
      const x = gx + j * bw;
      parts.push(
        `<rect x="${r1(x)}" y="${r1(y(v))}" width="${r1(bw - 1)}" height="${r1(m.t + ph - y(v))}" fill="${s.color}"><title>${esc(`${cat} · ${s.name}: ${o.format(v)}`)}</title></rect>`,
      );
      if (o.series.length <= 2 && o.categories.length <= 12)
        parts.push(
          `<text x="${r1(x + bw / 2)}" y="${r1(y(v) - 3)}" text-anchor="middle" class="val">${esc((o.labelFormat ?? o.format)(v))}</text>`,
        );
    });
    parts.push(
      `<text x="${r1(m.l + i * gw + gw / 2)}" y="${height - m.b + 16}" text-anchor="middle" class="ax">${esc(cat)}</text>`,
    );
  });
  // Reference lines are named in the legend, not beside the line, where bar labels would cover them.
  let lx = m.l;
  if (o.series.length > 1)
    for (const s of o.series) {
      parts.push(
        `<rect x="${lx}" y="6" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="15" class="ax">${esc(s.name)}</text>`,
      );
      lx += 24 + s.name.length * 6.5;
    }
  for (const ref of o.refLines ?? []) {
    parts.push(
      `<line x1="${m.l}" x2="${width - m.r}" y1="${r1(y(ref.value))}" y2="${r1(y(ref.value))}" stroke="${ref.color}" stroke-dasharray="5 4" stroke-width="1.5"/>`,
      `<line x1="${lx}" x2="${lx + 18}" y1="11" y2="11" stroke="${ref.color}" stroke-dasharray="5 4" stroke-width="1.5"/><text x="${lx + 22}" y="15" class="ref" fill="${ref.color}">${esc(ref.label)}</text>`,
    );
    lx += 34 + ref.label.length * 6.5;
  }
  parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#9ca3af"/>`);
  return svg(width, height, o.title, parts);
}

function svg(width: number, height: number, title: string, parts: readonly string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>`;
}

/** White to deep blue: a cell's share of its row. */
function heat(share: number): string {
  const t = Math.max(0, Math.min(1, share)) ** 0.8;
  const mix = (a: number, b: number) => Math.round(a + (b - a) * t);
  return `rgb(${mix(248, 30)},${mix(250, 64)},${mix(252, 175)})`;
}

export interface HeatmapOptions {
  rows: readonly string[];
  cols: readonly string[];
  /** [row][col] counts. */
  matrix: readonly (readonly number[])[];
  /** An extra grey column per row (e.g. samples without a calibrated class). */
  extra?: { name: string; values: readonly number[] };
  title: string;
}

/**
 * Counts coloured by their share of the row (so each intended class reads on its own scale,
 * whatever its size), the diagonal outlined.
 */
export function heatmap(o: HeatmapOptions): string {
  const cell = 46;
  const left = 78;
  const topPad = 74;
  const ncols = o.cols.length + (o.extra ? 1 : 0);
  // Room on the right for the last column's slanted label.
  const width = left + ncols * cell + 48;
  const height = topPad + o.rows.length * cell + 22;
  const parts: string[] = [];
  const header = [...o.cols, ...(o.extra ? [o.extra.name] : [])];
  header.forEach((name, j) => {
    const x = left + j * cell + cell / 2;
    parts.push(
      `<text transform="translate(${x + 4},${topPad - 8}) rotate(-45)" class="ax">${esc(name)}</text>`,
    );
  });
  o.rows.forEach((rowName, i) => {
    const row = o.matrix[i] ?? [];
    const extra = o.extra?.values[i] ?? 0;
    const total = row.reduce((a, b) => a + b, 0) + extra;
    const y = topPad + i * cell;
    parts.push(
      `<text x="${left - 6}" y="${y + cell / 2 + 4}" text-anchor="end" class="ax">${esc(rowName)}</text>`,
    );
    const cells = [...row, ...(o.extra ? [extra] : [])];
    cells.forEach((n, j) => {
      const x = left + j * cell;
      const share = total > 0 ? n / total : 0;
      const isExtra = o.extra !== undefined && j === row.length;
      const fill = isExtra ? (n > 0 ? '#d1d5db' : '#f3f4f6') : heat(share);
      const diag = !isExtra && i === j;
      parts.push(
        `<rect x="${x}" y="${y}" width="${cell - 2}" height="${cell - 2}" fill="${fill}"${diag ? ' stroke="#111827" stroke-width="2"' : ''}><title>${esc(`intended ${rowName} → ${header[j]}: ${n} (${(100 * share).toFixed(1)}% of the row)`)}</title></rect>`,
        `<text x="${x + (cell - 2) / 2}" y="${y + cell / 2 + 3}" text-anchor="middle" class="cell" fill="${!isExtra && share > 0.5 ? '#ffffff' : '#111827'}">${n}</text>`,
      );
    });
  });
  parts.push(
    `<text x="${left}" y="${height - 6}" class="ax">rows: intended class · columns: calibrated class · colour: share of the row</text>`,
  );
  return svg(width, height, o.title, parts);
}

export interface TimePoint {
  /** Milliseconds since the epoch. */
  at: number;
  value: number;
}

/** A cumulative step line over time, with a dot per event, the x axis in minutes from the first. */
export function cumulativeChart(o: {
  points: readonly TimePoint[];
  format: (v: number) => string;
  title: string;
  width?: number;
  height?: number;
}): string {
  const width = o.width ?? 520;
  const height = o.height ?? 240;
  const m = { l: 52, r: 12, t: 12, b: 34 };
  const pw = width - m.l - m.r;
  const ph = height - m.t - m.b;
  const t0 = o.points[0]?.at ?? 0;
  const spanMin = Math.max(1 / 60, ((o.points.at(-1)?.at ?? t0) - t0) / 60_000);
  const xs = niceScale(spanMin);
  const ys = niceScale(Math.max(0, ...o.points.map((p) => p.value)));
  const x = (at: number) => m.l + ((at - t0) / 60_000 / xs.top) * pw;
  const y = (v: number) => m.t + ph - (v / ys.top) * ph;
  const parts: string[] = [];
  for (let v = 0; v <= ys.top + 1e-9; v += ys.step)
    parts.push(
      `<line x1="${m.l}" x2="${width - m.r}" y1="${r1(y(v))}" y2="${r1(y(v))}" stroke="#e5e7eb"/>`,
      `<text x="${m.l - 6}" y="${r1(y(v) + 4)}" text-anchor="end" class="ax">${esc(o.format(v))}</text>`,
    );
  for (let t = 0; t <= xs.top + 1e-9; t += xs.step) {
    const px = m.l + (t / xs.top) * pw;
    parts.push(
      `<text x="${r1(px)}" y="${height - m.b + 16}" text-anchor="middle" class="ax">${esc(formatMinutes(t))}</text>`,
    );
  }
  parts.push(
    `<text x="${width - m.r}" y="${height - 4}" text-anchor="end" class="ax">minutes since the first commit</text>`,
  );
  let d = `M${m.l},${r1(y(0))}`;
  for (const p of o.points) d += ` H${r1(x(p.at))} V${r1(y(p.value))}`;
  parts.push(`<path d="${d}" fill="none" stroke="#2563eb" stroke-width="2"/>`);
  for (const p of o.points)
    parts.push(
      `<circle cx="${r1(x(p.at))}" cy="${r1(y(p.value))}" r="3" fill="#2563eb"><title>${esc(`${new Date(p.at).toISOString()}: ${o.format(p.value)}`)}</title></circle>`,
    );
  parts.push(`<line x1="${m.l}" x2="${width - m.r}" y1="${m.t + ph}" y2="${m.t + ph}" stroke="#9ca3af"/>`);
  return svg(width, height, o.title, parts);
}

function formatMinutes(t: number): string {
  return Number.isInteger(t) ? String(t) : t.toFixed(t < 0.1 ? 2 : 1);
}
