import { checkpoint } from './checkpoint';
import type { ActivityDeps } from './deps';
import type { RunContext } from './run-context';

export interface PartLoop {
  stage: 'generate' | 'calibrate';
  shard: number;
  parts: number;
  /** The part's stored output: its presence means the part is done. */
  output(part: number): string;
  /** Does one part; the result is stored whole at `output(part)`. */
  work(part: number): Promise<{ body: Uint8Array | string; samples: number }>;
}

/**
 * The one loop of a resumable stage. Per planned part: when its output is stored, skip it (a
 * part is written whole with a single put, so present means complete); else do the work, store
 * it, and heartbeat, which is also where cancellation is honoured. A retried attempt thus
 * resumes with the first missing part.
 */
export async function eachPart(
  deps: ActivityDeps,
  ctx: RunContext,
  loop: PartLoop,
): Promise<{ resumedParts: number; samples: number }> {
  let resumedParts = 0;
  let samples = 0;
  for (let p = 0; p < loop.parts; p++) {
    const key = loop.output(p);
    if (await ctx.store.head(key)) {
      resumedParts++;
    } else {
      await deps.testHooks?.beforePart?.(loop.stage, loop.shard, p);
      const done = await loop.work(p);
      await ctx.store.put(key, done.body);
      samples += done.samples;
    }
    checkpoint({ partsDone: p + 1, parts: loop.parts });
  }
  return { resumedParts, samples };
}
