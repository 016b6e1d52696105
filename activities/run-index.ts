import { type DedupeIndex, DedupeIndexSchema, type Exclusion, RunDedupe } from '../filter/dedupe';
import { writeRunReports } from '../report';
import { type IndexEntry, indexEntryOf, type Manifest, mergeIndex } from '../run/manifest';
import { whileBeating } from './checkpoint';
import { failFastOnBadInput } from './failures';
import type { RunContext } from './run-context';
import type { RunRef } from './types';

export interface IndexSummary {
  shards: number;
  samples: number;
  complete: boolean;
}

const summary = (m: Manifest | undefined): IndexSummary => ({
  shards: m?.totals.shards ?? 0,
  samples: m?.totals.samples ?? 0,
  complete: m?.state === 'complete',
});

/**
 * The run index's writer side. Only the dataset workflow calls these, one at a time; and
 * since an attempt that timed out may still be running, every write is conditional
 * (RunObjects.updateIndex): a merge adds only new shards, a late one re-merges instead of
 * overwriting, and a complete index is never rewritten. The run-level dedupe pass
 * (`RunDedupe`) runs here, over each new shard's hashes.
 *
 * The hashes of shards already indexed are kept per worker process, so a merge reads only the
 * new shards' hash files: O(1) requests per commit. A worker that has not seen the run yet
 * loads them once (the same cost as a resume's listing).
 */
export function createRunIndexActivities(runContext: (r: RunRef) => Promise<RunContext>) {
  const dedupes = new Map<string, RunDedupe>();

  async function hashes(ctx: RunContext, shard: number): Promise<DedupeIndex> {
    return (
      (await ctx.objects.json(ctx.keys.dedupeIndex(shard), DedupeIndexSchema)) ?? {
        format: 'synfarm-dedupe-v1',
        shard,
        hashes: [],
      }
    );
  }

  /** The run's dedupe state holding exactly `indexed` (rebuilt when it holds anything else). */
  async function dedupeFor(ctx: RunContext, indexed: readonly number[]): Promise<RunDedupe> {
    const id = `${ctx.store.url}|${ctx.spec.runId}`;
    let d = dedupes.get(id);
    const wanted = new Set(indexed);
    if (!d || d.shards().some((s) => !wanted.has(s))) {
      d = new RunDedupe(ctx.spec.filter.dedupeHamming);
      dedupes.set(id, d);
    }
    for (const s of indexed) if (!d.has(s)) d.addShard(await hashes(ctx, s));
    return d;
  }

  /** `entries` merged into the stored index (see RunObjects.updateIndex); the stored index. */
  async function merge(ctx: RunContext, entries: readonly IndexEntry[]): Promise<Manifest> {
    const id = `${ctx.store.url}|${ctx.spec.runId}`;
    try {
      return await ctx.objects.updateIndex(async (previous) => {
        const known = new Set(previous?.shards.map((s) => s.shard));
        const fresh = entries.filter((e) => !known.has(e.shard)).sort((a, b) => a.shard - b.shard);
        if (fresh.length === 0 && previous) return previous;
        // Rebuilt when it holds a shard `previous` lacks (a merge that lost a race added it).
        const dedupe = await dedupeFor(ctx, [...known]);
        const excluded: Exclusion[] = [];
        for (const e of fresh) excluded.push(...dedupe.addShard(await hashes(ctx, e.shard)));
        return mergeIndex(
          previous,
          {
            runId: ctx.spec.runId,
            baseUrl: ctx.store.url,
            plannedShards: ctx.spec.shardCount,
            plannedSamples: ctx.spec.targetSamples,
          },
          fresh,
          excluded,
        ).manifest;
      });
    } catch (err) {
      // The cached hashes may now be ahead of the stored index: start over next time.
      dedupes.delete(id);
      throw err;
    }
  }

  return {
    /**
     * Lists the run's shards (only at the start of a run or a continue-as-new), indexes any
     * committed shard the index lacks (committed just before a crash), and returns the
     * committed shards for the workflow to skip.
     */
    async syncRunIndex(ref: RunRef): Promise<number[]> {
      return failFastOnBadInput(async () => {
        const ctx = await runContext(ref);
        const previous = await ctx.objects.manifest();
        const known = new Map(previous?.shards.map((s) => [s.shard, s]));
        const listed = await whileBeating(
          ctx.objects.listShardRecords(
            async (shard) => known.get(shard) ?? (await ctx.objects.sidecar(shard)),
          ),
        );
        const missing: IndexEntry[] = [];
        for (const r of listed.committed) {
          if (known.has(r.shard)) continue;
          const sidecar = await ctx.objects.sidecar(r.shard);
          if (sidecar) missing.push(indexEntryOf(sidecar));
        }
        if (missing.length > 0 || !previous) await whileBeating(merge(ctx, missing));
        return listed.committed.map((r) => r.shard);
      });
    },

    /** Merges the entries of shards the workflow saw finish; never lists the run. */
    async recordShards(ref: RunRef, entries: IndexEntry[]): Promise<IndexSummary> {
      return failFastOnBadInput(async () => {
        const ctx = await runContext(ref);
        return summary(await whileBeating(merge(ctx, entries)));
      });
    },

    /**
     * When the index names every planned shard: removes staging (a stage attempt that timed
     * out but kept running may have written a part after its shard's commit), writes the
     * quality report and `_SUCCESS`. Safe to repeat.
     */
    async finishRun(ref: RunRef): Promise<IndexSummary> {
      return failFastOnBadInput(async () => {
        const ctx = await runContext(ref);
        const manifest = await ctx.objects.manifest();
        const result = summary(manifest);
        if (!result.complete) return result;
        await ctx.store.deletePrefix(ctx.keys.stagingPrefix);
        await whileBeating(writeRunReports(ctx.store, ref.runId, { html: true }));
        await ctx.store.put(
          ctx.keys.success,
          `${JSON.stringify({ runId: ref.runId, shards: result.shards, samples: result.samples })}\n`,
        );
        return result;
      });
    },
  };
}
