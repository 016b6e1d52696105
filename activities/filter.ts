import { z } from 'zod';
import { DedupeIndexSchema, HashIndex, shardOfDedupeIndex } from '../filter/dedupe';
import { type ImageFacts, measureImage } from '../filter/quality';
import { decide, thresholdsFromSpec } from '../filter/rules';
import { computeGuidance, type Guidance, type RoundSample } from '../guidance';
import type { Calibration } from '../models/calibrator/schema';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { checkpoint } from './checkpoint';
import { failFastOnBadInput } from './failures';
import { getOrUndefined, readStoredJson } from './manifest';
import { unpackGeneratedPart, unpackLabels } from './parts';
import type { RunContext } from './run-context';
import { readGuidance, roundParts } from './stages';
import type { RoundOutcome, RoundRequest } from './types';

/** One round's keep/reject decisions, stored beside its parts for commit and for the record. */
export const RoundDecisionsSchema = z.object({
  round: z.number().int(),
  /**
   * Shards whose run-wide dedupe index this shard was compared against (fixed at round 0 and
   * reused by later rounds), so the record says exactly what a decision depended on.
   */
  comparedShards: z.array(z.number().int()).optional(),
  decisions: z.array(
    z.object({
      key: z.string(),
      classIndex: z.number().int(),
      keep: z.boolean(),
      reasons: z.array(z.string()),
      /** Calibrated class (null without a label): acceptance and recognition per round need it. */
      cls: z.number().int().nullable().optional(),
      /** Perceptual hash of the image, when the calibrator found a face to judge. */
      phash: z.string().optional(),
      details: z
        .object({ aus: z.array(z.string()).optional(), duplicateOf: z.string().optional() })
        .optional(),
    }),
  ),
});
export type RoundDecisions = z.infer<typeof RoundDecisionsSchema>;

export async function readDecisions(
  ctx: RunContext,
  shard: number,
  round: number,
): Promise<RoundDecisions | undefined> {
  return readStoredJson(ctx, ctx.keys.decisions(shard, round), RoundDecisionsSchema);
}

/** Kept samples per intended class over rounds 0..upTo, capped at what the shard planned. */
export function keptByClass(rounds: readonly RoundDecisions[]): number[] {
  const kept = AFFECTNET_CLASSES.map(() => 0);
  for (const r of rounds) for (const d of r.decisions) if (d.keep) kept[d.classIndex]! += 1;
  return kept;
}

/** The committed shards' kept hashes, in shard order: what run-wide dedupe compares against. */
async function runWideIndex(
  ctx: RunContext,
  shard: number,
  round: number,
  radius: number,
  earlier: RoundDecisions[],
) {
  let compared: number[];
  if (round === 0) {
    compared = [];
    for await (const obj of ctx.store.list(ctx.keys.dedupePrefix)) {
      const s = shardOfDedupeIndex(obj.key);
      if (s !== undefined && s !== shard) compared.push(s);
    }
    compared.sort((a, b) => a - b);
  } else {
    compared = earlier[0]?.comparedShards ?? [];
  }
  const index = new HashIndex(radius);
  const present: number[] = [];
  for (const s of compared) {
    const bytes = await getOrUndefined(ctx, ctx.keys.dedupeIndex(s));
    // An index listed at round 0 never disappears; if it did (run data removed by hand), the
    // record keeps only what was really compared.
    if (!bytes) continue;
    present.push(s);
    for (const h of DedupeIndexSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8'))).hashes)
      index.add(h.phash, h.key);
  }
  return { index, compared: present };
}

/**
 * The filter's work for one round, without Temporal: every sample judged by the rules (with its
 * image measured from the staged bytes when the calibrator found a face), near-duplicates looked
 * up within the shard (kept samples of earlier rounds and earlier in this round, in planned
 * order) and, with dedupeScope 'run', in the run-wide index. A round already filtered returns its
 * stored decisions: the recorded decision is the truth, so a retry never decides differently.
 */
export async function filterRound(
  ctx: RunContext,
  req: RoundRequest,
  onPart: (done: number, parts: number) => void = () => {},
): Promise<{ current: RoundDecisions; earlier: RoundDecisions[]; guidance?: Guidance }> {
  const earlier: RoundDecisions[] = [];
  for (let r = 0; r < req.round; r++) {
    const d = await readDecisions(ctx, req.shard, r);
    if (d) earlier.push(d);
  }
  const stored = await readDecisions(ctx, req.shard, req.round);
  if (stored) return { current: stored, earlier };

  const filter = ctx.spec.filter;
  const thresholds = thresholdsFromSpec(ctx.spec);
  const shardIndex = new HashIndex(filter.dedupeHamming);
  for (const r of earlier) for (const d of r.decisions) if (d.keep && d.phash) shardIndex.add(d.phash, d.key);
  const run =
    filter.dedupeScope === 'run'
      ? await runWideIndex(ctx, req.shard, req.round, filter.dedupeHamming, earlier)
      : undefined;

  const parts = roundParts(ctx, req);
  const decisions: RoundDecisions['decisions'] = [];
  const samples: RoundSample[] = [];
  for (let p = 0; p < parts.length; p++) {
    const labels = unpackLabels(await ctx.store.get(ctx.keys.labelsPart(req.shard, req.round, p)));
    // Pixels are read only for samples with a face: passthrough labels (face: null, no error)
    // come from a calibrator that never looked at the image, and a no-face image has no crop.
    const bytesByKey = new Map<string, Uint8Array>();
    if (labels.some((l) => l.face)) {
      const genKey = ctx.keys.generatedPart(req.shard, req.round, p);
      for (const img of await unpackGeneratedPart(await ctx.store.get(genKey), genKey))
        bytesByKey.set(img.key, img.bytes);
    }
    for (const label of labels) {
      const facts = await imageFacts(label, bytesByKey.get(label.key));
      let d = decide(label, thresholds, { image: facts });
      if (d.keep && facts) {
        const dup = shardIndex.nearest(facts.phash) ?? run?.index.nearest(facts.phash);
        if (dup) d = decide(label, thresholds, { image: facts, duplicateOf: dup.key });
        else shardIndex.add(facts.phash, label.key);
      }
      decisions.push({
        key: d.key,
        classIndex: label.intended.classIndex,
        keep: d.keep,
        reasons: d.reasons,
        cls: label.classIndex,
        ...(facts ? { phash: facts.phash } : {}),
        ...(d.details ? { details: d.details } : {}),
      });
      samples.push({ calibration: label, keep: d.keep });
    }
    onPart(p + 1, parts.length);
  }
  const current: RoundDecisions = {
    round: req.round,
    ...(run ? { comparedShards: run.compared } : {}),
    decisions,
  };

  let guidance: Guidance | undefined;
  const deficit = deficitOf(ctx, req.shard, [...earlier, current]);
  if (deficit.some((n) => n > 0) && req.round < filter.maxRounds) {
    guidance = computeGuidance(req.round, samples, await readGuidance(ctx, req.shard, req.round), filter);
    // Written before filter.json: once the decisions exist this round counts as filtered.
    if (guidance) await ctx.store.put(ctx.keys.guidance(req.shard, req.round + 1), JSON.stringify(guidance));
  }
  await ctx.store.put(ctx.keys.decisions(req.shard, req.round), JSON.stringify(current));
  return { current, earlier, guidance };
}

async function imageFacts(label: Calibration, bytes: Uint8Array | undefined): Promise<ImageFacts | null> {
  if (!label.face || label.error || !bytes) return null;
  try {
    return await measureImage(bytes, label.face.box);
  } catch {
    // The calibrator decoded these bytes; if sharp cannot now, quality simply goes unjudged.
    return null;
  }
}

function deficitOf(ctx: RunContext, shard: number, rounds: readonly RoundDecisions[]): number[] {
  const kept = keptByClass(rounds);
  return ctx.shardClassCounts(shard).map((n, c) => Math.max(0, n - (kept[c] ?? 0)));
}

/**
 * Keeps or rejects every sample of a round, with reasons, and works out what the shard still
 * lacks per class (against the plan's stratified counts) for the next round to make up; when
 * it lacks some, stores the next round's guidance. Deterministic from stored labels and images.
 */
export function createFilter(runContext: (r: RoundRequest) => Promise<RunContext>) {
  return async function filter(req: RoundRequest): Promise<RoundOutcome> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(req);
      const { current, earlier } = await filterRound(ctx, req, (done, parts) =>
        checkpoint({ partsDone: done, parts }),
      );
      const rejectsByReason: Record<string, number> = {};
      for (const d of current.decisions)
        for (const r of d.reasons) rejectsByReason[r] = (rejectsByReason[r] ?? 0) + 1;
      return {
        round: req.round,
        kept: current.decisions.filter((d) => d.keep).length,
        rejected: current.decisions.filter((d) => !d.keep).length,
        deficitByClass: deficitOf(ctx, req.shard, [...earlier, current]),
        rejectsByReason,
      };
    });
  };
}
