import { createHash, type Hash } from 'node:crypto';

/**
 * Byte count and sha256 of a stream, gathered while it passes through `digestingStream`, so the
 * commit step can write them into the shard's sidecar without reading the tar twice.
 */
export class StreamDigest {
  private readonly hash: Hash = createHash('sha256');
  private hex: string | undefined;
  bytes = 0;

  update(chunk: Uint8Array): void {
    if (this.hex !== undefined) throw new Error('StreamDigest: the stream already ended');
    this.hash.update(chunk);
    this.bytes += chunk.length;
  }

  finish(): void {
    this.hex ??= this.hash.digest('hex');
  }

  get done(): boolean {
    return this.hex !== undefined;
  }

  /** Hex sha256 once the stream has ended, else undefined (PutStreamOptions.sha256 takes this). */
  readonly ended = (): string | undefined => this.hex;

  /** Hex sha256 of every byte that passed; only once the stream has ended, never of a partial one. */
  get sha256(): string {
    if (this.hex === undefined) {
      throw new Error(
        'StreamDigest: sha256 read before the stream ended; consume the stream to its end first',
      );
    }
    return this.hex;
  }
}

/** Passes `source` through unchanged, counting and hashing it into `digest`; finishes it at the end. */
export async function* digestingStream(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  digest: StreamDigest,
): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    digest.update(chunk);
    yield chunk;
  }
  digest.finish();
}
