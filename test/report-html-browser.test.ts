import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../infra/paths';
import { ShardPreviewSchema } from '../report';
import { runKeys } from '../run/layout';
import { ensureChromium, openInChromium } from './support/browser';
import { type InProcessFarm, startFarm, TEST_TIMEOUTS, testSpec, uniqueId } from './support/farm';
import { stackEnv } from './support/stack';

/**
 * A real run on the test stack writes previews at every commit and report.html when it
 * completes; the page, downloaded from S3 as a person would, must render in a real browser.
 */
describe('report.html in headless Chromium', () => {
  let farm: InProcessFarm;
  beforeAll(async () => {
    ensureChromium();
    farm = await startFarm();
  });
  afterAll(async () => {
    await farm?.stop();
  });

  it('a completed run’s report.html loads without console errors, every image decodes, and it is not blank', async () => {
    const spec = testSpec({
      runId: uniqueId('html'),
      // Rejects (and, with a single deficit round, maybe a shortfall) so the reject sheet has tiles.
      filter: { testRejectFraction: 0.4, maxRounds: 1 },
    });
    await farm.client.launch(spec, { timeouts: TEST_TIMEOUTS });
    const result = await farm.client.client.workflow.getHandle(spec.runId).result();
    expect(result.rejectsByReason['load-test']).toBeGreaterThan(0);

    const store = farm.client.store(spec.output);
    const keys = runKeys(spec.runId);
    // Every committed shard left a preview with its commit time (staging is gone by now).
    for (let shard = 0; shard < spec.shardCount; shard++) {
      const preview = ShardPreviewSchema.parse(
        JSON.parse(Buffer.from(await store.get(keys.shardPreview(shard))).toString()),
      );
      expect(preview.kept.length).toBeGreaterThan(0);
      expect(Date.parse(preview.committedAt)).not.toBeNaN();
    }
    // Written at completion; `synfarm report --html` (the real CLI) writes it again from the objects.
    expect(await store.head(keys.reportHtml)).not.toBeNull();
    await store.delete(keys.reportHtml);
    const cli = await promisify(execFile)(
      process.execPath,
      [
        path.join(PROJECT_ROOT, 'bin', 'synfarm.mjs'),
        'report',
        spec.runId,
        '--html',
        '--output',
        spec.output,
      ],
      { env: { ...process.env, ...stackEnv() } },
    );
    expect(cli.stdout).toContain(`run ${spec.runId}: ${spec.shardCount} shards committed`);
    expect(cli.stderr).toContain(`report.html: ${spec.output}/${spec.runId}/report.html`);
    const html = Buffer.from(await store.get(keys.reportHtml)).toString('utf8');
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'synfarm-report-')), 'report.html');
    writeFileSync(file, html);

    const seen = await openInChromium(file);
    expect(seen.consoleErrors).toEqual([]);
    expect(seen.outsideRequests).toEqual([]);
    // Kept thumbnails for the 8 classes plus at least one reject.
    expect(seen.images.length).toBeGreaterThan(8);
    expect(seen.images.filter((i) => !i.complete || i.naturalWidth === 0)).toEqual([]);
    expect(html).toContain('<section id="rejects">');
    expect(html).toContain('load-test');
    // The run recorded its per-class shortfall (class quotas): the page shows that, not a derivation.
    expect(html).toContain('Shortfall per class as the run recorded it');

    const { width, height } = await sharp(seen.screenshot).metadata();
    const { channels } = await sharp(seen.screenshot).stats();
    expect(width).toBe(1280);
    expect(height).toBeGreaterThan(900);
    // A blank (or all-one-colour) page has no variance; charts, text and thumbnails have plenty.
    for (const c of channels.slice(0, 3)) expect(c.stdev).toBeGreaterThan(20);
  }, 300_000);
});
