import { type Guidance, GuidanceSchema } from '../guidance';
import type { SampleRequest } from '../plan/request';
import type { RunContext } from './run-context';
import type { RoundRequest } from './types';

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
