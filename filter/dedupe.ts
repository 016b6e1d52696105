import { z } from 'zod';
import { hamming } from './phash';

/**
 * Near-duplicate lookup over 64-bit hashes. For a radius d < 16 the hash is cut into d + 1
 * blocks: two hashes within d bits agree exactly on at least one block (pigeonhole), so only
 * hashes sharing a block are compared — a run-wide index of a million hashes stays fast.
 */
export class HashIndex {
  private readonly entries: { hash: string; key: string }[] = [];
  private readonly blocks: { start: number; end: number }[];
  private readonly buckets: Map<string, number[]>[];

  constructor(readonly radius: number) {
    const n = radius < 16 ? radius + 1 : 0;
    this.blocks = Array.from({ length: n }, (_, b) => ({
      start: Math.floor((b * 64) / n),
      end: Math.floor(((b + 1) * 64) / n),
    }));
    this.buckets = this.blocks.map(() => new Map());
  }

  get size(): number {
    return this.entries.length;
  }

  private blockKey(bits: string, b: number): string {
    const { start, end } = this.blocks[b]!;
    return bits.slice(start, end);
  }

  add(hash: string, key: string): void {
    const i = this.entries.push({ hash, key }) - 1;
    if (this.blocks.length === 0) return;
    const bits = toBits(hash);
    for (let b = 0; b < this.blocks.length; b++) {
      const k = this.blockKey(bits, b);
      const bucket = this.buckets[b]!.get(k);
      if (bucket) bucket.push(i);
      else this.buckets[b]!.set(k, [i]);
    }
  }

  /** The earliest added entry within `radius` bits of `hash`, if any. */
  nearest(hash: string): { key: string; distance: number } | undefined {
    let best: { index: number; distance: number } | undefined;
    const consider = (i: number) => {
      const d = hamming(hash, this.entries[i]!.hash);
      if (d <= this.radius && (!best || i < best.index)) best = { index: i, distance: d };
    };
    if (this.blocks.length === 0) {
      for (let i = 0; i < this.entries.length; i++) consider(i);
    } else {
      const bits = toBits(hash);
      for (let b = 0; b < this.blocks.length; b++) {
        for (const i of this.buckets[b]!.get(this.blockKey(bits, b)) ?? []) consider(i);
      }
    }
    return best ? { key: this.entries[best.index]!.key, distance: best.distance } : undefined;
  }
}

function toBits(hash: string): string {
  let s = '';
  for (const ch of hash) s += Number.parseInt(ch, 16).toString(2).padStart(4, '0');
  return s;
}

/**
 * A committed shard's kept hashes, written by commit right after the sidecar. Later filters
 * compare against the indexes present when they run (see filter/README.md, "Run-wide dedupe").
 */
export const DedupeIndexSchema = z.object({
  format: z.literal('synfarm-dedupe-v1'),
  shard: z.number().int().min(0),
  hashes: z.array(z.object({ key: z.string(), phash: z.string().regex(/^[0-9a-f]{16}$/) })),
});
export type DedupeIndex = z.infer<typeof DedupeIndexSchema>;

const INDEX_KEY = /\/dedupe\/shard-(\d{6})\.json$/;
export function shardOfDedupeIndex(key: string): number | undefined {
  const m = INDEX_KEY.exec(key);
  return m ? Number(m[1]) : undefined;
}
