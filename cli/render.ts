import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { renderOne } from '../models/procedural';
import { AFFECTNET_CLASSES, type ExpressionClass } from '../plan/expressions';
import type { AuVector } from '../plan/request';

function parseAus(text: string): AuVector {
  const aus: Record<string, number> = {};
  for (const part of text.split(',').filter(Boolean)) {
    const m = /^\s*(?:AU)?(\d+)\s*:\s*([0-9.]+)\s*$/i.exec(part);
    if (!m) {
      throw Object.assign(
        new Error(`--au: got "${part}"; expected AU:intensity pairs such as 6:3,12:4 (0-5 scale)`),
        {
          code: 'invalid-option',
        },
      );
    }
    aus[`AU${m[1]}`] = Number(m[2]);
  }
  return aus as AuVector;
}

export function registerRenderCommand(program: Command): void {
  program
    .command('render')
    .description('render one face with the procedural generator, for one-off looks')
    .option('--class <name>', `expression: ${AFFECTNET_CLASSES.join(', ')}`, 'happy')
    .option('--au <list>', 'AU intensities, e.g. 6:3,12:4 (default: the class prototype)')
    .option('--prompt <text>', 'attributes, e.g. "elderly man with a beard, glasses, warm side light"')
    .option('--seed <n>', 'identity and scene seed', (v) => Number.parseInt(v, 10), 1)
    .option('--size <px>', 'square size, 112-512', (v) => Number.parseInt(v, 10), 224)
    .requiredOption('-o, --out <file>', 'output file; .png or .jpg')
    .action(
      async (opts: {
        class: string;
        au?: string;
        prompt?: string;
        seed: number;
        size: number;
        out: string;
      }) => {
        if (!(AFFECTNET_CLASSES as readonly string[]).includes(opts.class)) {
          throw Object.assign(
            new Error(`--class: got "${opts.class}"; expected one of ${AFFECTNET_CLASSES.join(', ')}`),
            {
              code: 'invalid-option',
            },
          );
        }
        const format = formatOfFile(opts.out);
        const image = await renderOne({
          className: opts.class as ExpressionClass,
          aus: opts.au ? parseAus(opts.au) : undefined,
          prompt: opts.prompt,
          seed: opts.seed,
          size: opts.size,
          format,
        });
        await writeFile(opts.out, image.bytes);
        const prompt = image.meta.prompt as { used?: string[]; ignored?: string[] } | undefined;
        process.stdout.write(
          `wrote ${opts.out} (${image.width}x${image.height} ${image.format})${prompt ? `; prompt words used: ${prompt.used?.join(', ') || 'none'}; ignored: ${prompt.ignored?.join(', ') || 'none'}` : ''}\n`,
        );
      },
    );
}

/** The image format a file name asks for; a name that asks for neither would get bytes it does not name. */
function formatOfFile(file: string): 'png' | 'jpg' {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.png') return 'png';
  if (ext === '.jpg' || ext === '.jpeg') return 'jpg';
  throw Object.assign(new Error(`--out: got "${file}"; expected a file name ending in .png, .jpg or .jpeg`), {
    code: 'invalid-option',
  });
}
