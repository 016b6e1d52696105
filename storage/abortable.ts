import { Readable } from 'node:stream';

/** Yields `source`'s chunks until `signal` aborts, then throws its reason even if `source` is stalled. */
export async function* abortable<T>(source: AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => {
      reject(signal.reason);
      // Unblocks a pending read and releases the producer's resources.
      if (source instanceof Readable) source.destroy();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {}); // observed below; avoid an unhandled rejection when never raced
  try {
    while (true) {
      signal.throwIfAborted();
      const next = await Promise.race([iterator.next(), aborted]);
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Not awaited: an async generator's return() waits behind a stalled next().
    iterator.return?.()?.catch(() => {});
  }
}
