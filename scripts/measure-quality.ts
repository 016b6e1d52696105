/**
 * `npm run quality [-- samples] [--tune] [--json] [--guided]`: does what the procedural generator
 * draws read as what it was asked for, in the eyes of the models it was tuned against, of the
 * farm's full ensemble, and of held-out judges it never saw (eval/split.ts)? Renders planned
 * samples (default 800: 100 per AffectNet class, seeded AUs, identities and prompts) and prints,
 * per view and per class, the face detection rate and SynFER's FER accuracy of generated images,
 * and each view's FER accuracy by the planned skin tone.
 *
 * --tune     only the tune view; the judge models are not loaded (use this while tuning).
 * --guided   then plans a second round of the same size, renders it as planned and as steered by
 *            the guidance computed from round 0's (tune-view) labels, and prints both.
 */

import { pathToFileURL } from 'node:url';
import { formatMeasurement, measureGuidance, measureQuality } from '../eval';

export async function main(argv: string[]): Promise<void> {
  const samples = Number(argv.find((a) => /^\d+$/.test(a)) ?? 800);
  const tuneOnly = argv.includes('--tune');
  if (argv.includes('--guided')) {
    const rounds = await measureGuidance(samples, tuneOnly);
    const titles = ['round 0', 'round 1 as planned', 'round 1 guided by round 0'];
    rounds.forEach((m, i) => {
      console.log(`=== ${titles[i]}\n${formatMeasurement(m)}\n`);
    });
    return;
  }
  const m = await measureQuality({ samples, tuneOnly });
  console.log(argv.includes('--json') ? JSON.stringify(m, null, 2) : formatMeasurement(m));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main(process.argv.slice(2));
