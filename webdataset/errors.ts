/** Why a tar stream could not be read; `offset` says where in the shard to look. */
export type TarFormatErrorCode =
  | 'truncated' // the stream ended inside a header, a member's data or its padding
  | 'missing-end' // the stream ended between members without the two zero blocks that close an archive
  | 'bad-checksum' // a header block's checksum does not match (corruption or not a tar at all)
  | 'bad-header' // a header field cannot be parsed (e.g. a size that is not octal)
  | 'data-after-end' // non-zero bytes after the end-of-archive marker: likely a zeroed-out header
  | 'bad-pax' // a PAX extended header's records are malformed
  | 'duplicate-field'; // two members of one sample have the same field (e.g. two `.jpg` for one key)

/**
 * A shard whose bytes are not a well-formed tar. Unlike Python's tarfile, which stops silently at
 * most damage, every broken or cut-off shard ends in this error, so a consumer never mistakes a
 * partial shard for a complete one.
 */
export class TarFormatError extends Error {
  override readonly name = 'TarFormatError';
  constructor(
    readonly code: TarFormatErrorCode,
    /** The shard's name or URL as given to the reader. */
    readonly shard: string,
    /** Byte offset of the header block (or expected end-of-archive) where the problem lies. */
    readonly offset: number,
    detail: string,
  ) {
    super(
      `${shard}: ${detail} (byte offset ${offset}). The shard is damaged or was cut off: ` +
        'rebuild or re-upload it, and do not use it until its sidecar checksum matches.',
    );
  }
}

export type SampleErrorCode =
  | 'invalid-key' // empty, or contains a dot, a slash or a control character
  | 'invalid-field' // empty, uppercase, contains a slash, or not bytes/string
  | 'name-too-long' // `<key>.<field>` exceeds the 100-byte ustar name field
  | 'duplicate-key' // the same key was written twice into one shard
  | 'empty-sample'; // a sample with no field at all

/** A sample that cannot be written as WebDataset members; nothing of it was emitted. */
export class SampleError extends Error {
  override readonly name = 'SampleError';
  constructor(
    readonly code: SampleErrorCode,
    /** The sample's `__key__` (as given, possibly invalid). */
    readonly key: string,
    detail: string,
    /** The field concerned, when the problem is one field. */
    readonly field?: string,
  ) {
    super(`sample ${JSON.stringify(key)}: ${detail}`);
  }
}
