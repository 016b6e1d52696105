import { ChunkReader } from './chunk-reader';
import { TarFormatError, type TarFormatErrorCode } from './errors';
import { parsePaxRecords } from './pax';
import { BLOCK_SIZE, isZeroBlock, type ParsedHeader, paddedSize, parseHeader } from './tar-header';

/** One regular file of a tar. */
export interface TarMember {
  name: string;
  /** Offset of the member's first header block (its PAX or GNU long-name header, when it has one). */
  offset: number;
  /** Offset of the member's first data byte. */
  dataOffset: number;
  size: number;
  /** May be a view into a chunk of the source; copy it before mutating. */
  data: Uint8Array;
}

export interface ReadTarOptions {
  /** The shard's name or URL, carried by every error. */
  name?: string;
}

/** Entries whose data Python's tarfile does not skip: links, devices, directories, FIFOs. */
const NO_DATA_TYPES = new Set(['1', '2', '3', '4', '5', '6']);
const REGULAR_TYPES = new Set(['0', '\u0000', '7']);

/** Name and size overrides collected from extension headers for the entry that follows them. */
interface Overrides {
  path?: string;
  size?: number;
}

/**
 * Streams the regular files of a tar. Chunk boundaries may fall anywhere. The archive must end with
 * the two zero blocks Python's tarfile writes: a stream that stops before them, or anywhere inside
 * a header or a member, raises `TarFormatError` instead of ending quietly. What follows the end
 * marker must be zeros (the record padding): two zero blocks can also be a header zeroed out by
 * damage, and only the bytes after them tell the two apart. Directories, links and devices are
 * skipped; PAX (`x`, `g`) and GNU long-name (`L`) headers are applied to the entries they describe.
 */
export async function* readTar(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ReadTarOptions = {},
): AsyncGenerator<TarMember> {
  const shard = options.name ?? '<tar stream>';
  const reader = new ChunkReader(source);
  const fail = (code: TarFormatErrorCode, offset: number, detail: string) =>
    new TarFormatError(code, shard, offset, detail);

  /** Data and padding of an entry whose header is at `at`; a short read is truncation. */
  const readData = async (header: ParsedHeader, size: number, at: number): Promise<Uint8Array> => {
    const data = await reader.read(size);
    const padding = paddedSize(size) - size;
    if (data.length < size || (await reader.skip(padding)) < padding) {
      throw fail('truncated', at, `stream ended inside the data of ${JSON.stringify(header.name)}`);
    }
    return data;
  };

  try {
    let global: Overrides = {};
    let local: Overrides = {};
    let firstHeader: number | undefined;
    for (;;) {
      const at = reader.position;
      const block = await reader.read(BLOCK_SIZE);
      if (block.length === 0 && firstHeader === undefined) {
        throw fail('missing-end', at, 'stream ended without the end-of-archive marker (two zero blocks)');
      }
      if (block.length < BLOCK_SIZE) throw fail('truncated', at, 'stream ended inside a tar header');
      if (isZeroBlock(block)) {
        const second = await reader.read(BLOCK_SIZE);
        if (second.length < BLOCK_SIZE) {
          throw fail('truncated', at, 'stream ended inside the end-of-archive marker (two zero blocks)');
        }
        if (!isZeroBlock(second))
          throw fail('bad-header', at, 'a zero block stands where a header should be');
        if (firstHeader !== undefined) {
          throw fail(
            'bad-header',
            firstHeader,
            'an extension header is not followed by the entry it describes',
          );
        }
        const garbage = await firstNonZero(reader);
        if (garbage !== undefined) {
          throw fail(
            'data-after-end',
            at,
            `data at byte ${garbage} follows the end-of-archive marker: a header was zeroed out or bytes were appended`,
          );
        }
        return;
      }
      const header = parseHeader(block, shard, at);
      firstHeader ??= at;
      switch (header.typeflag) {
        case 'x':
          local = { ...local, ...paxOverrides(await readData(header, header.size, at), shard, at) };
          continue;
        case 'g':
          global = { ...global, ...paxOverrides(await readData(header, header.size, at), shard, at) };
          firstHeader = undefined;
          continue;
        case 'L':
          local = { ...local, path: nulTerminated(await readData(header, header.size, at)) };
          continue;
        case 'K':
          await readData(header, header.size, at);
          continue;
      }
      const size = local.size ?? global.size ?? header.size;
      const name = local.path ?? global.path ?? header.name;
      const member = { name, offset: firstHeader, dataOffset: reader.position, size };
      local = {};
      firstHeader = undefined;
      // Old V7 tars mark directories by a trailing slash on a regular entry.
      if (REGULAR_TYPES.has(header.typeflag) && !(header.typeflag === '\u0000' && name.endsWith('/'))) {
        yield { ...member, data: await readData(header, size, at) };
      } else if (!NO_DATA_TYPES.has(header.typeflag) && header.typeflag !== '\u0000') {
        await readData(header, size, at);
      }
    }
  } finally {
    await reader.close();
  }
}

/** Absolute offset of the first non-zero byte left in the stream, if any. */
async function firstNonZero(reader: ChunkReader): Promise<number | undefined> {
  for (;;) {
    const at = reader.position;
    const chunk = await reader.read(64 * 1024);
    if (chunk.length === 0) return undefined;
    const index = chunk.findIndex((byte) => byte !== 0);
    if (index >= 0) return at + index;
  }
}

function paxOverrides(data: Uint8Array, shard: string, offset: number): Overrides {
  const records = parsePaxRecords(data, shard, offset);
  const overrides: Overrides = {};
  const path = records.get('path');
  if (path !== undefined) overrides.path = path;
  const size = records.get('size');
  if (size !== undefined) {
    if (!/^[0-9]+$/.test(size)) throw new TarFormatError('bad-pax', shard, offset, `PAX size "${size}"`);
    overrides.size = Number.parseInt(size, 10);
  }
  return overrides;
}

function nulTerminated(data: Uint8Array): string {
  const end = data.indexOf(0);
  return new TextDecoder().decode(end < 0 ? data : data.subarray(0, end));
}
