import { Readable } from 'node:stream';

/**
 * Yields `source`'s chunks until `signal` aborts, then throws its reason even if `source` is stalled.
 * Each wait is one promise that the abort rejects, settled and dropped per chunk: racing every
 * chunk against one never-settling abort promise left a reaction on it per chunk, which grew with
 * the stream for as long as it ran.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  const iterator = source[Symbol.asyncIterator]();
  let rejectWait: ((reason: unknown) => void) | undefined;
  const onAbort = () => {
    rejectWait?.(signal.reason);
    // Unblocks a pending read and releases the producer's resources.
    if (source instanceof Readable) source.destroy();
  };
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    while (true) {
      signal.throwIfAborted();
      const next = await new Promise<IteratorResult<T>>((resolve, reject) => {
        rejectWait = reject;
        iterator.next().then(resolve, reject);
      });
      rejectWait = undefined;
      if (next.done) return;
      yield next.value;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Not awaited: an async generator's return() waits behind a stalled next().
    iterator.return?.()?.catch(() => {});
  }
}
