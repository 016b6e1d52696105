import { readFile } from 'node:fs/promises';
import { SpecError } from './errors';
import { parseSpec } from './parse';
import type { Spec } from './schema';

/** Reads and resolves a spec file (.yaml, .yml or .json). */
export async function loadSpec(path: string): Promise<Spec> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new SpecError(
      'spec-unreadable',
      [{ path: '(file)', received: path, expected: 'a readable spec file' }],
      path,
      `Cannot read run spec ${path}: ${reason}. Check the path and try again.`,
    );
  }
  return parseSpec(text, { source: path });
}
