/**
 * Exact-length reads over a stream whose chunks may split anywhere (1 byte, mid-header, ...).
 * Buffers only what the current read needs; a result within one chunk is a view, not a copy.
 */
export class ChunkReader {
  private chunks: Uint8Array[] = [];
  /** Index of the first unconsumed chunk; consumed ones are dropped in batches, not shifted one by one. */
  private index = 0;
  /** Bytes of chunks[index] already consumed. */
  private head = 0;
  private buffered = 0;
  private ended = false;
  private readonly iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array>;
  /** Absolute offset of the next unread byte. */
  position = 0;

  constructor(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>) {
    this.iterator =
      Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  }

  private async fill(wanted: number): Promise<void> {
    while (this.buffered < wanted && !this.ended) {
      const next = await this.iterator.next();
      if (next.done) this.ended = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** Exactly `length` bytes, or fewer only when the stream ends first. */
  async read(length: number): Promise<Uint8Array> {
    await this.fill(length);
    const take = Math.min(length, this.buffered);
    const first = this.chunks[this.index];
    let out: Uint8Array;
    if (first !== undefined && first.length - this.head >= take) {
      // A plain Uint8Array view even over a Node Buffer chunk, so callers see one type whatever the source.
      out = new Uint8Array(first.buffer, first.byteOffset + this.head, take);
      this.consume(take);
    } else {
      out = new Uint8Array(take);
      let filled = 0;
      while (filled < take) {
        const chunk = this.chunks[this.index]!;
        const part = chunk.subarray(this.head, this.head + take - filled);
        out.set(part, filled);
        filled += part.length;
        this.consume(part.length);
      }
    }
    return out;
  }

  /** Discards up to `length` bytes without holding them all; returns how many were there. */
  async skip(length: number): Promise<number> {
    let skipped = 0;
    while (skipped < length) {
      await this.fill(1);
      if (this.buffered === 0) break;
      const available = this.chunks[this.index]!.length - this.head;
      const step = Math.min(available, length - skipped);
      this.consume(step);
      skipped += step;
    }
    return skipped;
  }

  private consume(count: number): void {
    this.head += count;
    this.buffered -= count;
    this.position += count;
    const current = this.chunks[this.index];
    if (current !== undefined && this.head === current.length) {
      this.index++;
      this.head = 0;
      if (this.index >= 1024 || this.index === this.chunks.length) {
        this.chunks = this.chunks.slice(this.index);
        this.index = 0;
      }
    }
  }

  /** Lets the source release its connection or file when we stop before its end. */
  async close(): Promise<void> {
    if (!this.ended) await this.iterator.return?.();
    this.ended = true;
  }
}
