/** Errors a consumer of a run can see; each says what was wrong and what to do. */
export type ConsumerErrorCode =
  | 'run-not-found'
  | 'checksum-mismatch'
  | 'invalid-option'
  | 'resume-mismatch'
  | 'shard-changed'
  | 'short-shard'
  | 'missing-field';

export abstract class ConsumerError extends Error {
  abstract readonly code: ConsumerErrorCode;
}

export class RunNotFoundError extends ConsumerError {
  override readonly name = 'RunNotFoundError';
  readonly code = 'run-not-found';
  constructor(
    readonly runId: string,
    /** The output URL, without credentials. */
    readonly outputUrl: string,
  ) {
    super(
      `No run "${runId}" under ${outputUrl}: neither its spec.json nor any committed shard exists; ` +
        'check the run id and the output URL it was launched with.',
    );
  }
}

/**
 * A shard whose bytes do not match its sidecar. sha256 cannot say where a byte changed, so
 * `offset` is where the mismatch was detected: the end of the stream for a wrong checksum, or the
 * first byte past the expected length when the shard is longer than its sidecar says.
 */
export class ChecksumMismatchError extends ConsumerError {
  override readonly name = 'ChecksumMismatchError';
  readonly code = 'checksum-mismatch';
  constructor(
    /** The shard's URL. */
    readonly shard: string,
    readonly offset: number,
    readonly expected: { bytes: number; sha256: string },
    readonly actual: { bytes: number; sha256: string },
  ) {
    super(
      `${shard}: ${
        expected.bytes === actual.bytes
          ? `sha256 ${actual.sha256} does not match the sidecar's ${expected.sha256}`
          : `${actual.bytes} bytes where the sidecar says ${expected.bytes}`
      } (detected at byte offset ${offset}). The shard was damaged after commit: rebuild it ` +
        '(`synfarm resume` after deleting its sidecar) or read with onCorrupt "skip".',
    );
  }
}

export class ConsumerOptionError extends ConsumerError {
  override readonly name = 'ConsumerOptionError';
  readonly code = 'invalid-option';
  constructor(
    readonly field: string,
    reason: string,
  ) {
    super(`Invalid reader option "${field}": ${reason}.`);
  }
}

/** A saved reader state that does not belong to the stream it is given to. */
export class ResumeMismatchError extends ConsumerError {
  override readonly name = 'ResumeMismatchError';
  readonly code = 'resume-mismatch';
  constructor(
    readonly field: string,
    saved: unknown,
    given: unknown,
  ) {
    super(
      `Cannot resume: the saved state has ${field}=${JSON.stringify(saved)} but the reader was given ` +
        `${JSON.stringify(given)}; resume with the options the state was saved under (or leave them out).`,
    );
  }
}

/** A shard named in a saved state (or a sidecar) that is no longer committed or changed size. */
export class ShardChangedError extends ConsumerError {
  override readonly name = 'ShardChangedError';
  readonly code = 'shard-changed';
  constructor(
    readonly shard: number,
    reason: string,
  ) {
    super(
      `Shard ${shard} ${reason}; the run changed under the reader: restart the epoch without resume state.`,
    );
  }
}

export class MissingFieldError extends ConsumerError {
  override readonly name = 'MissingFieldError';
  readonly code = 'missing-field';
  constructor(
    readonly key: string,
    readonly field: string,
    problem = `has no "${field}" member`,
  ) {
    super(`Sample "${key}" ${problem}; synfarm samples carry jpg or png, json and cls (a class index).`);
  }
}

/**
 * A shard whose tar is well-formed but holds fewer samples than its sidecar records: it was
 * replaced after commit by a shorter one. `offset` is the byte where the tar ended.
 */
export class ShortShardError extends ConsumerError {
  override readonly name = 'ShortShardError';
  readonly code = 'short-shard';
  constructor(
    /** The shard's URL. */
    readonly shard: string,
    readonly offset: number,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(
      `${shard}: ${actual} samples where the sidecar says ${expected}; the shard was replaced after ` +
        'commit: rebuild it (`synfarm resume` after deleting its sidecar) or read with onCorrupt "skip".',
    );
  }
}
