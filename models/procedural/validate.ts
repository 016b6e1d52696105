import { type SampleRequest, SampleRequestSchema } from '../../plan/request';
import type { GenerateOptions } from '../generator';
import { GeneratorInputError } from './errors';

export const MIN_SIZE = 112;
export const MAX_SIZE = 512;

export function validateOptions(options: GenerateOptions): void {
  const { size, format, quality } = options;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new GeneratorInputError(
      'size',
      `image size ${size} is outside ${MIN_SIZE}..${MAX_SIZE} px; choose an integer size in that range`,
    );
  }
  if (format !== 'jpg' && format !== 'png') {
    throw new GeneratorInputError(
      'format',
      `format "${String(format)}" is not supported; use "jpg" or "png"`,
    );
  }
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new GeneratorInputError('quality', `JPEG quality ${quality} is outside 1..100`);
  }
}

/**
 * Parses a request through its schema so a hand-built or corrupted request fails with the
 * exact field (e.g. `aus.AU12`) rather than rendering something undefined.
 */
export function validateRequest(request: unknown): SampleRequest {
  const parsed = SampleRequestSchema.safeParse(request);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join('.') : 'request';
  const hint = field.startsWith('aus.') ? ' (AU intensities are on the FACS 0..5 scale)' : '';
  throw new GeneratorInputError(field, `${issue?.message ?? 'invalid request'}${hint}`);
}
