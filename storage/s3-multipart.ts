import {
  AbortMultipartUploadCommand,
  ChecksumAlgorithm,
  type CompletedPart,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { abortable } from './abortable';
import { putObject, type ServerTraits } from './s3-put-object';

export interface StreamUpload {
  client: S3Client;
  bucket: string;
  key: string;
  contentType?: string;
  /** Part buffers per upload: one being filled while the others' parts upload. */
  queueSize: number;
  /**
   * Where part buffers come from and go back to, shared by the uploads of one store; their size
   * is the part size (the last part may be smaller).
   */
  buffers: PartBuffers;
  signal?: AbortSignal;
  /** The body's SHA-256 (hex) once it has ended, when the caller hashed it (PutStreamOptions). */
  sha256?: () => string | undefined;
  server: ServerTraits;
}

/**
 * Part buffers kept between uploads: a shard is committed every minute or so, and a fresh
 * 16 MiB buffer per part cost a page fault per 4 KiB and a garbage collection per upload, more
 * CPU than copying the bytes into it. At most `keep` are held while idle.
 */
export class PartBuffers {
  readonly #idle: Buffer[] = [];
  constructor(
    readonly partSize: number,
    private readonly keep: number,
  ) {}

  take(): Buffer {
    return this.#idle.pop() ?? Buffer.allocUnsafe(this.partSize);
  }

  give(buffers: readonly Buffer[]): void {
    for (const buffer of buffers) if (this.#idle.length < this.keep) this.#idle.push(buffer);
  }
}

/** S3 refuses a multipart upload of more parts than this. */
const MAX_PARTS = 10_000;

/**
 * Uploads `body` as one object by copying its chunks once into part-sized buffers: a body of at
 * most one part is a single PutObject, a larger one a multipart upload whose object appears only
 * at CompleteMultipartUpload. Buffers come back for reuse once their part is stored, so an upload
 * of any size holds at most queueSize of them. On any failure (the body throwing, a part failing,
 * the signal aborting, even after the body ended) the parts in flight are awaited and the upload
 * is aborted on the server before the error is rethrown: nothing is left billed or visible.
 */
export async function uploadStream(
  upload: StreamUpload,
  body: AsyncIterable<Uint8Array | string>,
): Promise<{ bytes: number }> {
  const { client, signal } = upload;
  const { partSize } = upload.buffers;
  const checksums = (await client.config.requestChecksumCalculation()) === 'WHEN_SUPPORTED';
  const parts = new Parts(upload, checksums);
  let part = parts.buffer();
  let filled = 0;
  let bytes = 0;
  // A failed part also ends a body that is waiting for its next chunk.
  const stop = signal ? AbortSignal.any([signal, parts.failed]) : parts.failed;
  try {
    for await (const item of abortable<Uint8Array | string>(body, stop)) {
      // A Node Readable with an encoding set yields strings.
      const chunk = typeof item === 'string' ? Buffer.from(item) : item;
      bytes += chunk.byteLength;
      for (let at = 0; at < chunk.byteLength; ) {
        // A full part goes up only once more bytes follow: a body of exactly one part is a PutObject.
        if (filled === partSize) {
          await parts.send(part, filled);
          part = parts.buffer();
          filled = 0;
        }
        const n = Math.min(partSize - filled, chunk.byteLength - at);
        part.set(chunk.subarray(at, at + n), filled);
        filled += n;
        at += n;
      }
    }
    if (!parts.started) {
      signal?.throwIfAborted();
      await putObject(upload, part.subarray(0, filled), checksums);
    } else {
      await parts.send(part, filled);
      await parts.complete(signal);
    }
    return { bytes };
  } catch (error) {
    await parts.abort();
    throw error;
  } finally {
    parts.release();
  }
}

/** The parts of one multipart upload: created at the first part, sent queueSize at a time. */
class Parts {
  readonly #upload: StreamUpload;
  readonly #checksums: boolean;
  readonly #free: Buffer[] = [];
  readonly #taken: Buffer[] = [];
  readonly #completed: CompletedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #uploadId: string | undefined;
  #sent = 0;
  // A part's failure is kept here, not left in a rejected promise: it may fail while the body is
  // being read, and must still stop the upload instead of going unnoticed. Its signal's reason is
  // the first part's error (a second abort changes nothing).
  readonly #failedController = new AbortController();

  constructor(upload: StreamUpload, checksums: boolean) {
    this.#upload = upload;
    this.#checksums = checksums;
  }

  /** Aborted, with the error as its reason, when a part fails. */
  get failed(): AbortSignal {
    return this.#failedController.signal;
  }

  get started(): boolean {
    return this.#uploadId !== undefined;
  }

  /** A part buffer: one whose part is stored, else one from the store's pool. */
  buffer(): Buffer {
    const reused = this.#free.pop();
    if (reused) return reused;
    const taken = this.#upload.buffers.take();
    this.#taken.push(taken);
    return taken;
  }

  /** Gives every buffer back to the pool; only once no part is in flight. */
  release(): void {
    if (this.#inFlight.size > 0) throw new Error('part buffers released while parts are in flight');
    this.#upload.buffers.give(this.#taken);
    this.#taken.length = 0;
  }

  #check(): void {
    this.#failedController.signal.throwIfAborted();
  }

  /** Starts sending `data[0, length)`; returns once fewer than queueSize parts are in flight. */
  async send(data: Buffer, length: number): Promise<void> {
    const { client, bucket, key, queueSize } = this.#upload;
    if (this.#sent >= MAX_PARTS) {
      const { partSize } = this.#upload.buffers;
      throw new Error(`${key}: more than ${MAX_PARTS} parts of ${partSize} bytes; raise the part size`);
    }
    this.#uploadId ??= await this.#create();
    const PartNumber = ++this.#sent;
    const Body = data.subarray(0, length);
    const sent = client
      .send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: this.#uploadId, PartNumber, Body }))
      .then(({ ETag, ChecksumCRC32 }) => {
        if (!ETag) throw new Error(`${key}: part ${PartNumber} stored without an ETag`);
        this.#completed.push({ PartNumber, ETag, ChecksumCRC32 });
        this.#free.push(data);
      })
      .catch((error: unknown) => {
        this.#failedController.abort(error);
      })
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
    while (this.#inFlight.size >= queueSize) await Promise.race(this.#inFlight);
    this.#check();
  }

  async complete(signal?: AbortSignal): Promise<void> {
    const { client, bucket, key } = this.#upload;
    await Promise.all(this.#inFlight);
    this.#check();
    signal?.throwIfAborted();
    if (this.#completed.length !== this.#sent) {
      throw new Error(`${key}: ${this.#completed.length} of ${this.#sent} parts stored`);
    }
    const Parts = this.#completed.sort((a, b) => a.PartNumber! - b.PartNumber!);
    await client.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId: this.#uploadId,
        MultipartUpload: { Parts },
      }),
    );
  }

  /**
   * Waits for the parts in flight, then aborts the upload on the server (if it was created). The
   * upload's own error is the one to report; if the abort fails too (the server is down), the
   * unfinished upload is left for `synfarm gc` and resume, which abort those of killed workers.
   */
  async abort(): Promise<void> {
    const { client, bucket, key } = this.#upload;
    await Promise.all(this.#inFlight);
    if (this.#uploadId === undefined) return;
    await client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: this.#uploadId }))
      .catch(() => {});
  }

  async #create(): Promise<string> {
    const { client, bucket, key, contentType } = this.#upload;
    const created = await client.send(
      new CreateMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        ContentType: contentType,
        // As lib-storage does: the SDK checksums every part, so the upload must declare it.
        ChecksumAlgorithm: this.#checksums ? ChecksumAlgorithm.CRC32 : undefined,
      }),
    );
    if (!created.UploadId) throw new Error(`${key}: CreateMultipartUpload returned no UploadId`);
    return created.UploadId;
  }
}
