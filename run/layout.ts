import { pad6, shardName } from '../plan/keys';
import { RUN_ID_EXPECTED, RUN_ID_PATTERN } from '../spec/schema';

/** A run id that is not one (e.g. `a/b`, `..`, from a command line): it would name keys outside its run. */
export class InvalidRunIdError extends Error {
  override readonly name = 'InvalidRunIdError';
  readonly code = 'invalid-run-id';
  readonly field = 'runId';
  constructor(readonly runId: string) {
    super(`run id ${JSON.stringify(runId)} is not valid: expected ${RUN_ID_EXPECTED}`);
  }
}

/**
 * Every object key of a run, relative to the output URL, in one place (DESIGN.md, "Object
 * layout"). Consumers, resume logic and the farm all derive keys from here. The run id is checked
 * here, where every key is made: a run id with a slash would otherwise reach into another run's
 * folder (`other/staging`) with keys the store accepts.
 */
export const runKeys = (runId: string) => {
  if (typeof runId !== 'string' || !RUN_ID_PATTERN.test(runId)) throw new InvalidRunIdError(String(runId));
  return layout(runId);
};

const layout = (runId: string) => ({
  spec: `${runId}/spec.json`,
  manifest: `${runId}/manifest.json`,
  widsIndex: `${runId}/wids-index.json`,
  success: `${runId}/_SUCCESS`,
  report: `${runId}/report.json`,
  shardsPrefix: `${runId}/shards/`,
  shardTar: (shard: number) => `${runId}/shards/${shardName(shard)}.tar`,
  shardSidecar: (shard: number) => `${runId}/shards/${shardName(shard)}.json`,
  stagingPrefix: `${runId}/staging/`,
  shardStaging: (shard: number) => `${runId}/staging/${shardName(shard)}/`,
  roundPrefix: (shard: number, round: number) => `${runId}/staging/${shardName(shard)}/r${round}/`,
  generatedPart: (shard: number, round: number, part: number) =>
    `${runId}/staging/${shardName(shard)}/r${round}/gen-${pad6(part)}.tar`,
  labelsPart: (shard: number, round: number, part: number) =>
    `${runId}/staging/${shardName(shard)}/r${round}/cal-${pad6(part)}.json`,
  decisions: (shard: number, round: number) => `${runId}/staging/${shardName(shard)}/r${round}/filter.json`,
  /** Steering the filter of round r-1 left for round r's generate. */
  guidance: (shard: number, round: number) => `${runId}/staging/${shardName(shard)}/r${round}/guidance.json`,
  /** Kept perceptual hashes of each committed shard: the run-wide duplicate index. */
  dedupePrefix: `${runId}/dedupe/`,
  dedupeIndex: (shard: number) => `${runId}/dedupe/${shardName(shard)}.json`,
  /** A few thumbnails of each shard's kept and rejected samples, and its commit time: report.html's. */
  previewPrefix: `${runId}/preview/`,
  shardPreview: (shard: number) => `${runId}/preview/${shardName(shard)}.json`,
  reportHtml: `${runId}/report.html`,
});

/** Whether a key is a staged intermediate (`<runId>/staging/...`): written once per content. */
export function isStagingKey(key: string): boolean {
  const slash = key.indexOf('/');
  return slash > 0 && key.startsWith('staging/', slash + 1);
}

const SIDECAR = /\/shards\/shard-(\d{6})\.json$/;

/** The shard index of a sidecar key, or undefined for any other key. */
export function shardOfSidecar(key: string): number | undefined {
  const m = SIDECAR.exec(key);
  return m ? Number(m[1]) : undefined;
}
