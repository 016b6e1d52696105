import { packLabels, unpackGeneratedPart } from '../run/parts';
import { whileBeating } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import { eachPart } from './part-loop';
import { roundParts } from './rounds';
import type { RunContext } from './run-context';
import type { RoundRequest, StageResult } from './types';

/**
 * Labels each generated part with the calibrator, resumable per part (see `eachPart`). The
 * expected parts come from the plan, so a missing generated part is an error, not a short round.
 */
export function createCalibrate(deps: ActivityDeps, runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function calibrate(req: RoundRequest): Promise<StageResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const parts = roundParts(ctx, req);
      const calibrator = await whileBeating(deps.models.calibrator(ctx.spec), { loading: 'calibrator' });
      const { resumedParts, samples } = await eachPart(deps, ctx, {
        stage: 'calibrate',
        shard: req.shard,
        parts: parts.length,
        output: (p) => ctx.keys.labelsPart(req.shard, req.round, p),
        work: async (p) => {
          const genKey = ctx.keys.generatedPart(req.shard, req.round, p);
          const images = await unpackGeneratedPart(await ctx.store.get(genKey), genKey);
          const labels = await whileBeating(
            calibrator.calibrate(
              images,
              images.map((i) => i.request),
            ),
            { part: p },
          );
          return { body: packLabels(labels), samples: labels.length };
        },
      });
      return { parts: parts.length, samples, resumedParts };
    });
  };
}
