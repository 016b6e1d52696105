import { log } from '@temporalio/activity';
import type { SampleRequest } from '../plan/request';
import { cancellationSignal, checkpoint, previousHeartbeat } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import { packGeneratedPart, packLabels, unpackGeneratedPart } from './parts';
import type { RunContext } from './run-context';
import type { RoundRequest, StageResult } from './types';

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The requests of one round, split into the parts both stages agree on. */
export function roundParts(ctx: RunContext, req: RoundRequest): SampleRequest[][] {
  const requests = ctx.planRound(req.shard, req.round, req.classCounts);
  return batches(requests, ctx.spec.generator.batchSize);
}

/**
 * Renders a round's requests batch by batch, one staged part per batch. A retry skips every
 * part already in storage (a part is written whole, so present means complete) and resumes
 * with the first missing one.
 */
export function createGenerate(deps: ActivityDeps, runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function generate(req: RoundRequest): Promise<StageResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const parts = roundParts(ctx, req);
      const generator = await deps.models.generator(ctx.spec);
      const { size, format, quality } = ctx.spec.image;
      let resumedParts = 0;
      if (previousHeartbeat())
        log.info('generate resuming', { shard: req.shard, previous: previousHeartbeat() });
      for (const [p, batch] of parts.entries()) {
        const key = ctx.keys.generatedPart(req.shard, req.round, p);
        if (await ctx.store.head(key)) {
          resumedParts++;
        } else {
          await deps.testHooks?.beforePart?.('generate', req.shard, p);
          const images = await generator.generate(batch, {
            size,
            format,
            quality,
            signal: cancellationSignal(),
          });
          if (images.length !== batch.length || images.some((img, i) => img.key !== batch[i]!.key)) {
            throw new Error(`generator ${generator.id} returned images that do not match the batch's keys`);
          }
          await ctx.store.put(key, await packGeneratedPart(images, batch, generator));
        }
        checkpoint({ partsDone: p + 1, parts: parts.length });
      }
      return { parts: parts.length, samples: parts.reduce((n, b) => n + b.length, 0), resumedParts };
    });
  };
}

/**
 * Labels each generated part with the calibrator; resumable per part like `generate`. The
 * expected parts come from the plan, so a missing generated part is an error, not a short round.
 */
export function createCalibrate(deps: ActivityDeps, runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function calibrate(req: RoundRequest): Promise<StageResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const parts = roundParts(ctx, req);
      const calibrator = await deps.models.calibrator(ctx.spec);
      let resumedParts = 0;
      let samples = 0;
      for (let p = 0; p < parts.length; p++) {
        const labelsKey = ctx.keys.labelsPart(req.shard, req.round, p);
        if (await ctx.store.head(labelsKey)) {
          resumedParts++;
        } else {
          await deps.testHooks?.beforePart?.('calibrate', req.shard, p);
          const genKey = ctx.keys.generatedPart(req.shard, req.round, p);
          const images = await unpackGeneratedPart(await ctx.store.get(genKey), genKey);
          const labels = await calibrator.calibrate(
            images,
            images.map((i) => i.request),
          );
          await ctx.store.put(labelsKey, packLabels(labels));
          samples += labels.length;
        }
        checkpoint({ partsDone: p + 1, parts: parts.length });
      }
      return { parts: parts.length, samples, resumedParts };
    });
  };
}
