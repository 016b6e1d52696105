/**
 * Renders a report.html in headless Chromium and writes a PNG of it (the README's picture):
 * `node --import tsx scripts/report-screenshot.ts report.html docs/report-html.png [--full]`.
 * Prints what the browser test checks, so a broken page is not photographed silently.
 */
import { writeFileSync } from 'node:fs';
import { ensureChromium, openInChromium } from '../test/support/browser';

const [input, output, ...flags] = process.argv.slice(2);
if (!input || !output) {
  process.stderr.write('usage: report-screenshot.ts <report.html> <out.png> [--full]\n');
  process.exit(2);
}
ensureChromium();
const seen = await openInChromium(
  input,
  { width: 1280, height: 900 },
  { fullPage: flags.includes('--full') },
);
writeFileSync(output, seen.screenshot);
const broken = seen.images.filter((i) => !i.complete || i.naturalWidth === 0);
process.stdout.write(
  `${JSON.stringify({ output, images: seen.images.length, broken: broken.length, consoleErrors: seen.consoleErrors, outsideRequests: seen.outsideRequests })}\n`,
);
if (broken.length > 0 || seen.consoleErrors.length > 0 || seen.outsideRequests.length > 0)
  process.exitCode = 1;
