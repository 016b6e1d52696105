/**
 * Writes docs/contact-sheet.png: the 8 AffectNet classes (columns) for 4 identities (rows),
 * rendered by the procedural generator from each class's EMFACS prototype.
 * Run: npx tsx scripts/contact-sheet.ts [out.png]
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp, { type OverlayOptions } from 'sharp';
import { renderOne } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';

const CELL = 224;
const LABEL = 28;
const SEEDS = [11, 2024, 77, 4242];

async function main(): Promise<void> {
  const out = process.argv[2] ?? 'docs/contact-sheet.png';
  const width = CELL * AFFECTNET_CLASSES.length;
  const height = LABEL + CELL * SEEDS.length;
  const tiles: OverlayOptions[] = [];
  for (const [row, seed] of SEEDS.entries()) {
    for (const [col, className] of AFFECTNET_CLASSES.entries()) {
      const img = await renderOne({ className, seed: seed + col * 7919, size: CELL, format: 'png' });
      tiles.push({ input: Buffer.from(img.bytes), left: col * CELL, top: LABEL + row * CELL });
    }
  }
  const labels = AFFECTNET_CLASSES.map(
    (name, i) =>
      `<text x="${i * CELL + CELL / 2}" y="20" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-size="16" fill="#222">${i} ${name}</text>`,
  ).join('');
  const header = Buffer.from(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${LABEL}"><rect width="100%" height="100%" fill="#f4f4f4"/>${labels}</svg>`,
  );
  tiles.push({ input: header, left: 0, top: 0 });
  await mkdir(dirname(out), { recursive: true });
  await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(tiles)
    // A palette PNG keeps the README image small; the faces are smooth gradients that quantise well.
    .png({ palette: true, quality: 90, compressionLevel: 9 })
    .toFile(out);
  console.log(`wrote ${out} (${width}x${height})`);
}

await main();
