import { z } from 'zod';
import { SampleError } from './errors';
import { type Sample, sampleMembers } from './samples';
import { BLOCK_SIZE, paddedSize, RECORD_SIZE, ustarTemplate, writeUstarHeader } from './tar-header';

const ustarName = z.string().regex(/^[\x21-\x7e]{0,32}$/, 'printable ASCII, at most 32 bytes');

/**
 * Header fields stamped on every member. They are fixed (never the clock or the current user) so the
 * same samples always give byte-identical tars.
 */
export const TarWriterOptionsSchema = z.object({
  mtime: z
    .number()
    .int()
    .min(0)
    .max(8 ** 11 - 1)
    .default(0),
  mode: z.number().int().min(0).max(0o7777).default(0o444),
  uid: z
    .number()
    .int()
    .min(0)
    .max(8 ** 7 - 1)
    .default(0),
  gid: z
    .number()
    .int()
    .min(0)
    .max(8 ** 7 - 1)
    .default(0),
  uname: ustarName.default('synfarm'),
  gname: ustarName.default('synfarm'),
});
export type TarWriterOptions = z.infer<typeof TarWriterOptionsSchema>;
export type TarWriterOptionsInput = z.input<typeof TarWriterOptionsSchema>;

/**
 * Streams a WebDataset tar: one chunk per sample (its members' headers, data and padding, fields in
 * sorted order), then the end-of-archive marker (two zero blocks) and zero padding to a whole
 * 10240-byte record, as Python's tarfile closes an archive. Only one sample is held at a time.
 * Throws `SampleError` for a sample that cannot be stored, before any byte of it is yielded.
 * For a Node stream: `Readable.from(writeTar(samples))`.
 */
export async function* writeTar(
  samples: AsyncIterable<Sample> | Iterable<Sample>,
  options: TarWriterOptionsInput = {},
): AsyncGenerator<Uint8Array> {
  const template = ustarTemplate(TarWriterOptionsSchema.parse(options));
  // Keys only (a shard holds thousands, not millions): a repeated key would make readers merge
  // or duplicate samples.
  const seen = new Set<string>();
  let written = 0;
  for await (const sample of samples) {
    const members = sampleMembers(sample);
    if (seen.has(sample.__key__)) {
      throw new SampleError('duplicate-key', sample.__key__, 'this key was already written into the shard');
    }
    seen.add(sample.__key__);
    let size = 0;
    for (const member of members) size += BLOCK_SIZE + paddedSize(member.data.length);
    // One zeroed chunk per sample: headers are written into it in place, data copied once.
    const chunk = new Uint8Array(size);
    let at = 0;
    for (const member of members) {
      writeUstarHeader(chunk, at, template, Buffer.from(member.name), member.data.length);
      chunk.set(member.data, at + BLOCK_SIZE);
      at += BLOCK_SIZE + paddedSize(member.data.length);
    }
    written += chunk.length;
    yield chunk;
  }
  const end = written + 2 * BLOCK_SIZE;
  yield new Uint8Array(Math.ceil(end / RECORD_SIZE) * RECORD_SIZE - written);
}
