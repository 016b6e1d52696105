import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ObjectNotFoundError, StoreOptionError, StoreRequestError } from './errors';
import { assertValidKey, assertValidPrefix, assertValidRange } from './keys';
import type { ObjectInfo, ObjectStore, PutStreamOptions } from './object-store';
import { redact } from './redact';
import { isBodylessHeadError, mapS3Error, sdkErrorSummary } from './s3-errors';
import { PartBuffers, uploadStream } from './s3-multipart';
import type { ServerTraits } from './s3-put-object';

export interface S3StoreConfig {
  bucket: string;
  /** Key prefix inside the bucket: '' or ending in '/'. */
  prefix: string;
  /** Custom endpoint (versitygw, MinIO, ...); AWS's own when absent. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
  /** Static credentials; the standard AWS chain (env, profile, SSO, instance role) when absent. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request, retried by the SDK's standard strategy (backoff with jitter). */
  maxAttempts: number;
  /** Multipart part size in bytes (S3 minimum 5 MiB; at most 10,000 parts per object). */
  partSize: number;
  /** Part buffers per upload (one filling, the rest uploading): queueSize x partSize, kept for reuse. */
  queueSize: number;
}

export const MIN_PART_SIZE = 5 * 1024 * 1024;
/** SigV4 presigned URLs cannot outlive 7 days. */
const MAX_PRESIGN_SECONDS = 7 * 24 * 3600;
const DEFAULT_PRESIGN_SECONDS = 24 * 3600;

type Body = Uint8Array | string;

/**
 * An object store in an S3 bucket. putStream uses multipart upload, whose object only appears at
 * CompleteMultipartUpload, so readers never see a half-written shard; a failed or aborted upload
 * is aborted on the server too. Relies on the SDK's retries rather than its own.
 */
export class S3ObjectStore implements ObjectStore {
  readonly url: string;
  readonly bucket: string;
  readonly prefix: string;
  /** For messages: the configured endpoint, or AWS's regional one. */
  readonly endpoint: string;
  // Private fields stay out of JSON.stringify, util.inspect and spreads: the client holds credentials.
  readonly #config: S3StoreConfig;
  readonly #client: S3Client;
  readonly #partBuffers: PartBuffers;
  readonly #server: ServerTraits = {};
  #bucketChecked = false;
  #conditionalWrites: Promise<boolean> | undefined;
  #ifMatchWrites: Promise<boolean> | undefined;

  constructor(config: S3StoreConfig) {
    if (config.partSize < MIN_PART_SIZE) {
      throw new StoreOptionError('partSize', `S3 parts must be at least ${MIN_PART_SIZE} bytes (5 MiB)`);
    }
    this.#config = config;
    this.#partBuffers = new PartBuffers(config.partSize, config.queueSize);
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.url = `s3://${config.bucket}${config.prefix ? `/${config.prefix.replace(/\/$/, '')}` : ''}`;
    this.endpoint = config.endpoint ?? `https://s3.${config.region}.amazonaws.com`;
    this.#client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: config.credentials,
      maxAttempts: config.maxAttempts,
    });
  }

  async put(key: string, body: Body, options?: { contentType?: string }): Promise<void> {
    assertValidKey(key);
    await this.#send('PutObject', key, () =>
      this.#client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.#key(key),
          Body: body,
          ContentType: options?.contentType,
        }),
      ),
    );
  }

  async putStream(
    key: string,
    body: Readable | AsyncIterable<Uint8Array>,
    options?: PutStreamOptions,
  ): Promise<{ bytes: number }> {
    assertValidKey(key);
    options?.signal?.throwIfAborted();
    try {
      return await uploadStream(
        {
          client: this.#client,
          bucket: this.bucket,
          key: this.#key(key),
          contentType: options?.contentType,
          queueSize: this.#config.queueSize,
          buffers: this.#partBuffers,
          signal: options?.signal,
          sha256: options?.sha256,
          server: this.#server,
        },
        body,
      );
    } catch (error) {
      if (options?.signal?.aborted) throw options.signal.reason;
      throw this.#map(error, 'multipart upload', key);
    }
  }

  async putIfAbsent(key: string, body: Body, options?: { contentType?: string }): Promise<boolean> {
    assertValidKey(key);
    if (await this.#supportsConditionalWrites()) {
      return this.#send('PutObject', key, () =>
        this.#putIfNoneMatch(this.#key(key), body, options?.contentType),
      );
    }
    // Fallback for servers without conditional writes: two writers may both see the key absent and
    // both write it (last one wins, both return true). Callers only use putIfAbsent for objects
    // whose content is deterministic (e.g. the resolved spec), so the race costs a rewrite, not data.
    if (await this.head(key)) return false;
    await this.put(key, body, options);
    return true;
  }

  async putIfMatch(
    key: string,
    body: Body,
    etag: string | null,
    options?: { contentType?: string },
  ): Promise<boolean> {
    assertValidKey(key);
    if (etag === null) return this.putIfAbsent(key, body, options);
    if (await this.#supportsIfMatch()) {
      return this.#send('PutObject', key, () =>
        this.#putIfMatch(this.#key(key), body, etag, options?.contentType),
      );
    }
    // Fallback for servers that ignore If-Match: compare right before the write. A writer landing
    // between the two requests is not caught here; callers re-read after writing (RunObjects does).
    const current = await this.getVersioned(key).catch((error) => {
      if (error instanceof ObjectNotFoundError) return undefined;
      throw error;
    });
    if (current?.etag !== etag) return false;
    await this.put(key, body, options);
    return true;
  }

  async getVersioned(key: string): Promise<{ body: Uint8Array; etag: string }> {
    assertValidKey(key);
    return this.#send('GetObject', key, async () => {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      const body = out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      return { body, etag: out.ETag ?? '' };
    });
  }

  async get(key: string): Promise<Uint8Array> {
    assertValidKey(key);
    return this.#send('GetObject', key, async () => {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
    });
  }

  async getStream(key: string, range?: { start: number; end?: number }): Promise<Readable> {
    assertValidKey(key);
    if (range) assertValidRange(key, range);
    const Range = range ? `bytes=${range.start}-${range.end ?? ''}` : undefined;
    const out = await this.#send(
      'GetObject',
      key,
      () => this.#client.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key), Range })),
      range,
    );
    // In Node the SDK's body is an http.IncomingMessage, i.e. a Readable.
    return (out.Body as Readable | undefined) ?? Readable.from([]);
  }

  async head(key: string): Promise<ObjectInfo | null> {
    assertValidKey(key);
    try {
      const out = await this.#client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }),
      );
      return { key, size: out.ContentLength ?? 0 };
    } catch (error) {
      const bodyless = isBodylessHeadError(error);
      if (bodyless === undefined) throw this.#map(error, 'HeadObject', key);
      // Ask a request that does carry an error body (missing bucket? bad credentials?).
      if (bodyless === 403 || !this.#bucketChecked) await this.#checkBucket();
      if (bodyless === 404) return null;
      throw this.#map(Object.assign(new Error('AccessDenied'), { name: 'AccessDenied' }), 'HeadObject', key);
    }
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    assertValidPrefix(prefix);
    const pages = paginateListObjectsV2(
      { client: this.#client },
      { Bucket: this.bucket, Prefix: this.#key(prefix) },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          yield { key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 };
        }
      }
    } catch (error) {
      throw this.#map(error, 'ListObjectsV2');
    }
  }

  async delete(key: string): Promise<void> {
    assertValidKey(key);
    await this.#send('DeleteObject', key, () =>
      this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.#key(key) })),
    );
  }

  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let batch: string[] = [];
    const flush = async () => {
      const keys = batch;
      batch = [];
      const out = await this.#send('DeleteObjects', undefined, () =>
        this.#client.send(
          new DeleteObjectsCommand({
            Bucket: this.bucket,
            Delete: { Objects: keys.map((k) => ({ Key: this.#key(k) })), Quiet: true },
          }),
        ),
      );
      const failure = out.Errors?.[0];
      if (failure) {
        const key = failure.Key?.slice(this.prefix.length);
        throw new StoreRequestError(
          'DeleteObject',
          this.url,
          key,
          failure.Code ?? 'Error',
          undefined,
          failure.Message ?? '',
        );
      }
      deleted += keys.length;
    };
    // DeleteObjects takes at most 1,000 keys per request.
    for await (const { key } of this.list(prefix)) {
      batch.push(key);
      if (batch.length === 1000) await flush();
    }
    if (batch.length > 0) await flush();
    return deleted;
  }

  async abortIncompleteUploads(prefix: string): Promise<number> {
    assertValidPrefix(prefix);
    let aborted = 0;
    let KeyMarker: string | undefined;
    let UploadIdMarker: string | undefined;
    do {
      const page = await this.#send('ListMultipartUploads', undefined, () =>
        this.#client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: this.#key(prefix),
            KeyMarker,
            UploadIdMarker,
          }),
        ),
      );
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId) continue;
        const { Key, UploadId } = u;
        await this.#send('AbortMultipartUpload', Key.slice(this.prefix.length), () =>
          this.#client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key, UploadId })),
        );
        aborted++;
      }
      const more = page.IsTruncated === true;
      KeyMarker = more ? page.NextKeyMarker : undefined;
      UploadIdMarker = more ? page.NextUploadIdMarker : undefined;
    } while (KeyMarker);
    return aborted;
  }

  async publicUrl(key: string, options?: { expiresInSeconds?: number }): Promise<string> {
    assertValidKey(key);
    const expiresIn = options?.expiresInSeconds ?? DEFAULT_PRESIGN_SECONDS;
    if (!Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > MAX_PRESIGN_SECONDS) {
      throw new StoreOptionError(
        'expiresInSeconds',
        `must be an integer from 1 to ${MAX_PRESIGN_SECONDS} (7 days)`,
      );
    }
    return this.#send('presign GetObject', key, () =>
      getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.bucket, Key: this.#key(key) }), {
        expiresIn,
      }),
    );
  }

  /** Calls `observe` with every S3 command's name as it is sent (benchmarks count requests). */
  observeRequests(observe: (command: string) => void): void {
    this.#client.middlewareStack.add(
      (next, context) => (args) => {
        observe(String(context.commandName ?? 'unknown'));
        return next(args);
      },
      { step: 'initialize', name: 'synfarmObserveRequests' },
    );
  }

  /** Closes the client's idle sockets; the store is unusable afterwards. */
  destroy(): void {
    this.#client.destroy();
  }

  toString(): string {
    return `S3ObjectStore(${this.url} at ${this.endpoint})`;
  }

  toJSON(): unknown {
    return { kind: 's3', url: this.url, ...(redact(this.#config) as object) };
  }

  [inspect.custom](): string {
    return this.toString();
  }

  #key(key: string): string {
    return this.prefix + key;
  }

  async #send<T>(
    operation: string,
    key: string | undefined,
    request: () => Promise<T>,
    range?: { start: number; end?: number },
  ): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw this.#map(error, operation, key, range);
    }
  }

  #map(error: unknown, operation: string, key?: string, range?: { start: number; end?: number }): Error {
    return mapS3Error(error, {
      bucket: this.bucket,
      endpoint: this.endpoint,
      store: this.url,
      operation,
      key,
      range,
    });
  }

  async #checkBucket(): Promise<void> {
    await this.#send('ListObjectsV2', undefined, () =>
      this.#client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix, MaxKeys: 1 })),
    );
    this.#bucketChecked = true;
  }

  #putIfNoneMatch(fullKey: string, body: Body, contentType?: string): Promise<boolean> {
    return this.#conditionalPut(fullKey, body, contentType, { IfNoneMatch: '*' });
  }

  #putIfMatch(fullKey: string, body: Body, etag: string, contentType?: string): Promise<boolean> {
    return this.#conditionalPut(fullKey, body, contentType, { IfMatch: etag });
  }

  async #conditionalPut(
    fullKey: string,
    body: Body,
    contentType: string | undefined,
    condition: { IfNoneMatch: '*' } | { IfMatch: string },
  ): Promise<boolean> {
    // 409 ConditionalRequestConflict: another conditional write to this key is in flight; S3
    // asks to retry, and the retry then learns whether that other write won (412).
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: fullKey,
            Body: body,
            ContentType: contentType,
            ...condition,
          }),
        );
        return true;
      } catch (error) {
        const { code, status } = sdkErrorSummary(error);
        if (status === 412 || code === 'PreconditionFailed') return false;
        // If-Match on a key deleted meanwhile: S3 answers 404; the version we hold is gone too.
        if ('IfMatch' in condition && (status === 404 || code === 'NoSuchKey')) return false;
        if (code !== 'ConditionalRequestConflict' || attempt >= 5) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
    }
  }

  /**
   * Some S3-compatible servers ignore If-None-Match and silently overwrite, which no single
   * response reveals. So probe once per store: write a scratch object twice with If-None-Match and
   * expect the second write to be refused. (The scratch key is listable for those few requests.)
   */
  #supportsConditionalWrites(): Promise<boolean> {
    this.#conditionalWrites ??= (async () => {
      const probe = this.#key(`.synfarm-probe-${randomUUID()}`);
      try {
        const first = await this.#putIfNoneMatch(probe, 'probe');
        return first && !(await this.#putIfNoneMatch(probe, 'probe'));
      } catch (error) {
        const { code, status } = sdkErrorSummary(error);
        if (status === 501 || code === 'NotImplemented') return false;
        this.#conditionalWrites = undefined; // not an answer about the feature: ask again next time
        throw this.#map(error, 'PutObject', undefined);
      } finally {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe })).catch(() => {});
      }
    })();
    return this.#conditionalWrites;
  }

  /** Same idea for If-Match: a write against a version that never existed must be refused. */
  #supportsIfMatch(): Promise<boolean> {
    this.#ifMatchWrites ??= (async () => {
      const probe = this.#key(`.synfarm-probe-${randomUUID()}`);
      try {
        await this.#client.send(new PutObjectCommand({ Bucket: this.bucket, Key: probe, Body: 'probe' }));
        return !(await this.#putIfMatch(probe, 'probe', '"synfarm-no-such-version"'));
      } catch (error) {
        const { code, status } = sdkErrorSummary(error);
        if (status === 501 || code === 'NotImplemented') return false;
        this.#ifMatchWrites = undefined;
        throw this.#map(error, 'PutObject', undefined);
      } finally {
        await this.#client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: probe })).catch(() => {});
      }
    })();
    return this.#ifMatchWrites;
  }
}
