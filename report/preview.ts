import sharp from 'sharp';
import { z } from 'zod';

/**
 * A shard's preview: a few small thumbnails of what it committed (per calibrated class) and of
 * what it rejected (per reason), plus when it committed. Written by commit beside the sidecar,
 * because rejected images live only in staging, which is removed right after the commit; the
 * HTML report reads previews, never tars or staging. Bounded (previewQuota per class and per
 * reason, THUMB_PX JPEGs of ~2 KB) and deterministic (the first in planned order).
 */
export const THUMB_PX = 96;
/** Thumbnails the report shows per class and per reject reason, taken from the first shards. */
export const SHEET_PER_GROUP = 12;

/**
 * Thumbnails per class and per reason in one shard: enough that a small run (a handful of
 * shards) fills the report's sheets, and one per group in a large run (~40 KB per shard).
 */
export function previewQuota(shardCount: number): number {
  return Math.min(4, Math.max(1, Math.ceil(SHEET_PER_GROUP / Math.max(1, shardCount))));
}

export const PreviewSampleSchema = z.object({
  key: z.string(),
  /** Intended class index (AffectNet order). */
  intended: z.number().int().min(0),
  /** Calibrated class index, null when the calibrator gave none (no face, decode error). */
  calibrated: z.number().int().min(0).nullable(),
  confidence: z.number().min(0).max(1),
  /** Reject reasons; empty for a committed sample. */
  reasons: z.array(z.string()),
  /** THUMB_PX JPEG, base64. */
  jpeg: z.string(),
});
export type PreviewSample = z.infer<typeof PreviewSampleSchema>;

export const ShardPreviewSchema = z.object({
  format: z.literal('synfarm-preview-v1'),
  shard: z.number().int().min(0),
  /** When the shard was committed (ISO 8601): the report's throughput over time. */
  committedAt: z.string(),
  samples: z.number().int().min(0),
  kept: z.array(PreviewSampleSchema),
  rejects: z.array(PreviewSampleSchema),
});
export type ShardPreview = z.infer<typeof ShardPreviewSchema>;

/** A small JPEG of an image (jpg or png bytes), as base64: embeddable as a data: URI. */
export async function thumbnail(bytes: Uint8Array, px = THUMB_PX): Promise<string> {
  const out = await sharp(bytes).resize(px, px, { fit: 'cover' }).jpeg({ quality: 72 }).toBuffer();
  return out.toString('base64');
}

export interface PreviewOffer {
  key: string;
  bytes: Uint8Array;
  intended: number;
  calibrated: number | null;
  confidence: number;
  /** Empty when the sample is committed. */
  reasons: readonly string[];
}

/** Collects a shard's preview from samples offered in planned order; keeps only what it needs. */
export class PreviewCollector {
  constructor(readonly perGroup: number) {}
  readonly #kept: PreviewSample[] = [];
  readonly #rejects: PreviewSample[] = [];
  readonly #perClass = new Map<number, number>();
  readonly #perReason = new Map<string, number>();

  async offer(s: PreviewOffer): Promise<void> {
    if (s.reasons.length === 0) {
      const cls = s.calibrated ?? s.intended;
      if ((this.#perClass.get(cls) ?? 0) >= this.perGroup) return;
      this.#perClass.set(cls, (this.#perClass.get(cls) ?? 0) + 1);
      this.#kept.push(await this.#sample(s));
      return;
    }
    // A reject with several reasons is shown once, under each reason that still has room.
    const wanted = s.reasons.filter((r) => (this.#perReason.get(r) ?? 0) < this.perGroup);
    if (wanted.length === 0) return;
    for (const r of wanted) this.#perReason.set(r, (this.#perReason.get(r) ?? 0) + 1);
    this.#rejects.push(await this.#sample(s));
  }

  async #sample(s: PreviewOffer): Promise<PreviewSample> {
    let jpeg = '';
    try {
      jpeg = await thumbnail(s.bytes);
    } catch {
      // An image sharp cannot decode (the calibrator's decode-error reject) has no thumbnail;
      // the report shows its caption over an empty tile.
    }
    return {
      key: s.key,
      intended: s.intended,
      calibrated: s.calibrated,
      confidence: s.confidence,
      reasons: [...s.reasons],
      jpeg,
    };
  }

  build(shard: number, samples: number, committedAt: Date): ShardPreview {
    return {
      format: 'synfarm-preview-v1',
      shard,
      committedAt: committedAt.toISOString(),
      samples,
      kept: this.#kept,
      rejects: this.#rejects,
    };
  }
}
