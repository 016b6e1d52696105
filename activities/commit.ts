import { ApplicationFailure } from '@temporalio/activity';
import type { DedupeIndex } from '../filter/dedupe';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { shardName } from '../plan/keys';
import { addCommitted, addGenerated, addSkinTone, emptyQuality } from '../report/metrics';
import { PreviewCollector, previewQuota } from '../report/preview';
import {
  acceptance,
  chooseSamples,
  classShortfall,
  partsOfRound,
  type RoundDecisions,
  rejectTallies,
  sampleJson,
} from '../run/assembly';
import { indexEntryOf } from '../run/manifest';
import { unpackGeneratedPart, unpackLabels } from '../run/parts';
import type { Sidecar } from '../run/sidecar';
import { ObjectNotFoundError } from '../storage/errors';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';
import { cancellationSignal, checkpoint } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import { readAllDecisions } from './filter';
import { readGuidance } from './rounds';
import type { RunContext } from './run-context';
import type { CommitResult, ShardRef } from './types';

/**
 * The committed samples' hashes, for the run-level dedupe pass of the index writer. Written
 * before the sidecar, from stored decisions, so a committed shard always has it and its bytes
 * are the same however often it is written.
 */
async function writeDedupeIndex(
  ctx: RunContext,
  shard: number,
  rounds: readonly RoundDecisions[],
  chosen: ReadonlySet<string>,
): Promise<void> {
  const hashes: DedupeIndex['hashes'] = [];
  for (const round of rounds)
    for (const d of round.decisions)
      if (chosen.has(d.key) && d.phash) hashes.push({ key: d.key, phash: d.phash });
  const index: DedupeIndex = { format: 'synfarm-dedupe-v1', shard, hashes };
  await ctx.objects.putJson(ctx.keys.dedupeIndex(shard), index);
}

/** Per guided round: what changed per class and the class's acceptance before and after. */
async function guidanceRecord(
  ctx: RunContext,
  shard: number,
  rounds: readonly RoundDecisions[],
): Promise<NonNullable<Sidecar['guidance']>> {
  const out: NonNullable<Sidecar['guidance']> = [];
  for (const round of rounds) {
    if (round.round === 0) continue;
    const g = await readGuidance(ctx, shard, round.round);
    if (!g) continue;
    const classes: NonNullable<Sidecar['guidance']>[number]['classes'] = [];
    AFFECTNET_CLASSES.forEach((name, c) => {
      const cg = g.classes[name];
      if (!cg) return;
      const after = acceptance(round, c);
      classes.push({
        className: name,
        gain: cg.gain,
        suppress: cg.suppress,
        confusedWith: cg.confusedWith,
        acceptanceBefore: cg.basis.acceptance,
        acceptanceAfter: after.rate,
        recognisedBefore: cg.basis.recognised,
        recognisedAfter: after.recognised,
        samplesAfter: after.n,
      });
    });
    out.push({ round: round.round, classes });
  }
  return out;
}

function commitResult(sidecar: Sidecar, alreadyCommitted: boolean): CommitResult {
  return { ...indexEntryOf(sidecar), alreadyCommitted };
}

/**
 * Whether the committed tar is the one its sidecar describes. Only a missing tar or a real
 * size/hash mismatch says no: any other error (a dropped connection, throttling) is thrown, so
 * the activity retries instead of un-committing a good shard that consumers may be reading.
 */
async function verifyCommitted(ctx: RunContext, sidecar: Sidecar): Promise<boolean> {
  const digest = new StreamDigest();
  let stream: AsyncIterable<Uint8Array>;
  try {
    stream = (await ctx.store.getStream(ctx.keys.shardTar(sidecar.shard))) as AsyncIterable<Uint8Array>;
  } catch (err) {
    if (err instanceof ObjectNotFoundError) return false;
    throw err;
  }
  let chunks = 0;
  for await (const _ of digestingStream(stream, digest)) {
    // A large shard takes a while to read: keep the heartbeat going, and honour cancellation.
    if (++chunks % 64 === 0) checkpoint({ verifyingBytes: digest.bytes });
  }
  return digest.bytes === sidecar.bytes && digest.sha256 === sidecar.sha256;
}

/** A committed shard met again (a retry, a re-run): verify it, finish what the crash left. */
async function recommit(ctx: RunContext, ref: ShardRef, sidecar: Sidecar): Promise<CommitResult> {
  if (!(await verifyCommitted(ctx, sidecar))) {
    await ctx.store.delete(ctx.keys.shardSidecar(ref.shard));
    throw ApplicationFailure.nonRetryable(
      `shard ${ref.shard} of run ${ref.runId}: ${ctx.keys.shardTar(ref.shard)} does not match its sidecar's checksum; the sidecar was removed, so \`synfarm resume ${ref.runId}\` will rebuild the shard`,
      'CorruptShard',
    );
  }
  await ctx.store.deletePrefix(ctx.keys.shardStaging(ref.shard));
  return commitResult(sidecar, true);
}

/** The shard's tar members, in planned order, and what commit learns while writing them. */
function assemble(deps: ActivityDeps, ctx: RunContext, ref: ShardRef, rounds: readonly RoundDecisions[]) {
  const chosen = chooseSamples(rounds, ctx.shardClassCounts(ref.shard), ctx.spec.filter.balanceBy);
  const facts = {
    chosen,
    quality: emptyQuality(),
    classHistogram: AFFECTNET_CLASSES.map(() => 0),
    keys: [] as string[],
    // Thumbnails for report.html: staging, where the rejects are, is gone after this commit.
    preview: new PreviewCollector(previewQuota(ctx.spec.shardCount)),
  };
  const decided = new Map(rounds.flatMap((r) => r.decisions.map((d) => [d.key, d])));
  async function* samples(): AsyncGenerator<Sample> {
    for (const round of rounds) {
      // Parts come from the stored decisions, never from a listing: a part that is gone (staging
      // removed by a racing attempt) is an error that aborts the upload, not a shorter tar.
      for (let p = 0; p < partsOfRound(round, ctx.spec.generator.batchSize); p++) {
        await deps.testHooks?.beforePart?.('commit', ref.shard, p);
        const genKey = ctx.keys.generatedPart(ref.shard, round.round, p);
        const images = await unpackGeneratedPart(await ctx.store.get(genKey), genKey);
        const labelsKey = ctx.keys.labelsPart(ref.shard, round.round, p);
        const labels = new Map(unpackLabels(await ctx.store.get(labelsKey)).map((l) => [l.key, l]));
        for (const label of labels.values()) addGenerated(facts.quality, label);
        for (const img of images) {
          const label = labels.get(img.key);
          if (label) addSkinTone(facts.quality, img.request.identity.skinTone, label, chosen.has(img.key));
          const reasons = chosen.has(img.key) ? [] : (decided.get(img.key)?.reasons ?? []);
          if (label && (chosen.has(img.key) || reasons.length > 0))
            await facts.preview.offer({
              key: img.key,
              bytes: img.bytes,
              intended: img.request.classIndex,
              calibrated: label.classIndex,
              confidence: label.confidence,
              reasons,
            });
          if (!chosen.has(img.key)) continue;
          if (!label) throw new Error(`shard ${ref.shard}: no label stored for ${img.key} in ${labelsKey}`);
          addCommitted(facts.quality, label);
          const cls = label.classIndex ?? img.request.classIndex;
          facts.classHistogram[cls]! += 1;
          facts.keys.push(img.key);
          yield {
            __key__: img.key,
            [img.format]: img.bytes,
            json: sampleJson(img, label, ctx.spec.seed),
            cls: String(cls),
          };
        }
        checkpoint({ samplesWritten: facts.keys.length });
      }
    }
    // Thrown before the tar's last block, so the multipart upload is aborted, never completed short.
    if (facts.keys.length !== chosen.size) {
      throw new Error(
        `shard ${ref.shard}: wrote ${facts.keys.length} of ${chosen.size} chosen samples; the upload is aborted`,
      );
    }
  }
  return { samples, facts };
}

/**
 * Streams the chosen samples, in planned order, into the shard's tar (multipart upload,
 * completed only once every chosen sample of every round was written; a crash or a missing
 * part leaves nothing visible), writes the dedupe hashes, then the sidecar — the commit marker
 * — with a conditional put, and only then removes staging. Re-committing a committed shard
 * verifies its checksum and does nothing else, so retries and re-runs are safe at every step.
 */
export function createCommit(deps: ActivityDeps, runContext: (r: ShardRef) => Promise<RunContext>) {
  return async function commit(ref: ShardRef): Promise<CommitResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(ref);
      const existing = await ctx.objects.sidecar(ref.shard);
      if (existing) return recommit(ctx, ref, existing);

      const rounds = await readAllDecisions(ctx, ref.shard);
      if (rounds.length === 0) throw new Error(`shard ${ref.shard}: nothing filtered yet, cannot commit`);
      const { samples, facts } = assemble(deps, ctx, ref, rounds);
      const digest = new StreamDigest();
      await ctx.store.putStream(ctx.keys.shardTar(ref.shard), digestingStream(writeTar(samples()), digest), {
        contentType: 'application/x-tar',
        signal: cancellationSignal(),
        sha256: digest.ended,
      });
      const plannedByClass = ctx.shardClassCounts(ref.shard);
      const planned = plannedByClass.reduce((a, b) => a + b, 0);
      const sidecar: Sidecar = {
        format: 'synfarm-shard-v1',
        runId: ref.runId,
        shard: ref.shard,
        tar: `${shardName(ref.shard)}.tar`,
        samples: facts.keys.length,
        bytes: digest.bytes,
        sha256: digest.sha256,
        planned,
        shortfall: planned - facts.keys.length,
        classShortfall: classShortfall(rounds, plannedByClass, facts.chosen, ctx.spec.filter.balanceBy),
        rounds: rounds.length,
        classHistogram: facts.classHistogram,
        rejectsByReason: rejectTallies(rounds),
        keys: { first: facts.keys[0] ?? null, last: facts.keys.at(-1) ?? null },
        quality: facts.quality,
        guidance: await guidanceRecord(ctx, ref.shard, rounds),
      };
      await ctx.store.put(
        ctx.keys.shardPreview(ref.shard),
        JSON.stringify(facts.preview.build(ref.shard, facts.keys.length, new Date())),
        { contentType: 'application/json' },
      );
      await writeDedupeIndex(ctx, ref.shard, rounds, facts.chosen);
      if (!(await ctx.objects.writeSidecar(sidecar))) {
        // Another attempt committed first. Both tars were complete and built from the same
        // decisions, so they are the same bytes; verify the stored pair rather than assume it.
        const stored = await ctx.objects.sidecar(ref.shard);
        if (!stored || stored.sha256 !== sidecar.sha256) {
          throw new Error(
            `shard ${ref.shard}: a concurrent commit wrote a different sidecar (${stored?.sha256})`,
          );
        }
        return recommit(ctx, ref, stored);
      }
      await ctx.store.deletePrefix(ctx.keys.shardStaging(ref.shard));
      return commitResult(sidecar, false);
    });
  };
}
