import { HashIndex } from '../filter/dedupe';
import { type ImageFacts, MEASUREMENT, measureImage } from '../filter/quality';
import { decide, thresholdsFromSpec } from '../filter/rules';
import { computeGuidance, type Guidance, type RoundSample } from '../guidance';
import type { Calibration } from '../models/calibrator/schema';
import {
  deficitByClass,
  nextRoundRequest,
  partsOfRound,
  type RoundDecisions,
  RoundDecisionsSchema,
  rejectTallies,
} from '../run/assembly';
import { unpackGeneratedPart, unpackLabels } from '../run/parts';
import { checkpoint } from './checkpoint';
import { failFastOnBadInput } from './failures';
import { readGuidance, roundParts } from './rounds';
import type { RunContext } from './run-context';
import type { RoundOutcome, RoundRequest } from './types';

export async function readDecisions(
  ctx: RunContext,
  shard: number,
  round: number,
): Promise<RoundDecisions | undefined> {
  return ctx.objects.json(ctx.keys.decisions(shard, round), RoundDecisionsSchema);
}

/** Every filtered round of a shard, in order. */
export async function readAllDecisions(ctx: RunContext, shard: number): Promise<RoundDecisions[]> {
  const rounds: RoundDecisions[] = [];
  for (let r = 0; ; r++) {
    const d = await readDecisions(ctx, shard, r);
    if (!d) break;
    rounds.push(d);
  }
  return rounds;
}

/**
 * The filter's work for one round, without Temporal: every sample judged by the rules (with its
 * image measured from the staged bytes when the calibrator found a face), near-duplicates looked
 * up within the shard only (kept samples of earlier rounds and earlier in this round, in planned
 * order), so every decision is a pure function of the shard; near-duplicates across shards are
 * the run index writer's pass (filter/dedupe.ts, RunDedupe). A round already filtered returns its
 * stored decisions: the recorded decision is the truth, so a retry never decides differently.
 */
export async function filterRound(
  ctx: RunContext,
  req: RoundRequest,
  progress: (details: Record<string, number>) => void = () => {},
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
  for (const r of earlier)
    for (const [hash, key] of await keptHashes(ctx, req.shard, r, progress)) shardIndex.add(hash, key);

  const parts = roundParts(ctx, req);
  const decisions: RoundDecisions['decisions'] = [];
  const samples: RoundSample[] = [];
  for (let p = 0; p < parts.length; p++) {
    const labels = unpackLabels(await ctx.store.get(ctx.keys.labelsPart(req.shard, req.round, p)));
    // Pixels are read only for samples with a face: passthrough labels (face: null, no error)
    // come from a calibrator that never looked at the image, and a no-face image has no crop.
    const bytesByKey = labels.some((l) => l.face)
      ? await stagedImages(ctx, req.shard, req.round, p)
      : new Map<string, Uint8Array>();
    const tones = new Map(parts[p]!.map((r) => [r.key, r.identity.skinTone]));
    for (const label of labels) {
      const facts = await imageFacts(label, bytesByKey.get(label.key));
      let d = decide(label, thresholds, { image: facts });
      if (d.keep && facts) {
        const dup = shardIndex.nearest(facts.phash);
        if (dup) d = decide(label, thresholds, { image: facts, duplicateOf: dup.key });
        else shardIndex.add(facts.phash, label.key);
      }
      decisions.push({
        key: d.key,
        classIndex: label.intended.classIndex,
        keep: d.keep,
        reasons: d.reasons,
        cls: label.classIndex,
        confidence: label.confidence,
        ...(facts ? { phash: facts.phash } : {}),
        ...(d.details ? { details: d.details } : {}),
        skinTone: tones.get(label.key),
      });
      samples.push({ calibration: label, keep: d.keep });
    }
    progress({ partsDone: p + 1, parts: parts.length });
  }
  const current: RoundDecisions = { round: req.round, measurement: MEASUREMENT, decisions };

  let guidance: Guidance | undefined;
  const deficit = deficitOf(ctx, req.shard, [...earlier, current]);
  if (deficit.some((n) => n > 0) && req.round < filter.maxRounds) {
    guidance = computeGuidance(req.round, samples, await readGuidance(ctx, req.shard, req.round), filter);
    // Written before filter.json: once the decisions exist this round counts as filtered.
    if (guidance) await ctx.store.put(ctx.keys.guidance(req.shard, req.round + 1), JSON.stringify(guidance));
  }
  await ctx.objects.putJson(ctx.keys.decisions(req.shard, req.round), current);
  return { current, earlier, guidance };
}

/**
 * The pHashes of a filtered round's kept samples, in planned order, as this worker measures them.
 * A round filtered under another measurement (workers of an older version, a run resumed after an
 * upgrade) stored hashes up to 4 bits off this one's, the whole default dedupe radius: comparing
 * them as stored would let a repeat through or reject a distinct face, so its kept images are
 * measured again from the round's staged parts. Its keep and reject decisions stand. Every part
 * its decisions imply is read, as commit reads them: a part that is gone is an error, not a
 * quietly shorter list. A large round takes minutes to measure again, hence the progress per part.
 */
async function keptHashes(
  ctx: RunContext,
  shard: number,
  r: RoundDecisions,
  progress: (details: Record<string, number>) => void,
): Promise<[string, string][]> {
  const kept = r.decisions.filter((d) => d.keep && d.phash);
  if (r.measurement === MEASUREMENT || kept.length === 0) return kept.map((d) => [d.phash!, d.key]);
  const now = new Map<string, string>();
  const wanted = new Set(kept.map((d) => d.key));
  const parts = partsOfRound(r, ctx.spec.generator.batchSize);
  for (let p = 0; p < parts; p++) {
    progress({ remeasuringRound: r.round, partsDone: p, parts });
    const labelsKey = ctx.keys.labelsPart(shard, r.round, p);
    const labels = unpackLabels(await ctx.store.get(labelsKey)).filter((l) => wanted.has(l.key));
    if (labels.length === 0) continue;
    const bytesByKey = await stagedImages(ctx, shard, r.round, p);
    for (const label of labels) {
      const facts = await imageFacts(label, bytesByKey.get(label.key));
      if (facts) now.set(label.key, facts.phash);
    }
  }
  // A kept image that cannot be measured again keeps its stored hash: the nearest thing to it.
  return kept.map((d) => [now.get(d.key) ?? d.phash!, d.key]);
}

/** The encoded images of one staged generated part, by sample key. */
async function stagedImages(
  ctx: RunContext,
  shard: number,
  round: number,
  part: number,
): Promise<Map<string, Uint8Array>> {
  const key = ctx.keys.generatedPart(shard, round, part);
  const images = await unpackGeneratedPart(await ctx.store.get(key), key);
  return new Map(images.map((img) => [img.key, img.bytes]));
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
  return deficitByClass(ctx.shardClassCounts(shard), rounds, ctx.spec.filter.balanceBy);
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
      const { current, earlier } = await filterRound(ctx, req, checkpoint);
      const rejectsByReason = rejectTallies([current]);
      return {
        round: req.round,
        kept: current.decisions.filter((d) => d.keep).length,
        rejected: current.decisions.filter((d) => !d.keep).length,
        deficitByClass: deficitOf(ctx, req.shard, [...earlier, current]),
        requestByClass: nextRoundRequest(ctx.shardClassCounts(req.shard), [...earlier, current], {
          balanceBy: ctx.spec.filter.balanceBy,
          capacity: ctx.plan.roundCapacity(req.round + 1),
          maxOvergeneration: ctx.spec.filter.maxOvergeneration,
        }),
        rejectsByReason,
      };
    });
  };
}
