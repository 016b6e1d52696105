import type { Readable } from 'node:stream';

/** How a streamed object is written (ObjectStore.putStream). */
export interface PutStreamOptions {
  contentType?: string;
  signal?: AbortSignal;
  /**
   * The body's SHA-256 (hex), for a caller that hashes the bytes as they stream past: called once
   * the body has ended, it returns the digest, or undefined when it has none. On S3 an object sent
   * as one PutObject is then signed and checksummed with it instead of being hashed twice more
   * (SigV4's payload hash and the CRC32), and the server refuses it if the bytes disagree.
   */
  sha256?: () => string | undefined;
}

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * The object store as synfarm sees it: keys relative to the store's base URL
 * (`s3://bucket/prefix` or `file:///dir`). Both implementations keep the same guarantees,
 * so every caller is tested once against each.
 */
export interface ObjectStore {
  /** Base URL this store was opened with, without credentials. */
  readonly url: string;
  put(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void>;
  /**
   * Streams a large object (multipart on S3). Atomic from a reader's view: until the returned
   * promise resolves, `key` is neither listed nor readable; on failure nothing is left behind.
   */
  putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options?: PutStreamOptions,
  ): Promise<{ bytes: number }>;
  /** Writes only if the key does not exist yet; returns false when it already did. */
  putIfAbsent(key: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<boolean>;
  /**
   * Compare-and-swap: writes only while the stored object's version is still `etag` (from
   * `getVersioned`), or, with `etag` null, only while the key does not exist. Returns false when
   * the condition fails (someone else wrote first): re-read, re-apply, retry. Only writers that
   * all use this (or putIfAbsent) are ordered by it; a plain put is not.
   */
  putIfMatch(
    key: string,
    body: Uint8Array | string,
    etag: string | null,
    options?: { contentType?: string },
  ): Promise<boolean>;
  /** Throws ObjectNotFoundError when missing. */
  get(key: string): Promise<Uint8Array>;
  /** The bytes with their version tag (S3's ETag), for a later putIfMatch; throws when missing. */
  getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }>;
  /** Optional byte range [start, end] inclusive, like HTTP Range. */
  getStream(key: string, range?: { start: number; end?: number }): Promise<Readable>;
  head(key: string): Promise<ObjectInfo | null>;
  /** Keys under a prefix, in lexicographic order. */
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Aborts unfinished multipart uploads under a prefix (left by killed writers, and billed until
   * aborted); returns how many. The file store has none to abort: its temp files are unlinked on
   * failure, so it returns 0.
   */
  abortIncompleteUploads(prefix: string): Promise<number>;
  /** A URL a consumer without synfarm can read: presigned https for S3, file:// for local. */
  publicUrl(key: string, options?: { expiresInSeconds?: number }): Promise<string>;
}
