import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createCommit } from '../activities/commit';
import type { ActivityDeps } from '../activities/deps';
import { filterRound, readDecisions } from '../activities/filter';
import { createGenerate } from '../activities/generate';
import { createRunContexts } from '../activities/run-context';
import { createRunIndexActivities } from '../activities/run-index';
import type { CommitResult } from '../activities/types';
import { MEASUREMENT } from '../filter';
import type { Calibration } from '../models/calibrator/schema';
import { createProceduralGenerator, renderOne } from '../models/procedural';
import { AFFECTNET_CLASSES } from '../plan/expressions';
import { runKeys } from '../run/layout';
import { ManifestSchema } from '../run/manifest';
import { packGeneratedPart, packLabels } from '../run/parts';
import { parseSidecar } from '../run/sidecar';
import { resolveSpec, specToJson } from '../spec';
import { openStore } from '../storage';
import { readSamples } from '../webdataset';
import { inActivity } from './support/in-activity';

/**
 * A run of 2 shards x 2 samples (one happy, one sad each) on a file:// store, with parts written
 * by hand: the images chosen per test, labels as an ensemble would give with a face found. Parts
 * hold `batchSize` samples, so 1 puts each sample of a round in a part of its own.
 */
async function setup(images: Record<string, Uint8Array>, batchSize = 8) {
  const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-filter-'));
  const output = pathToFileURL(dir).href;
  const spec = resolveSpec({
    runId: 'dedupe',
    target: 4,
    shardSize: 2,
    classes: ['happy', 'sad'],
    generator: { backend: 'procedural', batchSize },
    filter: { maxRounds: 2 },
    output,
  });
  const store = openStore(output);
  await store.put(`${spec.runId}/spec.json`, specToJson(spec));
  const deps = { openStore: () => store, models: {} as never } as ActivityDeps;
  const contexts = createRunContexts(deps);
  const ctx = await contexts({ outputUrl: output, runId: spec.runId });
  async function stage(
    shard: number,
    round: number,
    classCounts?: number[],
    readAs?: (cls: number) => number,
  ) {
    const requests = ctx.planRound(shard, round, classCounts);
    for (let at = 0; at < requests.length; at += batchSize) {
      await stagePart(shard, round, at / batchSize, requests.slice(at, at + batchSize), readAs);
    }
    return requests;
  }
  async function stagePart(
    shard: number,
    round: number,
    part: number,
    requests: ReturnType<typeof ctx.planRound>,
    readAs?: (cls: number) => number,
  ) {
    const gen = requests.map((r) => ({
      key: r.key,
      bytes: images[`${shard}/${round}/${r.className}`]!,
      format: 'jpg' as const,
      width: 224,
      height: 224,
      meta: {},
    }));
    await store.put(
      ctx.keys.generatedPart(shard, round, part),
      await packGeneratedPart(gen, requests, { id: 'fixture', version: '1' }),
    );
    const labels: Calibration[] = requests.map((r) => {
      const read = readAs ? readAs(r.classIndex) : r.classIndex;
      const onehot = Array.from({ length: 8 }, (_, i) => (i === read ? 1 : 0));
      return {
        key: r.key,
        calibrator: { id: 'fixture', version: '1', backend: null },
        intended: { classIndex: r.classIndex, className: r.className },
        models: { m: onehot },
        ensemble: onehot,
        softLabel: onehot,
        classIndex: read,
        className: AFFECTNET_CLASSES[read]!,
        confidence: 1,
        agrees: read === r.classIndex,
        aus: { requested: r.aus, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
        face: { box: { x: 40, y: 30, width: 150, height: 170 }, score: 0.95, count: 1 },
        error: null,
      };
    });
    await store.put(ctx.keys.labelsPart(shard, round, part), packLabels(labels));
  }
  const commit = createCommit(deps, contexts);
  return { spec, store, ctx, stage, output, commit, deps, contexts };
}
type Setup = Awaited<ReturnType<typeof setup>>;

describe('filter activity: near-duplicates within a shard and run-wide', () => {
  it('rejects a sample repeating a kept one of the same round, then of an earlier round', async () => {
    const face = (await renderOne({ className: 'happy', seed: 3 })).bytes;
    const other = (await renderOne({ className: 'sad', seed: 4 })).bytes;
    const t = await setup({ '0/0/happy': face, '0/0/sad': face, '0/1/sad': face });
    const ref = { outputUrl: t.output, runId: t.spec.runId, shard: 0 };
    await t.stage(0, 0);
    const r0 = await filterRound(t.ctx, { ...ref, round: 0 });
    // The stored decisions name the measurement behind them.
    expect((await readDecisions(t.ctx, 0, 0))?.measurement).toBe(MEASUREMENT);
    const [first, second] = r0.current.decisions;
    // Planned order decides which copy survives: the earlier key is kept.
    expect(first!.keep).toBe(true);
    expect(second).toMatchObject({
      keep: false,
      reasons: ['near-duplicate'],
      details: { duplicateOf: first!.key },
    });
    await t.stage(0, 1, [0, 0, 1, 0, 0, 0, 0, 0]);
    const r1 = await filterRound(t.ctx, { ...ref, round: 1, classCounts: [0, 0, 1, 0, 0, 0, 0, 0] });
    expect(r1.current.decisions[0]).toMatchObject({ keep: false, details: { duplicateOf: first!.key } });
    // With a different image the deficit is made up.
    const t2 = await setup({ '0/0/happy': face, '0/0/sad': other });
    await t2.stage(0, 0);
    const ok = await filterRound(t2.ctx, { ...ref, outputUrl: t2.output, round: 0 });
    expect(ok.current.decisions.map((d) => d.keep)).toEqual([true, true]);
  });

  it('hashes an earlier round filtered under another measurement again, and trusts one under this', async () => {
    const face = (await renderOne({ className: 'happy', seed: 3 })).bytes;
    const other = (await renderOne({ className: 'sad', seed: 4 })).bytes;
    const ref = { runId: 'dedupe', shard: 0 };
    const deficit = [0, 0, 1, 0, 0, 0, 0, 0];
    // Round 0 keeps both samples, `face` last (in a part of its own when batchSize is 1); their
    // stored hashes are then complemented, bit for bit, as a measurement that disagrees with this
    // one by more than the dedupe radius would have stored them. Round 1 repeats `face`.
    const roundOne = async (
      measurement: string | undefined,
      batchSize = 8,
      lose?: (t: Setup) => Promise<void>,
    ) => {
      const t = await setup({ '0/0/happy': other, '0/0/sad': face, '0/1/sad': face }, batchSize);
      await t.stage(0, 0);
      const r0 = await filterRound(t.ctx, { ...ref, outputUrl: t.output, round: 0 });
      expect(r0.current.decisions.map((d) => d.keep)).toEqual([true, true]);
      const complement = (h: string) =>
        [...h].map((c) => (15 - Number.parseInt(c, 16)).toString(16)).join('');
      const decisions = r0.current.decisions.map((d) => ({ ...d, phash: complement(d.phash!) }));
      await t.store.put(t.ctx.keys.decisions(0, 0), JSON.stringify({ round: 0, measurement, decisions }));
      await lose?.(t);
      await t.stage(0, 1, deficit);
      const r1 = await filterRound(t.ctx, { ...ref, outputUrl: t.output, round: 1, classCounts: deficit });
      return r1.current.decisions[0]!;
    };
    const duplicate = { keep: false, reasons: ['near-duplicate'] };
    // Decisions from before measurements were recorded, or from another one: measured again.
    expect(await roundOne(undefined)).toMatchObject(duplicate);
    expect(await roundOne('sharp-grey/0')).toMatchObject(duplicate);
    // Every part of the round is read, not only the first.
    expect(await roundOne(undefined, 1)).toMatchObject(duplicate);
    // A staged part that is gone is an error, not a shorter list of hashes.
    await expect(
      roundOne(undefined, 1, (t) => t.store.delete(t.ctx.keys.labelsPart(0, 0, 1))),
    ).rejects.toThrow();
    // Under this measurement the stored hash is the truth, so the far one lets the repeat through.
    expect(await roundOne(MEASUREMENT)).toMatchObject({ keep: true });
  });

  it('a shard decides the same whether or not another shard is committed, and reuses its decision', async () => {
    const a = (await renderOne({ className: 'happy', seed: 11 })).bytes;
    const b = (await renderOne({ className: 'sad', seed: 12 })).bytes;
    const c = (await renderOne({ className: 'sad', seed: 13 })).bytes;
    const images = { '0/0/happy': a, '0/0/sad': b, '1/0/happy': a, '1/0/sad': c };
    const alone = await setup(images);
    const ref1 = { outputUrl: alone.output, runId: alone.spec.runId, shard: 1 };
    await alone.stage(1, 0);
    const first = await filterRound(alone.ctx, { ...ref1, round: 0 });

    const after = await setup(images);
    const ref0 = { outputUrl: after.output, runId: after.spec.runId, shard: 0 };
    await after.stage(0, 0);
    await filterRound(after.ctx, { ...ref0, round: 0 });
    await inActivity(() => after.commit(ref0));
    await after.stage(1, 0);
    const second = await filterRound(after.ctx, { ...ref0, shard: 1, round: 0 });
    expect(second.current).toEqual(first.current);
    // The repeat of shard 0's image is kept here: across shards the run index decides.
    expect(second.current.decisions.every((d) => d.keep)).toBe(true);
    // A retry reads the stored decisions back instead of deciding again.
    const again = await filterRound(after.ctx, { ...ref0, shard: 1, round: 0 });
    expect(again.current).toEqual(second.current);
    expect(await readDecisions(after.ctx, 1, 0)).toEqual(second.current);
  });

  it('the run index excludes a cross-shard near-duplicate by key order, whatever order shards arrive in', async () => {
    const a = (await renderOne({ className: 'happy', seed: 11 })).bytes;
    const b = (await renderOne({ className: 'sad', seed: 12 })).bytes;
    const c = (await renderOne({ className: 'sad', seed: 13 })).bytes;
    const images = { '0/0/happy': a, '0/0/sad': b, '1/0/happy': a, '1/0/sad': c };
    const manifests: string[] = [];
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const t = await setup(images);
      const results: CommitResult[] = [];
      for (const shard of [0, 1]) {
        const ref = { outputUrl: t.output, runId: t.spec.runId, shard };
        await t.stage(shard, 0);
        await filterRound(t.ctx, { ...ref, round: 0 });
        results[shard] = await inActivity(() => t.commit(ref));
      }
      const index = createRunIndexActivities(t.contexts);
      const run = { outputUrl: t.output, runId: t.spec.runId };
      for (const shard of order) {
        const { alreadyCommitted: _, ...entry } = results[shard]!;
        await inActivity(() => index.recordShards(run, [entry]));
      }
      const manifest = ManifestSchema.parse(
        JSON.parse(Buffer.from(await t.store.get(t.ctx.keys.manifest)).toString()),
      );
      expect(manifest.excluded).toEqual([{ key: '000001_000000', duplicateOf: '000000_000000' }]);
      expect(manifest.state).toBe('complete');
      const base = t.store.url;
      manifests.push(JSON.stringify(manifest).split(base).join('BASE'));
    }
    expect(manifests[1]).toBe(manifests[0]);
  });

  it('commit records quality aggregates in the sidecar', async () => {
    const a = (await renderOne({ className: 'happy', seed: 31 })).bytes;
    const b = (await renderOne({ className: 'sad', seed: 32 })).bytes;
    const t = await setup({ '0/0/happy': a, '0/0/sad': b });
    const ref0 = { outputUrl: t.output, runId: t.spec.runId, shard: 0 };
    await t.stage(0, 0);
    await filterRound(t.ctx, { ...ref0, round: 0 });
    await inActivity(() => t.commit(ref0));
    const sidecar = parseSidecar(await t.store.get(t.ctx.keys.shardSidecar(0)));
    expect(sidecar.quality).toMatchObject({ generated: 2, faceDetected: 2, noFace: 0 });
    expect(sidecar.quality!.confusion[1]![1]).toBe(1);
    expect(sidecar.quality!.confusion[2]![2]).toBe(1);
    // One-hot soft labels have zero entropy: both in the first bin.
    expect(sidecar.quality!.entropyBins[0]).toBe(2);
    expect(sidecar.guidance).toEqual([]);
  });
});

describe('guidance loop through the stages', () => {
  it('a misread class gets guidance from the filter, generate applies it, commit records it', async () => {
    const a = (await renderOne({ className: 'happy', seed: 41 })).bytes;
    const b = (await renderOne({ className: 'sad', seed: 42 })).bytes;
    // Happy is read as neutral (kept with a soft label under synfer), and sad is blurred away by
    // an impossible sharpness floor, so the shard needs a deficit round for sad only.
    const t = await setup({ '0/0/happy': a, '0/0/sad': b });
    const ref = { outputUrl: t.output, runId: t.spec.runId, shard: 0 };
    // This test's own cached spec: an impossible floor in round 0, none in round 1.
    t.ctx.spec.filter.minSharpness = 1e5;
    await t.stage(0, 0, undefined, (c) => (c === 1 ? 0 : c));
    const r0 = await filterRound(t.ctx, { ...ref, round: 0 });
    expect(r0.current.decisions.map((d) => d.reasons)).toEqual([['blurred'], ['blurred']]);
    const g = JSON.parse(Buffer.from(await t.store.get(runKeys(t.spec.runId).guidance(0, 1))).toString());
    expect(g.classes.happy).toMatchObject({ confusedWith: 'neutral', basis: { recognised: 0 } });
    expect(g.classes.sad.gain).toBeGreaterThan(1);

    t.ctx.spec.filter.minSharpness = 0;
    const counts = [0, 1, 1, 0, 0, 0, 0, 0];
    const generator = createProceduralGenerator();
    const deps = {
      ...t.deps,
      models: { generator: async () => generator, calibrator: async () => ({}) as never },
    };
    await inActivity(() => createGenerate(deps, t.contexts)({ ...ref, round: 1, classCounts: counts }));
    const planned = t.ctx.planRound(0, 1, counts);
    const staged = [];
    for await (const s of readSamples([await t.store.get(t.ctx.keys.generatedPart(0, 1, 0))])) staged.push(s);
    const sadPlanned = planned.find((r) => r.className === 'sad')!;
    const sadStaged = staged.find((x) => x.__key__ === sadPlanned.key)!;
    const sadReq = JSON.parse(Buffer.from(sadStaged['req.json'] as Uint8Array).toString());
    for (const au of ['AU1', 'AU4', 'AU15'] as const)
      expect(sadReq.aus[au]).toBeGreaterThan(sadPlanned.aus[au]!);
    const gen = JSON.parse(Buffer.from(sadStaged['gen.json'] as Uint8Array).toString());
    expect(gen.generator.meta.guidance).toMatchObject({ round: 1, gain: g.classes.sad.gain });

    // Round 1's labels: round 0's first label re-keyed, every sample read as intended.
    const template = JSON.parse(Buffer.from(await t.store.get(t.ctx.keys.labelsPart(0, 0, 0))).toString())[0];
    const labels = planned.map((r) => ({
      ...template,
      key: r.key,
      intended: { classIndex: r.classIndex, className: r.className },
      classIndex: r.classIndex,
      className: r.className,
      aus: { requested: r.aus, measured: null, lipCornerAsymmetry: null, asymmetricSide: null },
    }));
    await t.store.put(t.ctx.keys.labelsPart(0, 1, 0), JSON.stringify(labels));
    await filterRound(t.ctx, { ...ref, round: 1, classCounts: counts });
    await inActivity(() => t.commit(ref));
    const sidecar = parseSidecar(await t.store.get(t.ctx.keys.shardSidecar(0)));
    expect(sidecar.guidance).toHaveLength(1);
    const sad = sidecar.guidance![0]!.classes.find((c) => c.className === 'sad')!;
    expect(sad).toMatchObject({ acceptanceBefore: 0, acceptanceAfter: 1, samplesAfter: 1 });
    const tar = await t.store.get(t.ctx.keys.shardTar(0));
    const jsons = [];
    for await (const s of readSamples([tar]))
      jsons.push(JSON.parse(Buffer.from(s.json as Uint8Array).toString()));
    const guidedSample = jsons.find((j) => j.intended.className === 'sad')!;
    expect(guidedSample.guidance.changed.AU15[1]).toBe(guidedSample.aus.requested.AU15);
  });
});
