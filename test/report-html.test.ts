import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { ENTROPY_BINS, reportFromSidecars } from '../report';
import { renderReportHtml } from '../report/html';
import type { ReportPage } from '../report/page';
import { collectReportPage, pickThumbnails, shortfallByClass, writeRunReports } from '../report/page-io';
import {
  PreviewCollector,
  previewQuota,
  SHEET_PER_GROUP,
  type ShardPreview,
  ShardPreviewSchema,
  THUMB_PX,
} from '../report/preview';
import { runKeys } from '../run/layout';
import type { Sidecar } from '../run/sidecar';
import { resolveSpec, specToJson } from '../spec';
import { openStore } from '../storage';

/** A real JPEG: a face-sized colour patch, different per seed. */
async function image(seed: number): Promise<Uint8Array> {
  return sharp({
    create: {
      width: 224,
      height: 224,
      channels: 3,
      background: { r: (seed * 53) % 256, g: (seed * 97) % 256, b: (seed * 31) % 256 },
    },
  })
    .jpeg()
    .toBuffer();
}

const sample = (key: string, intended: number, calibrated: number | null, reasons: string[] = []) => ({
  key,
  intended,
  calibrated,
  confidence: 0.8,
  reasons,
  jpeg: Buffer.from(key).toString('base64'),
});

describe('shard previews (thumbnails kept at commit)', () => {
  it('keeps the first N committed per calibrated class and the first N rejects per reason, in offer order', async () => {
    const c = new PreviewCollector(2);
    const offers: [string, number, number | null, string[]][] = [
      ['000000_000000', 1, 1, []],
      ['000000_000001', 2, 1, []],
      ['000000_000002', 1, 1, []], // third happy: over quota
      ['000000_000003', 7, null, ['no-face']],
      ['000000_000004', 7, 1, ['low-confidence', 'disagrees-with-intended']],
      ['000000_000005', 6, null, ['no-face']],
      ['000000_000006', 6, null, ['no-face']], // third no-face: over quota
      ['000000_000007', 5, 0, ['disagrees-with-intended']],
      ['000000_000008', 5, 0, ['disagrees-with-intended']], // both reasons full
    ];
    for (const [i, [key, intended, calibrated, reasons]] of offers.entries())
      await c.offer({ key, bytes: await image(i), intended, calibrated, confidence: 0.5, reasons });
    const p = ShardPreviewSchema.parse(c.build(3, 64, new Date('2026-01-02T03:04:05Z')));
    expect(p.kept.map((s) => s.key)).toEqual(['000000_000000', '000000_000001']);
    expect(p.rejects.map((s) => s.key)).toEqual([
      '000000_000003',
      '000000_000004',
      '000000_000005',
      '000000_000007',
    ]);
    expect(p.committedAt).toBe('2026-01-02T03:04:05.000Z');
    const meta = await sharp(Buffer.from(p.kept[0]!.jpeg, 'base64')).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['jpeg', THUMB_PX, THUMB_PX]);
  });

  it('an image that cannot be decoded is kept without a thumbnail, not dropped', async () => {
    const c = new PreviewCollector(1);
    await c.offer({
      key: 'k',
      bytes: new Uint8Array([1, 2, 3]),
      intended: 0,
      calibrated: null,
      confidence: 0,
      reasons: ['decode-error'],
    });
    expect(c.build(0, 0, new Date()).rejects).toMatchObject([{ key: 'k', jpeg: '' }]);
  });

  it('takes more per shard from small runs so their sheets fill, one per group from large runs', () => {
    expect(previewQuota(1)).toBe(4);
    expect(previewQuota(8)).toBe(2);
    expect(previewQuota(1439)).toBe(1);
    expect(previewQuota(0)).toBe(4);
  });

  it('the page takes at most SHEET_PER_GROUP thumbnails per class and per reason, in shard order', () => {
    const previews: (ShardPreview | undefined)[] = Array.from({ length: 20 }, (_, shard) => ({
      format: 'synfarm-preview-v1' as const,
      shard,
      committedAt: '2026-01-01T00:00:00.000Z',
      samples: 4,
      kept: [sample(`${shard}-a`, 1, 1), sample(`${shard}-b`, 2, 2)],
      rejects: [sample(`${shard}-r`, 3, null, ['no-face'])],
    }));
    previews[1] = undefined;
    const { kept, rejects } = pickThumbnails(previews);
    expect(kept.filter((s) => s.calibrated === 1)).toHaveLength(SHEET_PER_GROUP);
    expect(kept[2]!.key).toBe('2-a');
    expect(rejects).toHaveLength(SHEET_PER_GROUP);
    expect(rejects.at(-1)!.key).toBe(`${SHEET_PER_GROUP}-r`);
  });
});

describe('shortfall by class', () => {
  const side = (shortfall?: number[]) =>
    ({ shard: 0, ...(shortfall ? { classShortfall: shortfall } : {}) }) as unknown as Sidecar;
  it('sums what the sidecars recorded when every one has it', () => {
    const r = shortfallByClass(
      [side([0, 1, 0, 0, 0, 0, 0, 2]), side([0, 0, 0, 0, 0, 3, 0, 1])],
      new Array(8).fill(16),
      new Array(8).fill(16),
    );
    expect(r).toEqual({ counts: [0, 1, 0, 0, 0, 3, 0, 3], source: 'recorded' });
  });
  it('else derives it: requested minus delivered where positive (a surplus is not a shortfall)', () => {
    const r = shortfallByClass(
      [side([0, 0, 0, 0, 0, 0, 0, 9]), side()],
      [8, 8, 8, 8, 8, 8, 8, 8],
      [20, 8, 8, 8, 8, 5, 8, 1],
    );
    expect(r).toEqual({ counts: [0, 0, 0, 0, 0, 3, 0, 7], source: 'derived' });
  });
});

function pageFixture(overrides: Partial<ReportPage> = {}): ReportPage {
  const confusion = Array.from({ length: 8 }, (_, i) =>
    Array.from({ length: 8 }, (_, j) => (i === j ? 9 : 1)),
  );
  const report = reportFromSidecars('run<x>', [
    {
      format: 'synfarm-shard-v1',
      runId: 'run<x>',
      shard: 0,
      tar: 'shard-000000.tar',
      samples: 60,
      bytes: 1,
      sha256: '0'.repeat(64),
      planned: 64,
      shortfall: 4,
      rounds: 2,
      classHistogram: [10, 10, 10, 10, 8, 6, 4, 2],
      rejectsByReason: { 'no-face': 3, 'weird<reason>': 1 },
      keys: { first: null, last: null },
      quality: {
        generated: 128,
        faceDetected: 125,
        noFace: 3,
        confusion,
        unlabeled: [0, 0, 0, 0, 0, 0, 0, 3],
        entropyBins: new Array<number>(ENTROPY_BINS).fill(5),
        bySkinTone: {
          generated: [20, 20, 22, 22, 22, 22],
          correct: [18, 17, 16, 15, 11, 9],
          committed: [11, 11, 10, 10, 9, 9],
        },
      },
    },
  ]);
  return {
    runId: 'run<x>',
    generatedAt: '2026-01-01T00:10:00.000Z',
    state: 'running',
    plannedShards: 2,
    plannedSamples: 128,
    report,
    requestedByClass: [8, 8, 8, 8, 8, 8, 8, 8],
    shortfallByClass: { counts: [0, 0, 0, 0, 0, 2, 4, 6], source: 'derived' },
    commits: [
      { shard: 0, at: '2026-01-01T00:00:00.000Z', samples: 60 },
      { shard: 1, at: '2026-01-01T00:02:30.000Z', samples: 64 },
    ],
    kept: [sample('000000_000000', 1, 1), sample('000000_000001', 2, 1)],
    rejects: [
      sample('000000_000009', 7, null, ['no-face', 'weird<reason>']),
      { ...sample('bad', 0, null, ['no-face']), jpeg: '' },
    ],
    shardsWithoutPreview: 0,
    ...overrides,
  };
}

describe('report.html (pure rendering)', () => {
  const html = renderReportHtml(pageFixture());

  it('is one self-contained page: no script, no external stylesheet, font or image', () => {
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|@import|@font-face|url\(/i);
    // Every src is a data: URI; the only URL is SVG's namespace name, which is never fetched.
    for (const m of html.matchAll(/\bsrc="([^"]*)"/g)) expect(m[1]).toMatch(/^data:image\/jpeg;base64,/);
    expect([...html.matchAll(/https?:\/\/[^"\s<]*/g)].map((m) => m[0])).toEqual(
      Array(html.match(/<svg /g)!.length).fill('http://www.w3.org/2000/svg'),
    );
  });

  it('escapes run ids and reasons', () => {
    expect(html).not.toContain('run<x>');
    expect(html).toContain('run&lt;x&gt;');
    expect(html).toContain('weird&lt;reason&gt;');
  });

  it('shows every section: class mix, shortfall, confusion heatmap, FER accuracy, entropy, throughput, sheets', () => {
    for (const id of ['mix', 'labels', 'throughput', 'samples', 'rejects'])
      expect(html).toContain(`<section id="${id}">`);
    for (const title of [
      'committed class mix against requested',
      'shortfall by class',
      'confusion matrix, intended against calibrated',
      'FER accuracy per class',
      'soft-label entropy of committed samples',
      'committed samples over time',
    ])
      expect(html).toContain(`aria-label="${title}"`);
    // 8 x 8 cells plus the no-label column; contempt: 9 + 7 + 3 no label = 19.
    const heat = html.slice(
      html.indexOf('aria-label="confusion matrix'),
      html.indexOf('</svg>', html.indexOf('aria-label="confusion matrix')),
    );
    expect(heat.match(/<rect /g)).toHaveLength(8 * 9);
    expect(heat).toContain('intended contempt → no label: 3 (15.8% of the row)');
    // By planned skin tone: generated, committed, share of committed, FER accuracy.
    expect(html).toContain(
      '<tr><td>6 dark brown skin</td><td>22</td><td>9</td><td>15.0%</td><td>40.9%</td></tr>',
    );
    // 124 samples over 2.5 min, the rate counted after the first commit.
    expect(html).toContain('26 samples/min between the first and the last commit (2.5 min, 2 shards)');
  });

  it('a tile per thumbnail with calibrated label, confidence and intended class; a mismatch is marked', () => {
    expect(html.match(/<img /g)).toHaveLength(2 + 2);
    expect(html).toMatch(
      /<b style="color:#d97706">happy<\/b> 0\.80<br><span class="miss">✗ intended sad<\/span>/,
    );
    expect(html).toMatch(
      /<b style="color:#d97706">happy<\/b> 0\.80<br><span class="ok">✓ intended happy<\/span>/,
    );
    // A reject with two reasons is under both; one without a thumbnail gets an empty tile.
    expect(html.match(/title="000000_000009"/g)).toHaveLength(2);
    expect(html).toContain('aria-label="bad: not decodable"');
  });

  it('marks classes that came up short, and says where the per-class shortfall came from', () => {
    expect(html).toContain('<td class="short">6</td>');
    expect(html).toContain('This run did not record shortfall per class');
    const recorded = renderReportHtml(
      pageFixture({ shortfallByClass: { counts: new Array(8).fill(0), source: 'recorded' } }),
    );
    expect(recorded).toContain('as the run recorded it');
    expect(recorded).not.toContain('class="short"');
  });

  it('says when shards lack previews, and when nothing was committed yet', () => {
    expect(renderReportHtml(pageFixture({ shardsWithoutPreview: 3 }))).toContain(
      '3 shard(s) were committed without a preview',
    );
    const empty = renderReportHtml(
      pageFixture({ commits: [], kept: [], rejects: [], report: reportFromSidecars('e', []) }),
    );
    expect(empty).toContain('No commit times recorded');
    expect(empty).toContain('Nothing was rejected.');
  });
});

describe('report.html from a run’s stored objects', () => {
  it('reads spec, committed sidecars and previews; writes report.json and report.html beside the manifest', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-report-html-'));
    const store = openStore(pathToFileURL(dir).href);
    const spec = resolveSpec({ runId: 'pages', target: 48, shardSize: 16, output: pathToFileURL(dir).href });
    const keys = runKeys('pages');
    await store.put(keys.spec, specToJson(spec));
    const sidecars: Sidecar[] = [0, 1].map((shard) => ({
      format: 'synfarm-shard-v1',
      runId: 'pages',
      shard,
      tar: `shard-00000${shard}.tar`,
      samples: 14,
      bytes: 10,
      sha256: '0'.repeat(64),
      planned: 16,
      shortfall: 2,
      rounds: 1,
      classHistogram: [7, 7, 0, 0, 0, 0, 0, 0],
      rejectsByReason: { 'no-face': 2 },
      keys: { first: null, last: null },
    }));
    for (const s of sidecars) {
      await store.put(keys.shardTar(s.shard), new Uint8Array(s.bytes));
      await store.put(keys.shardSidecar(s.shard), JSON.stringify(s));
    }
    // Shard 0 has a preview; shard 1 was committed before previews existed.
    const c = new PreviewCollector(2);
    await c.offer({
      key: '000000_000000',
      bytes: await image(1),
      intended: 0,
      calibrated: 0,
      confidence: 0.9,
      reasons: [],
    });
    await c.offer({
      key: '000000_000003',
      bytes: await image(2),
      intended: 1,
      calibrated: null,
      confidence: 0,
      reasons: ['no-face'],
    });
    await store.put(keys.shardPreview(0), JSON.stringify(c.build(0, 14, new Date('2026-01-01T00:00:00Z'))));

    const { report, htmlKey } = await writeRunReports(store, 'pages', { html: true });
    expect(report.committedSamples).toBe(28);
    expect(htmlKey).toBe('pages/report.html');
    expect(await store.head(keys.report)).not.toBeNull();
    const html = Buffer.from(await store.get(htmlKey!)).toString('utf8');
    expect(html.match(/<img /g)).toHaveLength(2);

    const page = await collectReportPage(store, 'pages', undefined, new Date('2026-01-01T01:00:00Z'));
    expect(page.state).toBe('running'); // 2 of 3 shards
    expect(page.plannedShards).toBe(3);
    // The plan's round-0 class counts over the two committed shards: 32 samples over 8 classes.
    expect(page.requestedByClass.reduce((a, b) => a + b, 0)).toBe(32);
    expect(page.shortfallByClass.counts.slice(2).every((n, i) => n === page.requestedByClass[i + 2])).toBe(
      true,
    );
    expect(page.commits).toEqual([{ shard: 0, at: '2026-01-01T00:00:00.000Z', samples: 14 }]);
    expect(page.shardsWithoutPreview).toBe(1);
    expect(page.kept.map((s) => s.key)).toEqual(['000000_000000']);
    expect(page.rejects.map((s) => s.reasons)).toEqual([['no-face']]);
  });
});
