import { Readable } from 'node:stream';
import { InvalidRangeError } from './errors';
import { assertValidRange } from './keys';
import type { ObjectInfo, ObjectStore } from './object-store';

export interface PartCacheOptions {
  /** Bytes of objects kept in memory, least recently used dropped first. */
  maxBytes: number;
  /** Which keys are worth keeping (e.g. staged parts); others pass straight through. */
  cacheable: (key: string) => boolean;
}

/**
 * An ObjectStore that remembers, within a byte budget, the objects this process has just written,
 * so a later stage in the same worker (calibrate after generate, commit after filter) reads them
 * from memory instead of fetching them back. Storage stays the durable checkpoint: every write
 * goes through to it first and is remembered only once it succeeded, so a crash loses nothing
 * but the cache. Listing and `head` always ask storage; reads of a key it has not seen, or has
 * let go, fall back to storage. Only immutable-by-design objects should be cacheable (staged parts
 * are a pure function of their key, so a rewrite by another worker writes the same bytes).
 */
export function withPartCache(store: ObjectStore, options: PartCacheOptions): ObjectStore {
  // Map iteration order is insertion order: re-inserting on use makes it an LRU.
  const entries = new Map<string, Uint8Array>();
  let bytes = 0;
  const forget = (key: string) => {
    const old = entries.get(key);
    if (old !== undefined) {
      bytes -= old.byteLength;
      entries.delete(key);
    }
  };
  const remember = (key: string, body: Uint8Array) => {
    forget(key);
    if (body.byteLength > options.maxBytes) return;
    entries.set(key, body);
    bytes += body.byteLength;
    for (const [k] of entries) {
      if (bytes <= options.maxBytes) break;
      forget(k);
    }
  };
  const recall = (key: string): Uint8Array | undefined => {
    const hit = entries.get(key);
    if (hit !== undefined) {
      entries.delete(key);
      entries.set(key, hit);
    }
    return hit;
  };
  const asBytes = (body: Uint8Array | string) => (typeof body === 'string' ? Buffer.from(body) : body);

  const cached: ObjectStore = {
    url: store.url,
    async put(key, body, putOptions) {
      await store.put(key, body, putOptions);
      if (options.cacheable(key)) remember(key, asBytes(body));
      else forget(key);
    },
    async putStream(key, body, putOptions) {
      if (!options.cacheable(key)) {
        forget(key);
        return store.putStream(key, body, putOptions);
      }
      // Keep the chunks as they stream past, up to the budget; remembered only once stored.
      const chunks: Uint8Array[] = [];
      let size = 0;
      let keep = true;
      async function* tee() {
        for await (const chunk of body as AsyncIterable<Uint8Array | string>) {
          const data = asBytes(chunk);
          if (keep) {
            size += data.byteLength;
            if (size > options.maxBytes) {
              keep = false;
              chunks.length = 0;
            } else chunks.push(data);
          }
          yield data;
        }
      }
      forget(key);
      const result = await store.putStream(key, tee(), putOptions);
      if (keep) remember(key, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
      return result;
    },
    async putIfAbsent(key, body, putOptions) {
      const written = await store.putIfAbsent(key, body, putOptions);
      if (written && options.cacheable(key)) remember(key, asBytes(body));
      return written;
    },
    async putIfMatch(key, body, etag, putOptions) {
      forget(key); // versioned objects are read with their tag, never from the cache
      return store.putIfMatch(key, body, etag, putOptions);
    },
    async get(key) {
      return recall(key) ?? store.get(key);
    },
    getVersioned(key) {
      return store.getVersioned(key);
    },
    async getStream(key, range) {
      const hit = recall(key);
      if (hit === undefined) return store.getStream(key, range);
      if (range) {
        assertValidRange(key, range);
        if (range.start >= hit.byteLength) {
          throw new InvalidRangeError(key, range, `the object is only ${hit.byteLength} bytes long`);
        }
      }
      const start = Math.min(range?.start ?? 0, hit.byteLength);
      const end = range?.end === undefined ? hit.byteLength : Math.min(range.end + 1, hit.byteLength);
      return Readable.from([hit.subarray(start, end)]);
    },
    head: (key): Promise<ObjectInfo | null> => store.head(key),
    list: (prefix) => store.list(prefix),
    async delete(key) {
      forget(key);
      await store.delete(key);
    },
    async deletePrefix(prefix) {
      for (const key of [...entries.keys()]) if (key.startsWith(prefix)) forget(key);
      return store.deletePrefix(prefix);
    },
    abortIncompleteUploads: (prefix) => store.abortIncompleteUploads(prefix),
    publicUrl: (key, urlOptions) => store.publicUrl(key, urlOptions),
  };
  return cached;
}
