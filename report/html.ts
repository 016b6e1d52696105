import { AFFECTNET_CLASSES } from '../plan/expressions';
import { SKIN_TONE_WORDS } from '../plan/prompt';
import { barChart, cumulativeChart, esc, heatmap } from './charts';
import type { ReportPage } from './page';
import { type PreviewSample, SHEET_PER_GROUP } from './preview';

/** One colour per class, AffectNet order, used for every class label on the page. */
export const CLASS_COLORS = [
  '#6b7280',
  '#d97706',
  '#2563eb',
  '#9333ea',
  '#0d9488',
  '#65a30d',
  '#dc2626',
  '#db2777',
] as const;

/** SynFER's FER accuracy on its generated data (He et al., Table 1): the reference line. */
const SYNFER_GENERATED_ACCURACY = 0.551;

const share = (n: number, d: number) => (d > 0 ? n / d : null);
const pct = (x: number | null | undefined, digits = 1) =>
  x === null || x === undefined ? 'n/a' : `${(100 * x).toFixed(digits)}%`;
const int = (n: number) => n.toLocaleString('en-US');
const className = (c: number | null) => (c === null ? 'no label' : (AFFECTNET_CLASSES[c] ?? `class ${c}`));
const classChip = (c: number | null) =>
  `<b style="color:${c === null ? '#6b7280' : (CLASS_COLORS[c] ?? '#111827')}">${esc(className(c))}</b>`;

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#111827;background:#f3f4f6}
header{background:#111827;color:#f9fafb;padding:18px 28px}
header h1{margin:0 0 4px;font-size:22px}
header .sub{color:#9ca3af;font-size:13px}
nav{padding:8px 28px;background:#1f2937;font-size:13px}
nav a{color:#93c5fd;margin-right:16px;text-decoration:none}
main{padding:18px 28px;max-width:1320px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:18px}
.card{flex:1 1 130px;background:#fff;border-radius:8px;padding:10px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.card .k{font-size:12px;color:#6b7280}.card .v{font-size:22px;font-weight:600}
.card .n{font-size:12px;color:#6b7280}
section{margin-bottom:26px}
h2{font-size:18px;margin:0 0 10px;border-bottom:1px solid #d1d5db;padding-bottom:4px}
h3{font-size:15px;margin:14px 0 6px}
.grid{display:flex;flex-wrap:wrap;gap:16px}
.panel{background:#fff;border-radius:8px;padding:12px 14px;box-shadow:0 1px 2px rgba(0,0,0,.08)}
.panel h3{margin-top:0}
.note{font-size:12px;color:#4b5563;max-width:520px}
.warn{background:#fef3c7;border:1px solid #f59e0b;border-radius:6px;padding:8px 12px;margin-bottom:12px}
table{border-collapse:collapse;font-size:13px}
th,td{padding:3px 10px;text-align:right;border-bottom:1px solid #e5e7eb}
th:first-child,td:first-child{text-align:left}
td.short{color:#b91c1c;font-weight:600}
.sheet{display:flex;flex-wrap:wrap;gap:6px}
figure{margin:0;width:92px;background:#fff;border-radius:6px;padding:5px;box-shadow:0 1px 2px rgba(0,0,0,.1);font-size:11px;line-height:1.3}
figure img,figure .noimg{display:block;width:82px;height:82px;border-radius:4px;background:#e5e7eb}
figcaption{margin-top:4px;overflow:hidden}
.ok{color:#15803d}.miss{color:#b91c1c}.muted{color:#6b7280}
svg .ax{font-size:11px;fill:#374151}svg .val{font-size:9px;fill:#111827}svg .cell{font-size:12px}
svg .ref{font-size:11px;font-weight:600}
`;

function card(key: string, value: string, note = ''): string {
  return `<div class="card"><div class="k">${esc(key)}</div><div class="v">${esc(value)}</div>${note ? `<div class="n">${esc(note)}</div>` : ''}</div>`;
}

function summary(p: ReportPage): string {
  const r = p.report;
  const requested = p.requestedByClass.reduce((a, b) => a + b, 0);
  const classShort = p.shortfallByClass.counts.reduce((a, b) => a + b, 0);
  return `<div class="cards">${[
    card('shards committed', `${int(r.shards)} / ${int(p.plannedShards)}`, p.state),
    card('samples committed', int(r.committedSamples), `of ${int(requested)} requested in those shards`),
    card(
      'shortfall',
      int(r.shortfall),
      `samples; by class: ${int(classShort)} (${p.shortfallByClass.source})`,
    ),
    card(
      'FER accuracy',
      pct(r.ferAccuracy.overall),
      `calibrated = intended, ${int(r.generatedSamples)} generated`,
    ),
    card('face detected', pct(r.faceDetectionRate)),
    card(
      'reject reasons',
      int(Object.values(r.rejectsByReason).reduce((a, b) => a + b, 0)),
      'given; a sample may have several',
    ),
    card('guided deficit rounds', int(r.guidanceRounds)),
  ].join('')}</div>`;
}

function warnings(p: ReportPage): string {
  const out: string[] = [];
  if (p.report.shardsWithoutQuality.length > 0)
    out.push(
      `${p.report.shardsWithoutQuality.length} shard(s) have no quality aggregates (older sidecars) and are not in the label figures.`,
    );
  if (p.shardsWithoutPreview > 0)
    out.push(
      `${p.shardsWithoutPreview} shard(s) were committed without a preview: no thumbnails or commit time from them.`,
    );
  return out.map((w) => `<div class="warn">${esc(w)}</div>`).join('');
}

function classMix(p: ReportPage): string {
  const delivered = p.report.committedClassHistogram;
  const reqTotal = p.requestedByClass.reduce((a, b) => a + b, 0);
  const delTotal = delivered.reduce((a, b) => a + b, 0);
  const mix = barChart({
    title: 'committed class mix against requested',
    categories: AFFECTNET_CLASSES,
    series: [
      { name: 'requested', color: '#9ca3af', values: p.requestedByClass.map((n) => share(n, reqTotal)) },
      {
        name: 'delivered (calibrated label)',
        color: '#2563eb',
        values: AFFECTNET_CLASSES.map((_, c) => share(delivered[c] ?? 0, delTotal)),
      },
    ],
    format: (v) => pct(v, 0),
    labelFormat: (v) => pct(v, 1),
  });
  const shortfall = barChart({
    title: 'shortfall by class',
    categories: AFFECTNET_CLASSES,
    series: [{ name: 'shortfall', color: '#dc2626', values: p.shortfallByClass.counts }],
    format: (v) => int(Math.round(v)),
  });
  const rows = AFFECTNET_CLASSES.map((name, c) => {
    const req = p.requestedByClass[c] ?? 0;
    const del = delivered[c] ?? 0;
    const short = p.shortfallByClass.counts[c] ?? 0;
    return `<tr><td>${classChip(c)}</td><td>${int(req)}</td><td>${int(del)}</td><td>${pct(share(del, delTotal))}</td><td class="${short > 0 ? 'short' : ''}">${int(short)}</td><td>${pct(p.report.ferAccuracy.perClass[name])}</td></tr>`;
  }).join('');
  const source =
    p.shortfallByClass.source === 'recorded'
      ? 'Shortfall per class as the run recorded it in its sidecars (class quotas, by the spec’s balanceBy label).'
      : 'This run did not record shortfall per class: shown is requested minus delivered (by calibrated label) where positive.';
  return `<section id="mix"><h2>Class mix</h2><div class="grid">
<div class="panel"><h3>Committed mix against requested</h3>${mix}<p class="note">Share of committed samples per class by calibrated label, next to the share the spec asked for.</p></div>
<div class="panel"><h3>Shortfall by class</h3>${shortfall}<p class="note">${esc(source)}</p></div>
<div class="panel"><h3>Per class</h3><table><thead><tr><th>class</th><th>requested</th><th>delivered</th><th>share</th><th>shortfall</th><th>FER acc.</th></tr></thead><tbody>${rows}</tbody></table></div>
</div></section>`;
}

function labels(p: ReportPage): string {
  const r = p.report;
  const acc = barChart({
    title: 'FER accuracy per class',
    categories: AFFECTNET_CLASSES,
    series: [
      {
        name: 'FER accuracy',
        color: '#0d9488',
        values: AFFECTNET_CLASSES.map((name) => r.ferAccuracy.perClass[name] ?? null),
      },
    ],
    max: 1,
    format: (v) => pct(v, 0),
    refLines: [
      ...(r.ferAccuracy.overall === null
        ? []
        : [
            {
              value: r.ferAccuracy.overall,
              label: `overall ${pct(r.ferAccuracy.overall)}`,
              color: '#1d4ed8',
            },
          ]),
      { value: SYNFER_GENERATED_ACCURACY, label: 'SynFER generated 55.1%', color: '#ea580c' },
    ],
  });
  const confusion = heatmap({
    title: 'confusion matrix, intended against calibrated',
    rows: r.confusion.classes,
    cols: r.confusion.classes,
    matrix: r.confusion.matrix,
    extra: { name: 'no label', values: r.confusion.unlabeled },
  });
  const edges = r.entropy.edges;
  const entropy = barChart({
    title: 'soft-label entropy of committed samples',
    categories: r.entropy.counts.map((_, i) => (edges[i] ?? 0).toFixed(2)),
    series: [{ name: 'samples', color: '#7c3aed', values: r.entropy.counts }],
    format: (v) => int(Math.round(v)),
    width: 560,
  });
  return `<section id="labels"><h2>Labels</h2><div class="grid">
<div class="panel"><h3>Confusion matrix (every generated sample)</h3>${confusion}</div>
<div class="panel"><h3>FER accuracy per class</h3>${acc}<p class="note">SynFER's metric: the share of generated samples whose calibrated class is the intended one; a sample without a face counts as a miss. Dashed: this run overall, and SynFER's figure for its generated data.</p>
<h3>Soft-label entropy (committed samples)</h3>${entropy}<p class="note">Bits, over [0, ${(edges.at(-1) ?? 3).toFixed(2)}]; bars labelled by their lower edge. Low: confident one-hot targets; high: the ensemble spread its vote.</p></div>
${skinTones(r)}</div></section>`;
}

function skinTones(r: ReportPage['report']): string {
  const t = r.bySkinTone;
  if (!t) return '';
  const committed = t.committed.reduce((a, b) => a + b, 0);
  const rows = t.tones
    .map(
      (tone, i) =>
        `<tr><td>${tone} ${esc(SKIN_TONE_WORDS[tone] ?? '')}</td><td>${int(t.generated[i] ?? 0)}</td><td>${int(t.committed[i] ?? 0)}</td><td>${pct(share(t.committed[i] ?? 0, committed))}</td><td>${pct(t.ferAccuracy[i] ?? null)}</td></tr>`,
    )
    .join('');
  return `<div class="panel"><h3>By planned skin tone</h3><table><thead><tr><th>skin tone</th><th>generated</th><th>committed</th><th>share</th><th>FER acc.</th></tr></thead><tbody>${rows}</tbody></table><p class="note">Expressions can read worse on some skin tones, and filters and class quotas act on labels, so the committed mix can drift from the planned one.</p></div>`;
}

function throughput(p: ReportPage): string {
  const points: { at: number; value: number }[] = [];
  let total = 0;
  for (const c of p.commits) {
    total += c.samples;
    points.push({ at: Date.parse(c.at), value: total });
  }
  if (points.length === 0)
    return `<section id="throughput"><h2>Throughput</h2><p class="note">No commit times recorded (no previews).</p></section>`;
  const spanMin = ((points.at(-1)?.at ?? 0) - (points[0]?.at ?? 0)) / 60_000;
  const firstSamples = p.commits[0]?.samples ?? 0;
  const rate =
    points.length > 1 && spanMin > 0
      ? `${int(Math.round((total - firstSamples) / spanMin))} samples/min between the first and the last commit (${spanMin.toFixed(1)} min, ${points.length} shards)`
      : 'one commit so far: no rate yet';
  const chart = cumulativeChart({
    title: 'committed samples over time',
    points,
    format: (v) => int(Math.round(v)),
    width: 640,
  });
  const firstAt = p.commits[0]?.at ?? '';
  return `<section id="throughput"><h2>Throughput</h2><div class="panel"><h3>Committed samples over time</h3>${chart}<p class="note">${esc(rate)}. One dot per committed shard, at its commit time; the first at ${esc(firstAt)}.</p></div></section>`;
}

function tile(s: PreviewSample, body: string): string {
  const img = s.jpeg
    ? `<img src="data:image/jpeg;base64,${s.jpeg}" width="82" height="82" alt="${esc(s.key)}">`
    : `<div class="noimg" role="img" aria-label="${esc(s.key)}: not decodable"></div>`;
  return `<figure title="${esc(s.key)}">${img}<figcaption>${body}</figcaption></figure>`;
}

function keptSheets(p: ReportPage): string {
  const delivered = p.report.committedClassHistogram;
  const total = delivered.reduce((a, b) => a + b, 0);
  const blocks = AFFECTNET_CLASSES.map((name, c) => {
    const mine = p.kept.filter((s) => (s.calibrated ?? s.intended) === c).slice(0, SHEET_PER_GROUP);
    if (mine.length === 0 && (delivered[c] ?? 0) === 0) return '';
    const tiles = mine
      .map((s) => {
        const match = s.intended === c;
        return tile(
          s,
          `${classChip(c)} ${s.confidence.toFixed(2)}<br><span class="${match ? 'ok' : 'miss'}">${match ? '✓' : '✗'} intended ${esc(className(s.intended))}</span>`,
        );
      })
      .join('');
    return `<h3>${classChip(c)} <span class="muted">· ${int(delivered[c] ?? 0)} committed (${pct(total > 0 ? (delivered[c] ?? 0) / total : null)}) · FER accuracy ${pct(p.report.ferAccuracy.perClass[name])}</span></h3><div class="sheet">${tiles || '<span class="muted">no thumbnails</span>'}</div>`;
  }).join('');
  return `<section id="samples"><h2>Committed samples by calibrated class</h2><p class="note">Each tile: calibrated label and confidence, then the class the sample was generated for (✓ when they agree). The first samples in planned order of the first shards.</p>${blocks}</section>`;
}

function rejectSheets(p: ReportPage): string {
  const reasons = Object.entries(p.report.rejectsByReason).sort(
    (a, b) => b[1] - a[1] || a[0].localeCompare(b[0]),
  );
  if (reasons.length === 0)
    return `<section id="rejects"><h2>Rejects by reason</h2><p class="note">Nothing was rejected.</p></section>`;
  const generated = p.report.generatedSamples;
  const blocks = reasons
    .map(([reason, n]) => {
      const mine = p.rejects.filter((s) => s.reasons.includes(reason)).slice(0, SHEET_PER_GROUP);
      const tiles = mine
        .map((s) => {
          const others = s.reasons.filter((r) => r !== reason);
          return tile(
            s,
            `${classChip(s.calibrated)} ${s.calibrated === null ? '' : s.confidence.toFixed(2)}<br>intended ${esc(className(s.intended))}${others.length > 0 ? `<br><span class="muted">also ${esc(others.join(', '))}</span>` : ''}`,
          );
        })
        .join('');
      return `<h3>${esc(reason)} <span class="muted">· ${int(n)}${generated > 0 ? ` (${pct(n / generated)} of generated)` : ''}</span></h3><div class="sheet">${tiles || '<span class="muted">no thumbnails</span>'}</div>`;
    })
    .join('');
  return `<section id="rejects"><h2>Rejects by reason</h2><p class="note">A sample rejected for several reasons appears under each. Thumbnails were kept at commit (staging is removed after it).</p>${blocks}</section>`;
}

/** report.html: one self-contained page (inline CSS and SVG, thumbnails as data: URIs, no script). */
export function renderReportHtml(p: ReportPage): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>synfarm report · ${esc(p.runId)}</title><style>${STYLE}</style></head>
<body><header><h1>synfarm run <code>${esc(p.runId)}</code></h1><div class="sub">${esc(p.state)} · ${int(p.plannedSamples)} samples planned in ${int(p.plannedShards)} shards · report built ${esc(p.generatedAt)}</div></header>
<nav><a href="#mix">class mix</a><a href="#labels">labels</a><a href="#throughput">throughput</a><a href="#samples">samples</a><a href="#rejects">rejects</a></nav>
<main>${warnings(p)}${summary(p)}${classMix(p)}${labels(p)}${throughput(p)}${keptSheets(p)}${rejectSheets(p)}</main>
</body></html>
`;
}
