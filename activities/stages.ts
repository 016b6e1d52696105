import { log } from '@temporalio/activity';
import {
  applyGuidance,
  type Guidance,
  type GuidanceApplied,
  GuidanceSchema,
  guidanceHint,
} from '../guidance';
import type { SampleRequest } from '../plan/request';
import { packGeneratedPart, packLabels, unpackGeneratedPart } from '../run/parts';
import { cancellationSignal, checkpoint, previousHeartbeat, whileBeating } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import type { RunContext } from './run-context';
import type { RoundRequest, StageResult } from './types';

function batches<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The guidance the previous round's filter stored for this round, if any. */
export async function readGuidance(
  ctx: RunContext,
  shard: number,
  round: number,
): Promise<Guidance | undefined> {
  return ctx.objects.json(ctx.keys.guidance(shard, round), GuidanceSchema);
}

/** The requests of one round, split into the parts both stages agree on. */
export function roundParts(ctx: RunContext, req: RoundRequest): SampleRequest[][] {
  const requests = ctx.planRound(req.shard, req.round, req.classCounts);
  return batches(requests, ctx.spec.generator.batchSize);
}

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
 * Renders a round's requests batch by batch, one staged part per batch. A retry skips every
 * part already in storage (a part is written whole, so present means complete) and resumes
 * with the first missing one.
 */
export function createGenerate(deps: ActivityDeps, runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function generate(req: RoundRequest): Promise<StageResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const guidance = req.round >= 1 ? await readGuidance(ctx, req.shard, req.round) : undefined;
      const parts = roundParts(ctx, req);
      const generator = await whileBeating(deps.models.generator(ctx.spec), { loading: 'generator' });
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
          await ctx.store.put(key, await packGeneratedPart(recorded, guided.requests, generator));
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
      const calibrator = await whileBeating(deps.models.calibrator(ctx.spec), { loading: 'calibrator' });
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
          const labels = await whileBeating(
            calibrator.calibrate(
              images,
              images.map((i) => i.request),
            ),
            { part: p },
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
