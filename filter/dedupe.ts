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
    let best: number | undefined;
    for (const i of this.candidates(hash)) if (best === undefined || i < best) best = i;
    return best === undefined ? undefined : this.entryAt(best, hash);
  }

  /** Every entry within `radius` bits of `hash`, in the order added. */
  within(hash: string): { key: string; distance: number }[] {
    return [...this.candidates(hash)].sort((a, b) => a - b).map((i) => this.entryAt(i, hash));
  }

  private entryAt(i: number, hash: string): { key: string; distance: number } {
    return { key: this.entries[i]!.key, distance: hamming(hash, this.entries[i]!.hash) };
  }

  private candidates(hash: string): Set<number> {
    const found = new Set<number>();
    const consider = (i: number) => {
      if (!found.has(i) && hamming(hash, this.entries[i]!.hash) <= this.radius) found.add(i);
    };
    if (this.blocks.length === 0) {
      for (let i = 0; i < this.entries.length; i++) consider(i);
    } else {
      const bits = toBits(hash);
      for (let b = 0; b < this.blocks.length; b++) {
        for (const i of this.buckets[b]!.get(this.blockKey(bits, b)) ?? []) consider(i);
      }
    }
    return found;
  }
}

function toBits(hash: string): string {
  let s = '';
  for (const ch of hash) s += Number.parseInt(ch, 16).toString(2).padStart(4, '0');
  return s;
}

/**
 * A committed shard's kept hashes, written by commit before its sidecar, for the run-level pass
 * (`RunDedupe`) the run index writer makes (see filter/README.md, "Dedupe").
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

export interface Exclusion {
  key: string;
  duplicateOf: string;
}

const shardOfKey = (key: string) => key.slice(0, key.indexOf('_'));
const byKey = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The run-level near-duplicate pass. Rule: a committed sample is excluded when a sample of
 * another committed shard with a smaller key lies within the radius; it names the smallest such
 * key. Within a shard the filter already decided (in planned order). The rule looks only at
 * the set of committed samples, never at the order shards arrived in, so exclusions only grow
 * as shards commit and the final list is a pure function of the spec.
 */
export class RunDedupe {
  private readonly index: HashIndex;
  private readonly indexed = new Set<number>();

  constructor(radius: number) {
    this.index = new HashIndex(radius);
  }

  has(shard: number): boolean {
    return this.indexed.has(shard);
  }

  /** The shards added so far. */
  shards(): number[] {
    return [...this.indexed];
  }

  /** Adds one shard's kept hashes; returns the exclusions its arrival creates (either side). */
  addShard(index: DedupeIndex): Exclusion[] {
    if (this.indexed.has(index.shard)) return [];
    const out = new Map<string, Exclusion>();
    const note = (key: string, duplicateOf: string) => {
      const prev = out.get(key);
      if (!prev || byKey(duplicateOf, prev.duplicateOf) < 0) out.set(key, { key, duplicateOf });
    };
    for (const h of index.hashes) {
      for (const m of this.index.within(h.phash)) {
        if (shardOfKey(m.key) === shardOfKey(h.key)) continue;
        if (byKey(m.key, h.key) < 0) note(h.key, m.key);
        else note(m.key, h.key);
      }
    }
    for (const h of index.hashes) this.index.add(h.phash, h.key);
    this.indexed.add(index.shard);
    return [...out.values()].sort((a, b) => byKey(a.key, b.key));
  }
}
