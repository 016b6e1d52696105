import { log } from '@temporalio/activity';
import { applyGuidance, type Guidance, type GuidanceApplied, guidanceHint } from '../guidance';
import type { SampleRequest } from '../plan/request';
import { packGeneratedPart } from '../run/parts';
import { cancellationSignal, previousHeartbeat, whileBeating } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import { eachPart } from './part-loop';
import { readGuidance, roundParts } from './rounds';
import type { RunContext } from './run-context';
import type { RoundRequest, StageResult } from './types';

/**
 * Applies the round's guidance to a batch: AU changes for backends that render AUs here, a
 * `guidance` field for `http`, whose server does its own steering. The staged `req.json` holds
 * the requests as generated, so calibration and the sample's `.json` see the applied AUs.
 */
function guideBatch(
  ctx: RunContext,
  batch: readonly SampleRequest[],
  guidance: Guidance | undefined,
): { requests: SampleRequest[]; applied: (GuidanceApplied | undefined)[] } {
  if (!guidance) return { requests: [...batch], applied: batch.map(() => undefined) };
  if (ctx.spec.generator.backend === 'http') {
    return {
      requests: batch.map((r) => {
        const hint = guidanceHint(r, guidance);
        return hint ? { ...r, steering: hint } : r;
      }),
      applied: batch.map(() => undefined),
    };
  }
  const guided = applyGuidance(batch, guidance);
  return { requests: guided.map((g) => g.request), applied: guided.map((g) => g.applied) };
}

/**
 * Renders a round's requests batch by batch, one staged part per batch, resumable per part
 * (see `eachPart`).
 */
export function createGenerate(deps: ActivityDeps, runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function generate(req: RoundRequest): Promise<StageResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const guidance = req.round >= 1 ? await readGuidance(ctx, req.shard, req.round) : undefined;
      const parts = roundParts(ctx, req);
      const generator = await whileBeating(deps.models.generator(ctx.spec), { loading: 'generator' });
      const { size, format, quality } = ctx.spec.image;
      if (previousHeartbeat())
        log.info('generate resuming', { shard: req.shard, previous: previousHeartbeat() });
      const { resumedParts } = await eachPart(deps, ctx, {
        stage: 'generate',
        shard: req.shard,
        parts: parts.length,
        output: (p) => ctx.keys.generatedPart(req.shard, req.round, p),
        work: async (p) => {
          const batch = parts[p]!;
          const guided = guideBatch(ctx, batch, guidance);
          const images = await whileBeating(
            generator.generate(guided.requests, { size, format, quality, signal: cancellationSignal() }),
            { part: p },
          );
          if (images.length !== batch.length || images.some((img, i) => img.key !== batch[i]!.key)) {
            throw new Error(`generator ${generator.id} returned images that do not match the batch's keys`);
          }
          const recorded = images.map((img, i) =>
            guided.applied[i] ? { ...img, meta: { ...img.meta, guidance: guided.applied[i] } } : img,
          );
          return {
            body: await packGeneratedPart(recorded, guided.requests, generator),
            samples: batch.length,
          };
        },
      });
      return { parts: parts.length, samples: parts.reduce((n, b) => n + b.length, 0), resumedParts };
    });
  };
}
