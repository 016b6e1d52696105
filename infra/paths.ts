import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout this code runs from; state and tools default to git-ignored folders inside it. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Built Go binaries. CI points SYNFARM_TOOLS_DIR outside the clone so a second clone on the
 * same machine reuses them; a fresh machine builds them once.
 */
export function toolsDir(): string {
  return process.env.SYNFARM_TOOLS_DIR ?? path.join(PROJECT_ROOT, '.tools', 'bin');
}

export function defaultStateDir(): string {
  return process.env.SYNFARM_STATE_DIR ?? path.join(PROJECT_ROOT, '.state', 'dev');
}
