import { SampleError, TarFormatError } from './errors';
import { USTAR_NAME_BYTES } from './tar-header';
import { type ReadTarOptions, readTar, type TarMember } from './tar-reader';

/**
 * One WebDataset sample, in the shape Python's `webdataset` uses: `__key__`, plus one entry per
 * member keyed by its field (the name after the key's dot: `jpg`, `json`, `cls`, `seg.png`).
 * Names starting with `__` are metadata (`__url__`: the shard it came from), never members.
 * Written fields may be bytes or strings (stored as UTF-8); fields read back are always bytes.
 */
export interface Sample {
  __key__: string;
  __url__?: string;
  [field: string]: Uint8Array | string | undefined;
}

export interface SampleMember {
  name: string;
  data: Uint8Array;
}

/** Lowercase because readers lowercase the extension: an uppercase field would not round-trip. */
const FIELD_PATTERN = /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what it rejects
const KEY_PATTERN = /^[^./\u0000-\u001f\u007f]+$/;

const encoder = new TextEncoder();

export function isMetadataName(name: string): boolean {
  return name.startsWith('__');
}

/**
 * A sample's members in the order the writer stores them: fields sorted, as Python's TarWriter does,
 * each named `<key>.<field>` within the ustar name field. Throws `SampleError` before anything of the
 * sample is emitted.
 */
export function sampleMembers(sample: Sample): SampleMember[] {
  const key = sample.__key__;
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new SampleError(
      'invalid-key',
      String(key),
      'a key must be a non-empty string without dots, slashes or control characters (e.g. "000123_000042")',
    );
  }
  const fields = Object.keys(sample)
    .filter((field) => !isMetadataName(field))
    .sort();
  if (fields.length === 0) throw new SampleError('empty-sample', key, 'a sample needs at least one field');
  return fields.map((field) => {
    if (!FIELD_PATTERN.test(field)) {
      throw new SampleError(
        'invalid-field',
        key,
        `field ${JSON.stringify(field)} must be a lowercase extension such as jpg, png, json, cls or seg.png`,
        field,
      );
    }
    const value = sample[field];
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new SampleError('invalid-field', key, `field "${field}" must be a Uint8Array or a string`, field);
    }
    const name = `${key}.${field}`;
    const nameBytes = Buffer.byteLength(name);
    if (nameBytes > USTAR_NAME_BYTES) {
      throw new SampleError(
        'name-too-long',
        key,
        `member name "${name}" is ${nameBytes} bytes; WebDataset readers such as wids read only the ` +
          `${USTAR_NAME_BYTES}-byte ustar name field, so shorten the key`,
        field,
      );
    }
    // Buffer.from, not TextEncoder: it slices small strings out of a shared pool (a shard packs
    // thousands of short json/cls members) and is still a Uint8Array.
    return { name, data: typeof value === 'string' ? Buffer.from(value) : value };
  });
}

/** Key and field of a member name, split as Python's `base_plus_ext`; undefined when it has no field. */
export function splitMemberName(name: string): { key: string; field: string } | undefined {
  const match = /^((?:.*\/|)[^.]+)\.([^/]*)$/.exec(name);
  return match ? { key: match[1]!, field: match[2]! } : undefined;
}

/** Python's webdataset skips `__...__` entries (shard-level metadata), not as sample members. */
function isMetadataMember(name: string): boolean {
  return /^__[^/]*__($|\/)/.test(name);
}

export interface GroupByKeysOptions {
  /** Set as `__url__` on every sample and named in errors. */
  url?: string;
}

/**
 * Groups adjacent members sharing a key into samples, as Python's `group_by_keys`: fields are
 * lowercased; names without a field, `__meta__` entries and `__`-prefixed fields are skipped. Two members of one sample
 * with the same field are an error here (Python raises too).
 */
export async function* groupByKeys(
  members: AsyncIterable<TarMember> | Iterable<TarMember>,
  options: GroupByKeysOptions = {},
): AsyncGenerator<Sample> {
  let current: Sample | undefined;
  for await (const member of members) {
    if (isMetadataMember(member.name)) continue;
    const parts = splitMemberName(member.name);
    if (parts === undefined) continue;
    const field = parts.field.toLowerCase();
    // `__x` would collide with the sample's own metadata (`__key__`, `__url__`, even `__proto__`).
    if (isMetadataName(field)) continue;
    if (current === undefined || current.__key__ !== parts.key) {
      if (current !== undefined) yield current;
      current = { __key__: parts.key };
      if (options.url !== undefined) current.__url__ = options.url;
    }
    if (Object.hasOwn(current, field)) {
      throw new TarFormatError(
        'duplicate-field',
        options.url ?? '<tar stream>',
        member.offset,
        `sample "${parts.key}" has two "${field}" members`,
      );
    }
    current[field] = member.data;
  }
  if (current !== undefined) yield current;
}

/** The samples of one shard: `readTar` then `groupByKeys`, with `name` as `__url__`. */
export function readSamples(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<Sample> {
  return groupByKeys(readTar(source, options), options.name === undefined ? {} : { url: options.name });
}

/** A field read back from a sample, or a clear error naming the key when it is missing. */
export function sampleField(sample: Sample, field: string): Uint8Array {
  const value = sample[field];
  if (value === undefined) {
    throw new SampleError('invalid-field', sample.__key__, `sample has no "${field}" member`, field);
  }
  return typeof value === 'string' ? encoder.encode(value) : value;
}
