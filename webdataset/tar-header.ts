import { TarFormatError } from './errors';

export const BLOCK_SIZE = 512;
/** Python's tarfile (and GNU tar) pad the archive to whole records of 20 blocks. */
export const RECORD_SIZE = 20 * BLOCK_SIZE;
/** The ustar name field; `wids` reads only this field, so every member name must fit in it. */
export const USTAR_NAME_BYTES = 100;

export const TYPE_REGULAR = '0';

/** Bytes a member of `size` bytes occupies after its header, padding included. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK_SIZE) * BLOCK_SIZE;
}

export function isZeroBlock(block: Uint8Array): boolean {
  for (const byte of block) if (byte !== 0) return false;
  return true;
}

export interface UstarFields {
  name: Uint8Array;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: string;
  gname: string;
}

const encoder = new TextEncoder();

/** ASCII text into `width` bytes at `at` (the rest stays NUL); header fields other than names are ASCII. */
function putAscii(block: Uint8Array, at: number, width: number, text: string): void {
  const n = Math.min(width, text.length);
  for (let i = 0; i < n; i++) block[at + i] = text.charCodeAt(i);
}

/** Octal digits then NUL, as Python's `itn` writes them for values that fit. */
function putOctal(block: Uint8Array, at: number, width: number, value: number, field: string): void {
  const digits = value.toString(8).padStart(width - 1, '0');
  if (digits.length > width - 1) throw new RangeError(`tar ${field} ${value} does not fit in ${width} bytes`);
  putAscii(block, at, width - 1, digits);
}

/**
 * One POSIX ustar header block, laid out byte for byte as Python's tarfile writes it with
 * USTAR_FORMAT (device fields left as NULs for regular files, checksum as six octal digits, NUL, space).
 */
export function encodeUstarHeader(fields: UstarFields): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  writeUstarHeader(block, 0, ustarTemplate(fields), fields.name, fields.size);
  return block;
}

/**
 * The header fields every member of one tar shares (mode, owner, mtime, magic), encoded once; the
 * checksum field holds spaces, as the checksum is computed with it.
 */
export function ustarTemplate(fields: Omit<UstarFields, 'name' | 'size'>): Uint8Array {
  const block = new Uint8Array(BLOCK_SIZE);
  putOctal(block, 100, 8, fields.mode, 'mode');
  putOctal(block, 108, 8, fields.uid, 'uid');
  putOctal(block, 116, 8, fields.gid, 'gid');
  putOctal(block, 136, 12, fields.mtime, 'mtime');
  block.fill(0x20, 148, 156);
  block[156] = TYPE_REGULAR.charCodeAt(0);
  putAscii(block, 257, 8, 'ustar\u000000');
  block.set(encoder.encode(fields.uname).subarray(0, 32), 265);
  block.set(encoder.encode(fields.gname).subarray(0, 32), 297);
  return block;
}

/**
 * A member's header written in place into `target` at `at`: the template, then its name, size and
 * checksum. The tar writer lays a sample's headers straight into its output chunk this way.
 */
export function writeUstarHeader(
  target: Uint8Array,
  at: number,
  template: Uint8Array,
  name: Uint8Array,
  size: number,
): void {
  target.set(template, at);
  const nameLength = Math.min(name.length, USTAR_NAME_BYTES);
  target.set(name.subarray(0, nameLength), at);
  putOctal(target, at + 124, 12, size, 'size');
  // The checksum is the template's sum (its name and size fields are NUL, its checksum field
  // spaces) plus the bytes just written over those NULs: no pass over the whole block per member.
  let checksum = templateSum(template);
  for (let i = at; i < at + nameLength; i++) checksum += target[i]!;
  for (let i = at + 124; i < at + 135; i++) checksum += target[i]!;
  putAscii(target, at + 148, 7, `${checksum.toString(8).padStart(6, '0')}\u0000`);
}

const templateSums = new WeakMap<Uint8Array, number>();

function templateSum(template: Uint8Array): number {
  let sum = templateSums.get(template);
  if (sum === undefined) {
    for (let i = 0; i < 100; i++) {
      if (template[i] !== 0) throw new Error('a ustar template must leave the name field NUL');
    }
    for (let i = 124; i < 136; i++) {
      if (template[i] !== 0) throw new Error('a ustar template must leave the size field NUL');
    }
    sum = unsignedChecksum(template);
    templateSums.set(template, sum);
  }
  return sum;
}

/** Sum of the header bytes with the checksum field counted as spaces (POSIX). */
function unsignedChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

/** Some old tars summed signed bytes; Python accepts either, and so do we. */
function signedChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    sum += byte > 127 ? byte - 256 : byte;
  }
  return sum;
}

export interface ParsedHeader {
  /** Name with the ustar prefix joined, as the header alone gives it (PAX/GNU records may override it). */
  name: string;
  size: number;
  typeflag: string;
}

const decoder = new TextDecoder();

/** Text up to the first NUL, like Python's `nts`. */
function readString(block: Uint8Array, at: number, width: number): string {
  const field = block.subarray(at, at + width);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** Octal (NUL/space padded) or GNU base-256, like Python's `nti`; undefined when neither. */
function readNumber(block: Uint8Array, at: number, width: number): number | undefined {
  const first = block[at]!;
  if (first === 0x80 || first === 0xff) {
    let value = 0;
    for (let i = at + 1; i < at + width; i++) value = value * 256 + block[i]!;
    return first === 0xff ? value - 256 ** (width - 1) : value;
  }
  const text = readString(block, at, width).trim();
  if (text === '') return 0;
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : undefined;
}

/** Decodes and verifies one header block found at `offset` of `shard`. */
export function parseHeader(block: Uint8Array, shard: string, offset: number): ParsedHeader {
  const stored = readNumber(block, 148, 8);
  if (stored === undefined || (stored !== unsignedChecksum(block) && stored !== signedChecksum(block))) {
    throw new TarFormatError('bad-checksum', shard, offset, 'tar header checksum mismatch: not a tar header');
  }
  const size = readNumber(block, 124, 12);
  if (size === undefined || size < 0) {
    throw new TarFormatError('bad-header', shard, offset, 'tar header has an unreadable size field');
  }
  let name = readString(block, 0, 100);
  // Only POSIX ustar has a prefix field; GNU tar keeps access/change times in the same bytes.
  const posix = readString(block, 257, 6) === 'ustar';
  const prefix = posix ? readString(block, 345, 155) : '';
  if (prefix !== '') name = `${prefix}/${name}`;
  const flag = block[156]!;
  return { name, size, typeflag: flag === 0 ? '\u0000' : String.fromCharCode(flag) };
}
