import { abortable } from '../storage/abortable';
import { readSamples, type Sample, StreamDigest, TarFormatError } from '../webdataset';
import { ChecksumMismatchError, ShortShardError } from './errors';
import type { Segment } from './plan';
import type { RunHandle } from './run';

/** A sample as the reader yields it: Python webdataset's shape, every member as bytes. */
export type RunSample = Sample & { __url__: string };

/** What a reader did, for logs and for `onCorrupt: 'skip'` accounting. */
export interface ReadStats {
  shardsOpened: number;
  /** Shards read to their end and found equal to their sidecar (verify mode). */
  shardsVerified: number;
  bytesRead: number;
  samplesYielded: number;
  /** Samples whose position the reader passed without yielding them (skipped corrupt shards). */
  samplesSkipped: number;
  /** Samples not yielded because the run index excludes them (cross-shard near-duplicates). */
  samplesExcluded: number;
  corruptShards: { shard: number; url: string; code: string; offset: number; message: string }[];
}

export function emptyStats(): ReadStats {
  return {
    shardsOpened: 0,
    shardsVerified: 0,
    bytesRead: 0,
    samplesYielded: 0,
    samplesSkipped: 0,
    samplesExcluded: 0,
    corruptShards: [],
  };
}

export interface SegmentReadOptions {
  /** Check every shard's byte count and sha256 against its sidecar, reading it to its end. */
  verify: boolean;
  onCorrupt: 'fail' | 'skip';
  signal?: AbortSignal;
  stats: ReadStats;
}

/** A position of the reader's stream and its sample, or null where a corrupt shard was skipped. */
export interface Positioned {
  position: number;
  sample: RunSample | null;
}

/**
 * Streams the samples of `segments` in order, one entry per position. Samples before a segment's
 * `from` are read past without decoding (the tar has no index); after `to` the shard is closed,
 * unless verifying, which needs every byte. When verifying, a segment's samples are held until its
 * shard's checksum matched, so a corrupt shard yields nothing rather than half its samples.
 */
export async function* readSegments(
  run: RunHandle,
  segments: Iterable<Segment>,
  options: SegmentReadOptions,
): AsyncGenerator<Positioned> {
  for (const segment of segments) {
    const held: Positioned[] = [];
    let next = segment.position;
    try {
      for await (const sample of segmentSamples(run, segment, options)) {
        // An excluded sample keeps its position (so resume state and rank splits stay exact).
        const excluded = run.excluded.has(sample.__key__);
        if (excluded) options.stats.samplesExcluded++;
        const entry = { position: next++, sample: excluded ? null : sample };
        if (options.verify) held.push(entry);
        else yield entry;
      }
    } catch (error) {
      if (
        !(
          error instanceof TarFormatError ||
          error instanceof ChecksumMismatchError ||
          error instanceof ShortShardError
        )
      )
        throw error;
      if (options.onCorrupt === 'fail') throw error;
      options.stats.corruptShards.push({
        shard: segment.shard.shard,
        url: segment.shard.url,
        code: error.code,
        offset: error.offset,
        message: error.message,
      });
      held.length = 0;
      next = segment.position;
    }
    yield* held;
    const end = segment.position + (segment.to - segment.from);
    // A damaged shard may hold fewer samples than its sidecar says: keep positions aligned.
    for (; next < end; next++) {
      options.stats.samplesSkipped++;
      yield { position: next, sample: null };
    }
  }
}

async function* segmentSamples(
  run: RunHandle,
  segment: Segment,
  options: SegmentReadOptions,
): AsyncGenerator<RunSample> {
  const { shard } = segment;
  options.signal?.throwIfAborted();
  const stream = await run.store.getStream(shard.key);
  options.stats.shardsOpened++;
  const digest = options.verify ? new StreamDigest() : undefined;
  const stats = options.stats;
  let shardBytes = 0;
  async function* bytes(): AsyncGenerator<Uint8Array> {
    for await (const chunk of abortable<Uint8Array>(stream, options.signal)) {
      stats.bytesRead += chunk.length;
      shardBytes += chunk.length;
      if (digest) {
        // Past the sidecar's length there is no need to hash the rest to know it is wrong.
        if (digest.bytes + chunk.length > shard.bytes) {
          throw new ChecksumMismatchError(
            shard.url,
            shard.bytes,
            { bytes: shard.bytes, sha256: shard.sha256 },
            { bytes: digest.bytes + chunk.length, sha256: '(not computed)' },
          );
        }
        digest.update(chunk);
      }
      yield chunk;
    }
    digest?.finish();
  }
  let ordinal = 0;
  for await (const sample of readSamples(bytes(), { name: shard.url })) {
    const index = ordinal++;
    if (index < segment.from) continue;
    if (index < segment.to) yield sample as RunSample;
    else if (!digest) return;
  }
  // A valid tar that ended early: without this the reader would quietly yield fewer samples.
  if (ordinal < Math.min(segment.to, shard.samples)) {
    throw new ShortShardError(shard.url, shardBytes, shard.samples, ordinal);
  }
  if (digest) {
    if (!digest.done) digest.finish();
    if (digest.bytes !== shard.bytes || digest.sha256 !== shard.sha256) {
      throw new ChecksumMismatchError(
        shard.url,
        digest.bytes,
        { bytes: shard.bytes, sha256: shard.sha256 },
        { bytes: digest.bytes, sha256: digest.sha256 },
      );
    }
    stats.shardsVerified++;
  }
}
