import { z } from 'zod';
import { decide } from '../filter/rules';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { checkpoint } from './checkpoint';
import { failFastOnBadInput } from './failures';
import { getOrUndefined } from './manifest';
import { unpackLabels } from './parts';
import type { RunContext } from './run-context';
import { roundParts } from './stages';
import type { RoundOutcome, RoundRequest } from './types';

/** One round's keep/reject decisions, stored beside its parts for commit and for the record. */
export const RoundDecisionsSchema = z.object({
  round: z.number().int(),
  decisions: z.array(
    z.object({
      key: z.string(),
      classIndex: z.number().int(),
      keep: z.boolean(),
      reasons: z.array(z.string()),
    }),
  ),
});
export type RoundDecisions = z.infer<typeof RoundDecisionsSchema>;

export async function readDecisions(
  ctx: RunContext,
  shard: number,
  round: number,
): Promise<RoundDecisions | undefined> {
  const bytes = await getOrUndefined(ctx, ctx.keys.decisions(shard, round));
  return bytes ? RoundDecisionsSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))) : undefined;
}

/** Kept samples per intended class over rounds 0..upTo, capped at what the shard planned. */
export function keptByClass(rounds: readonly RoundDecisions[]): number[] {
  const kept = AFFECTNET_CLASSES.map(() => 0);
  for (const r of rounds) for (const d of r.decisions) if (d.keep) kept[d.classIndex]! += 1;
  return kept;
}

/**
 * Keeps or rejects every sample of a round, with reasons, and works out what the shard still
 * lacks per class (against the plan's stratified counts) for the next round to make up.
 * Deterministic from stored labels, so a retry writes the same decisions.
 */
export function createFilter(runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function filter(req: RoundRequest): Promise<RoundOutcome> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const thresholds = ctx.spec.filter;
      const parts = roundParts(ctx, req);
      const decisions: RoundDecisions['decisions'] = [];
      for (let p = 0; p < parts.length; p++) {
        const labels = unpackLabels(await ctx.store.get(ctx.keys.labelsPart(req.shard, req.round, p)));
        for (const label of labels) {
          const d = decide(label, thresholds);
          decisions.push({
            key: d.key,
            classIndex: label.intended.classIndex,
            keep: d.keep,
            reasons: d.reasons,
          });
        }
        checkpoint({ partsDone: p + 1, parts: parts.length });
      }
      const current: RoundDecisions = { round: req.round, decisions };
      await ctx.store.put(ctx.keys.decisions(req.shard, req.round), JSON.stringify(current));

      const earlier: RoundDecisions[] = [];
      for (let r = 0; r < req.round; r++) {
        const d = await readDecisions(ctx, req.shard, r);
        if (d) earlier.push(d);
      }
      const kept = keptByClass([...earlier, current]);
      const planned = ctx.shardClassCounts(req.shard);
      const rejectsByReason: Record<string, number> = {};
      for (const d of decisions)
        for (const r of d.reasons) rejectsByReason[r] = (rejectsByReason[r] ?? 0) + 1;
      return {
        round: req.round,
        kept: decisions.filter((d) => d.keep).length,
        rejected: decisions.filter((d) => !d.keep).length,
        deficitByClass: planned.map((n, c) => Math.max(0, n - (kept[c] ?? 0))),
        rejectsByReason,
      };
    });
  };
}
