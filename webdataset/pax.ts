import { TarFormatError } from './errors';

const decoder = new TextDecoder();
const SPACE = 0x20;
const EQUALS = 0x3d;
const NEWLINE = 0x0a;

/**
 * Records of a PAX extended header (`<length> <key>=<value>\n`, length counting the whole record in
 * bytes). Python's tarfile writes these for long or non-ASCII names and for float mtimes.
 * Trailing NULs are tolerated, as Python does; anything else malformed is an error.
 */
export function parsePaxRecords(data: Uint8Array, shard: string, offset: number): Map<string, string> {
  const records = new Map<string, string>();
  const malformed = (why: string) => new TarFormatError('bad-pax', shard, offset, `PAX header ${why}`);
  let pos = 0;
  while (pos < data.length && data[pos] !== 0) {
    const space = data.indexOf(SPACE, pos);
    const lengthText = space < 0 ? '' : decoder.decode(data.subarray(pos, space));
    if (!/^[0-9]+$/.test(lengthText)) throw malformed(`record at ${pos} has no length`);
    const end = pos + Number.parseInt(lengthText, 10);
    if (end > data.length || end <= space + 1 || data[end - 1] !== NEWLINE) {
      throw malformed(`record at ${pos} has a wrong length`);
    }
    const record = data.subarray(space + 1, end - 1);
    const equals = record.indexOf(EQUALS);
    if (equals <= 0) throw malformed(`record at ${pos} has no key`);
    records.set(decoder.decode(record.subarray(0, equals)), decoder.decode(record.subarray(equals + 1)));
    pos = end;
  }
  return records;
}
