import { z } from 'zod';
import type { Calibration } from '../models/calibrator/schema';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import type { StagedImage } from './parts';

/**
 * Shard assembly, pure: which kept samples make a shard, what each sample's `.json` says, the
 * reject tallies and per-class acceptance. The filter and commit activities are I/O around it;
 * tests drive it without Temporal or storage.
 */

/** One round's keep/reject decisions, stored beside its parts for commit and for the record. */
export const RoundDecisionsSchema = z.object({
  round: z.number().int(),
  /** The image measurement behind the decisions (filter/quality.ts MEASUREMENT); absent before 2026-12. */
  measurement: z.string().optional(),
  decisions: z.array(
    z.object({
      key: z.string(),
      classIndex: z.number().int(),
      keep: z.boolean(),
      reasons: z.array(z.string()),
      /** Calibrated class (null without a label): acceptance and recognition per round need it. */
      cls: z.number().int().nullable().optional(),
      /** The calibrator's confidence in `cls`: a surplus class keeps its most confident samples. */
      confidence: z.number().nullable().optional(),
      /** Perceptual hash of the image, when the calibrator found a face to judge. */
      phash: z.string().optional(),
      /** The planned skin tone: trimming a surplus class keeps the planned mix of tones. */
      skinTone: z.number().int().optional(),
      details: z
        .object({ aus: z.array(z.string()).optional(), duplicateOf: z.string().optional() })
        .optional(),
    }),
  ),
});
export type RoundDecisions = z.infer<typeof RoundDecisionsSchema>;

/** Staged parts of a round: its decisions list every sample in planned order, batch by batch. */
export function partsOfRound(round: RoundDecisions, batchSize: number): number {
  return Math.ceil(round.decisions.length / batchSize);
}

export type BalanceBy = 'calibrated' | 'intended';
type Decision = RoundDecisions['decisions'][number];

/** The class a decision counts toward in the quotas; null when it has no calibrated class. */
export function quotaClass(d: Decision, balanceBy: BalanceBy): number | null {
  return balanceBy === 'intended' ? d.classIndex : (d.cls ?? null);
}

/** Kept samples per class (by the quota label) over the given rounds. */
export function keptByClass(rounds: readonly RoundDecisions[], balanceBy: BalanceBy = 'intended'): number[] {
  const kept = AFFECTNET_CLASSES.map(() => 0);
  for (const r of rounds)
    for (const d of r.decisions) {
      const c = quotaClass(d, balanceBy);
      if (d.keep && c !== null) kept[c]! += 1;
    }
  return kept;
}

/** What the shard still lacks per class index, against its planned counts. */
export function deficitByClass(
  planned: readonly number[],
  rounds: readonly RoundDecisions[],
  balanceBy: BalanceBy = 'intended',
): number[] {
  const kept = keptByClass(rounds, balanceBy);
  return planned.map((n, c) => Math.max(0, n - (kept[c] ?? 0)));
}

/**
 * What the next deficit round should generate per class: each class's deficit divided by its
 * yield so far in this shard (samples intended as the class that were kept with it as their quota
 * class, over samples intended as it), so a class the calibrator rarely confirms is asked for
 * often enough to fill, at most `maxOvergeneration` times its deficit; the total is scaled down
 * to `capacity`. Deterministic from the stored decisions, so a resumed shard asks the same.
 */
export function nextRoundRequest(
  planned: readonly number[],
  rounds: readonly RoundDecisions[],
  options: { balanceBy: BalanceBy; capacity: number; maxOvergeneration: number },
): number[] {
  const { balanceBy, capacity, maxOvergeneration } = options;
  const deficit = deficitByClass(planned, rounds, balanceBy);
  const tried = planned.map(() => 0);
  const landed = planned.map(() => 0);
  for (const r of rounds)
    for (const d of r.decisions) {
      tried[d.classIndex]! += 1;
      if (d.keep && quotaClass(d, balanceBy) === d.classIndex) landed[d.classIndex]! += 1;
    }
  const wanted = deficit.map((n, c) => {
    if (n === 0) return 0;
    const yieldSoFar = tried[c]! > 0 ? landed[c]! / tried[c]! : 1;
    return Math.min(n * maxOvergeneration, Math.ceil(n / Math.max(yieldSoFar, 1 / maxOvergeneration)));
  });
  const total = wanted.reduce((a, b) => a + b, 0);
  if (total <= capacity) return wanted;
  // Over capacity: shrink every class alike, but never below its deficit (or below 1).
  const scale = capacity / total;
  const scaled = wanted.map((n, c) =>
    n === 0 ? 0 : Math.max(Math.min(deficit[c]!, n), Math.floor(n * scale), 1),
  );
  let over = scaled.reduce((a, b) => a + b, 0) - capacity;
  for (let c = scaled.length - 1; over > 0 && c >= 0; c--) {
    const cut = Math.min(over, scaled[c]! - 1);
    if (cut > 0) {
      scaled[c]! -= cut;
      over -= cut;
    }
  }
  return scaled;
}

const byKey = (a: Decision, b: Decision) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

const byConfidence = (a: Decision, b: Decision) => (b.confidence ?? 0) - (a.confidence ?? 0) || byKey(a, b);

/**
 * `count` of a class's candidates, spread over skin tones: each pick takes the most confident
 * remaining candidate of the tone picked least so far (ties: the more confident candidate, then
 * the key). Expressions read less confidently on darker skin, so trimming by confidence alone
 * dropped dark-skinned samples first and a run committed a lighter mix than it planned.
 */
function spreadOverTones(list: readonly Decision[], count: number): Decision[] {
  const queues = new Map<number, Decision[]>();
  for (const d of [...list].sort(byConfidence)) {
    const q = queues.get(d.skinTone!) ?? [];
    q.push(d);
    queues.set(d.skinTone!, q);
  }
  const picked = new Map<number, number>();
  const out: Decision[] = [];
  while (out.length < count) {
    let best: number | undefined;
    for (const [tone, q] of queues) {
      if (q.length === 0) continue;
      if (best === undefined) {
        best = tone;
        continue;
      }
      const fewer = (picked.get(tone) ?? 0) - (picked.get(best) ?? 0);
      if (fewer < 0 || (fewer === 0 && byConfidence(q[0]!, queues.get(best)![0]!) < 0)) best = tone;
    }
    if (best === undefined) break;
    out.push(queues.get(best)!.shift()!);
    picked.set(best, (picked.get(best) ?? 0) + 1);
  }
  return out;
}

/**
 * Which kept samples make the shard, per class up to its planned count. By intended label: the
 * earliest in planned order. By calibrated label: a class with more kept samples than its quota
 * keeps its most confident ones spread over the planned skin tones (spreadOverTones; by
 * confidence alone, ties by key, for decisions recorded before tones were), so the shard's mix by
 * calibrated label is the one the spec asks for, as far as the rounds could fill it.
 */
export function chooseSamples(
  rounds: readonly RoundDecisions[],
  planned: readonly number[],
  balanceBy: BalanceBy = 'intended',
): Set<string> {
  const candidates = planned.map((): Decision[] => []);
  for (const round of rounds)
    for (const d of round.decisions) {
      const c = quotaClass(d, balanceBy);
      if (d.keep && c !== null) candidates[c]!.push(d);
    }
  const chosen = new Set<string>();
  candidates.forEach((list, c) => {
    const count = planned[c] ?? 0;
    const ordered =
      balanceBy === 'intended'
        ? list.slice(0, count)
        : list.every((d) => d.skinTone !== undefined)
          ? spreadOverTones(list, count)
          : [...list].sort(byConfidence).slice(0, count);
    for (const d of ordered) chosen.add(d.key);
  });
  return chosen;
}

/** Per class: planned minus chosen, what stays short after the last round. */
export function classShortfall(
  rounds: readonly RoundDecisions[],
  planned: readonly number[],
  chosen: ReadonlySet<string>,
  balanceBy: BalanceBy,
): number[] {
  const got = planned.map(() => 0);
  for (const r of rounds)
    for (const d of r.decisions) {
      const c = quotaClass(d, balanceBy);
      if (chosen.has(d.key) && c !== null) got[c]! += 1;
    }
  return planned.map((n, c) => n - got[c]!);
}

/** Rejected samples per reason over the given decisions. */
export function rejectTallies(rounds: readonly RoundDecisions[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const round of rounds)
    for (const d of round.decisions) for (const reason of d.reasons) out[reason] = (out[reason] ?? 0) + 1;
  return out;
}

/** Of a round's samples intended as class `c`: how many, the kept share, the kept-and-recognised share. */
export function acceptance(
  round: RoundDecisions | undefined,
  c: number,
): { n: number; rate: number | null; recognised: number | null } {
  const mine = round?.decisions.filter((d) => d.classIndex === c) ?? [];
  const share = (n: number) => (mine.length === 0 ? null : Math.round((n / mine.length) * 1e4) / 1e4);
  return {
    n: mine.length,
    rate: share(mine.filter((d) => d.keep).length),
    recognised: share(mine.filter((d) => d.keep && d.cls === c).length),
  };
}

/** The sample's `.json`: intended and calibrated labels, AUs, prompt, seeds, model ids. */
export function sampleJson(img: StagedImage, label: Calibration, runSeed: number): string {
  const r = img.request;
  return JSON.stringify({
    key: r.key,
    shard: r.shard,
    index: r.index,
    round: r.round,
    intended: { classIndex: r.classIndex, className: r.className },
    label: {
      classIndex: label.classIndex ?? r.classIndex,
      className: label.className ?? r.className,
      confidence: label.confidence,
      soft: label.softLabel,
      agrees: label.agrees,
    },
    aus: { requested: r.aus, side: r.auSide, measured: label.aus.measured },
    identity: r.identity,
    prompt: r.prompt,
    seeds: { run: runSeed, generator: r.generatorSeed },
    generator: img.generator,
    ...(img.generator.meta.guidance ? { guidance: img.generator.meta.guidance } : {}),
    calibrator: label.calibrator,
    calibration: { models: label.models, ensemble: label.ensemble, face: label.face },
    image: { format: img.format, width: img.width, height: img.height },
  });
}
