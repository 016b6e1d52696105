import { Readable } from 'node:stream';
import { ApplicationFailure } from '@temporalio/activity';
import type { DedupeIndex } from '../filter/dedupe';
import { createLogger } from '../log/logger';
import type { Calibration } from '../models/calibrator/schema';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { shardName } from '../plan/keys';
import { addCommitted, addGenerated, emptyQuality } from '../report/metrics';
import { PreviewCollector, previewQuota } from '../report/preview';
import { parseSidecar, type Sidecar } from '../run/sidecar';
import { ObjectNotFoundError } from '../storage/errors';
import { digestingStream, type Sample, StreamDigest, writeTar } from '../webdataset';
import { checkpoint } from './checkpoint';
import type { ActivityDeps } from './deps';
import { failFastOnBadInput } from './failures';
import { type RoundDecisions, readDecisions } from './filter';
import { getOrUndefined, refreshManifestCoalesced } from './manifest';
import { type StagedImage, unpackGeneratedPart, unpackLabels } from './parts';
import type { RunContext } from './run-context';
import { readGuidance } from './stages';
import type { CommitResult, ShardRef } from './types';

/** The sample's `.json`: intended and calibrated labels, AUs, prompt, seeds, model ids. */
function sampleJson(img: StagedImage, label: Calibration, runSeed: number): string {
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

/** Which kept samples make the shard: per intended class, the earliest up to the planned count. */
function chooseSamples(rounds: readonly RoundDecisions[], planned: readonly number[]): Set<string> {
  const taken = planned.map(() => 0);
  const chosen = new Set<string>();
  for (const round of rounds) {
    for (const d of round.decisions) {
      if (d.keep && taken[d.classIndex]! < planned[d.classIndex]!) {
        taken[d.classIndex]! += 1;
        chosen.add(d.key);
      }
    }
  }
  return chosen;
}

async function readAllDecisions(ctx: RunContext, shard: number): Promise<RoundDecisions[]> {
  const rounds: RoundDecisions[] = [];
  for (let r = 0; ; r++) {
    const d = await readDecisions(ctx, shard, r);
    if (!d) break;
    rounds.push(d);
  }
  return rounds;
}

/**
 * The committed samples' hashes, for later shards' run-wide dedupe. Written after the sidecar
 * (and completed by a re-commit if a crash came between), from stored decisions, so its bytes
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
  await ctx.store.put(ctx.keys.dedupeIndex(shard), JSON.stringify(index), {
    contentType: 'application/json',
  });
}

/** Per guided round: what changed per class and the class's acceptance before and after. */
async function guidanceRecord(
  ctx: RunContext,
  shard: number,
  rounds: readonly RoundDecisions[],
): Promise<NonNullable<Sidecar['guidance']>> {
  const acceptance = (round: RoundDecisions | undefined, c: number) => {
    const mine = round?.decisions.filter((d) => d.classIndex === c) ?? [];
    const share = (n: number) => (mine.length === 0 ? null : Math.round((n / mine.length) * 1e4) / 1e4);
    return {
      n: mine.length,
      rate: share(mine.filter((d) => d.keep).length),
      recognised: share(mine.filter((d) => d.keep && d.cls === c).length),
    };
  };
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

/**
 * Starts a manifest refresh that will include this shard, without holding the commit for it:
 * the shard is committed either way, and the dataset workflow writes the final manifest.
 */
const backgroundLog = createLogger({ component: 'commit' });

function refreshManifestInBackground(ctx: RunContext, shard: number): void {
  // Our logger, not the activity's: this may finish after the activity has returned.
  refreshManifestCoalesced(ctx).catch((err) => {
    backgroundLog.warn('manifest refresh after commit failed', { shard, error: (err as Error).message });
  });
}

/** What the shard workflow learns of a commit: the sidecar's counts, nothing per sample. */
function commitResult(sidecar: Sidecar, alreadyCommitted: boolean): CommitResult {
  const { shard, samples, bytes, sha256, shortfall, rejectsByReason } = sidecar;
  return { shard, samples, bytes, sha256, shortfall, rejectsByReason, alreadyCommitted };
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

/**
 * Streams the chosen samples, in planned order, into the shard's tar (multipart upload, so
 * a crash leaves no visible partial object), then writes the sidecar — the commit marker —
 * and only then removes staging. Re-committing a committed shard verifies its checksum and
 * does nothing else, so retries and re-runs are safe at every step.
 */
export function createCommit(deps: ActivityDeps, runContext: (r: ShardRef) => Promise<RunContext>) {
  return async function commit(ref: ShardRef): Promise<CommitResult> {
    return failFastOnBadInput(async () => {
      const ctx = await runContext(ref);
      const tarKey = ctx.keys.shardTar(ref.shard);
      const sidecarKey = ctx.keys.shardSidecar(ref.shard);

      const existing = await getOrUndefined(ctx, sidecarKey);
      if (existing) {
        const sidecar = parseSidecar(existing);
        if (!(await verifyCommitted(ctx, sidecar))) {
          await ctx.store.delete(sidecarKey);
          throw ApplicationFailure.nonRetryable(
            `shard ${ref.shard} of run ${ref.runId}: ${tarKey} does not match its sidecar's checksum; the sidecar was removed, so \`synfarm resume ${ref.runId}\` will rebuild the shard`,
            'CorruptShard',
          );
        }
        // A crash between the sidecar and the dedupe index leaves staging in place: finish the index.
        if (!(await ctx.store.head(ctx.keys.dedupeIndex(ref.shard)))) {
          const rounds = await readAllDecisions(ctx, ref.shard);
          if (rounds.length > 0)
            await writeDedupeIndex(
              ctx,
              ref.shard,
              rounds,
              chooseSamples(rounds, ctx.shardClassCounts(ref.shard)),
            );
        }
        await ctx.store.deletePrefix(ctx.keys.shardStaging(ref.shard));
        refreshManifestInBackground(ctx, ref.shard);
        return commitResult(sidecar, true);
      }

      const rounds = await readAllDecisions(ctx, ref.shard);
      if (rounds.length === 0) throw new Error(`shard ${ref.shard}: nothing filtered yet, cannot commit`);
      const planned = ctx.shardClassCounts(ref.shard);
      const chosen = chooseSamples(rounds, planned);
      const rejectsByReason: Record<string, number> = {};
      for (const round of rounds)
        for (const d of round.decisions)
          for (const reason of d.reasons) rejectsByReason[reason] = (rejectsByReason[reason] ?? 0) + 1;

      const quality = emptyQuality();
      const guidance = await guidanceRecord(ctx, ref.shard, rounds);
      const classHistogram = AFFECTNET_CLASSES.map(() => 0);
      const keys: string[] = [];
      const seed = ctx.spec.seed;
      // Thumbnails for report.html: staging, where the rejects are, is gone after this commit.
      const preview = new PreviewCollector(previewQuota(ctx.spec.shardCount));
      const decided = new Map(rounds.flatMap((r) => r.decisions.map((d) => [d.key, d])));
      async function* samples(): AsyncGenerator<Sample> {
        let written = 0;
        for (const round of rounds) {
          const partsPrefix = ctx.keys.roundPrefix(ref.shard, round.round);
          const genKeys: string[] = [];
          for await (const obj of ctx.store.list(partsPrefix))
            if (/\/gen-\d{6}\.tar$/.test(obj.key)) genKeys.push(obj.key);
          for (const [p, genKey] of genKeys.entries()) {
            await deps.testHooks?.beforePart?.('commit', ref.shard, p);
            const images = await unpackGeneratedPart(await ctx.store.get(genKey), genKey);
            const labels = new Map(
              unpackLabels(await ctx.store.get(ctx.keys.labelsPart(ref.shard, round.round, p))).map((l) => [
                l.key,
                l,
              ]),
            );
            for (const label of labels.values()) addGenerated(quality, label);
            for (const img of images) {
              const label = labels.get(img.key);
              const reasons = chosen.has(img.key) ? [] : (decided.get(img.key)?.reasons ?? []);
              if (label && (chosen.has(img.key) || reasons.length > 0))
                await preview.offer({
                  key: img.key,
                  bytes: img.bytes,
                  intended: img.request.classIndex,
                  calibrated: label.classIndex,
                  confidence: label.confidence,
                  reasons,
                });
              if (!chosen.has(img.key)) continue;
              if (!label) throw new Error(`shard ${ref.shard}: no label stored for ${img.key}`);
              addCommitted(quality, label);
              const cls = label.classIndex ?? img.request.classIndex;
              classHistogram[cls]! += 1;
              keys.push(img.key);
              written++;
              yield {
                __key__: img.key,
                [img.format]: img.bytes,
                json: sampleJson(img, label, seed),
                cls: String(cls),
              };
            }
            checkpoint({ samplesWritten: written });
          }
        }
      }

      const digest = new StreamDigest();
      await ctx.store.putStream(tarKey, Readable.from(digestingStream(writeTar(samples()), digest)), {
        contentType: 'application/x-tar',
      });
      const plannedTotal = planned.reduce((a, b) => a + b, 0);
      await ctx.store.put(
        ctx.keys.shardPreview(ref.shard),
        JSON.stringify(preview.build(ref.shard, keys.length, new Date())),
        { contentType: 'application/json' },
      );
      const sidecar: Sidecar = {
        format: 'synfarm-shard-v1',
        runId: ref.runId,
        shard: ref.shard,
        tar: `${shardName(ref.shard)}.tar`,
        samples: keys.length,
        bytes: digest.bytes,
        sha256: digest.sha256,
        planned: plannedTotal,
        shortfall: plannedTotal - keys.length,
        rounds: rounds.length,
        classHistogram,
        rejectsByReason,
        keys: { first: keys[0] ?? null, last: keys.at(-1) ?? null },
        quality,
        guidance,
      };
      await ctx.store.put(sidecarKey, `${JSON.stringify(sidecar, null, 2)}\n`, {
        contentType: 'application/json',
      });
      await writeDedupeIndex(ctx, ref.shard, rounds, chosen);
      await ctx.store.deletePrefix(ctx.keys.shardStaging(ref.shard));
      refreshManifestInBackground(ctx, ref.shard);
      return commitResult(sidecar, false);
    });
  };
}
