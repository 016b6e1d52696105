import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { PROJECT_ROOT } from '../../infra/paths';

export const CHROMIUM = process.env.SYNFARM_CHROMIUM ?? '/usr/bin/chromium';

/** Debian's chromium, installed by the project's own script when missing (never skipped). */
export function ensureChromium(): void {
  execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'ensure-chromium.sh')], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, SYNFARM_CHROMIUM: CHROMIUM },
  });
}

export interface PageCheck {
  consoleErrors: string[];
  /** Requests for anything but the page itself and data: URIs (the page must need no network). */
  outsideRequests: string[];
  images: { alt: string; complete: boolean; naturalWidth: number }[];
  /** Full-page PNG. */
  screenshot: Buffer;
}

/**
 * Opens an HTML file in headless Chromium (a fresh profile, no network services) and reports
 * what a person would see go wrong: console errors, failed images, outside requests.
 */
export async function openInChromium(
  htmlFile: string,
  viewport = { width: 1280, height: 900 },
  options: { fullPage?: boolean } = {},
): Promise<PageCheck> {
  const profile = mkdtempSync(path.join(tmpdir(), 'synfarm-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    const outsideRequests: string[] = [];
    const url = pathToFileURL(htmlFile).href;
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      if (r.url() !== url && !r.url().startsWith('data:')) outsideRequests.push(r.url());
    });
    await page.goto(url, { waitUntil: 'load' });
    const images = await page.$$eval('img', (imgs) =>
      imgs.map((i) => ({ alt: i.alt, complete: i.complete, naturalWidth: i.naturalWidth })),
    );
    const screenshot = await page.screenshot({ fullPage: options.fullPage ?? true, type: 'png' });
    return { consoleErrors, outsideRequests, images, screenshot };
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}
