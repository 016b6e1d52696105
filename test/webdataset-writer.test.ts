import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  digestingStream,
  readTar,
  type Sample,
  SampleError,
  StreamDigest,
  type TarMember,
  writeTar,
} from '../webdataset/index';

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function members(tar: Uint8Array): Promise<TarMember[]> {
  const out: TarMember[] = [];
  for await (const member of readTar([tar])) out.push(member);
  return out;
}

const text = new TextEncoder();

function sample(index: number, imageBytes = 700): Sample {
  return {
    __key__: `000001_${String(index).padStart(6, '0')}`,
    jpg: new Uint8Array(imageBytes).fill(index + 1),
    json: JSON.stringify({ index, label: 'happy' }),
    cls: String(index % 8),
  };
}

/** Reads an octal header field the way tar does. */
function octal(block: Uint8Array, at: number, width: number): number {
  return Number.parseInt(
    Buffer.from(block.subarray(at, at + width))
      .toString('latin1')
      .replace(/\0.*$/, ''),
    8,
  );
}

async function refused(samples: Sample[]): Promise<SampleError> {
  const error = await collect(writeTar(samples)).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(SampleError);
  return error as SampleError;
}

describe('writeTar', () => {
  it('names members <key>.<field>, one sample adjacent, fields in sorted order', async () => {
    const tar = await collect(
      writeTar([
        { __key__: 'a', txt: 'x', cls: '1', jpg: new Uint8Array(3), json: '{}' },
        { __key__: 'b', png: new Uint8Array(1), cls: '2' },
      ]),
    );
    expect((await members(tar)).map((m) => m.name)).toEqual([
      'a.cls',
      'a.jpg',
      'a.json',
      'a.txt',
      'b.cls',
      'b.png',
    ]);
  });

  it('gives byte-identical tars for the same samples, whatever their property order', async () => {
    const first = await collect(writeTar([sample(0), sample(1)]));
    const reordered = [sample(0), sample(1)].map(({ cls, json, jpg, __key__ }) => ({
      cls,
      json,
      jpg,
      __key__,
    }));
    const second = await collect(writeTar(reordered));
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
  });

  it('stamps fixed header fields: mode 0444, mtime 0, uid/gid 0, synfarm user, ustar magic', async () => {
    const header = (await collect(writeTar([sample(0)]))).subarray(0, 512);
    expect(octal(header, 100, 8)).toBe(0o444);
    expect(octal(header, 108, 8)).toBe(0);
    expect(octal(header, 116, 8)).toBe(0);
    expect(octal(header, 136, 12)).toBe(0);
    expect(Buffer.from(header.subarray(257, 265)).toString('latin1')).toBe('ustar\u000000');
    expect(Buffer.from(header.subarray(265, 272)).toString('latin1')).toBe('synfarm');
    expect(String.fromCharCode(header[156]!)).toBe('0');
  });

  it('writes a valid checksum into every header', async () => {
    const tar = await collect(writeTar([sample(0), sample(1, 1500)]));
    const headers = (await members(tar)).map((m) => tar.subarray(m.offset, m.offset + 512));
    expect(headers).toHaveLength(6);
    for (const header of headers) {
      const unsigned = header.reduce((sum, byte, i) => sum + (i >= 148 && i < 156 ? 0x20 : byte), 0);
      expect(octal(header, 148, 8)).toBe(unsigned);
      expect(header.subarray(154, 156)).toEqual(new Uint8Array([0, 0x20]));
    }
  });

  it('stores data in place, zero-padded to 512 bytes, and string fields as UTF-8', async () => {
    const tar = await collect(writeTar([{ __key__: 'k', txt: 'héllo', bin: new Uint8Array([1, 2, 3]) }]));
    const [bin, txt] = await members(tar);
    expect(tar.subarray(bin!.dataOffset, bin!.dataOffset + 3)).toEqual(new Uint8Array([1, 2, 3]));
    expect(tar.subarray(bin!.dataOffset + 3, bin!.dataOffset + 512).every((b) => b === 0)).toBe(true);
    expect(txt!.data).toEqual(text.encode('héllo'));
    expect(txt!.offset).toBe(1024);
  });

  it.each([
    [0, 'no samples'],
    [1, 'members ending mid-record'],
    [9, 'members and end marker filling exactly one record'],
    [10, 'members filling a whole record, end marker in the next'],
  ])('ends with two zero blocks and pads to a multiple of 10240 bytes (%i members: %s)', async (count) => {
    const samples = Array.from({ length: count }, (_, i) => ({ __key__: `k${i}`, bin: new Uint8Array(512) }));
    const tar = await collect(writeTar(samples));
    const membersEnd = count * 1024;
    expect(tar.length % 10240).toBe(0);
    expect(tar.length).toBe(Math.ceil((membersEnd + 1024) / 10240) * 10240);
    expect(tar.subarray(membersEnd).every((b) => b === 0)).toBe(true);
  });

  it('accepts a 100-byte member name and refuses 101 bytes with name-too-long naming the key', async () => {
    const fits = `${'k'.repeat(96)}`;
    expect((await members(await collect(writeTar([{ __key__: fits, cls: '1' }]))))[0]!.name).toBe(
      `${fits}.cls`,
    );
    const long = 'é'.repeat(48);
    const error = await refused([{ __key__: long, json: '{}' }]);
    expect(error.code).toBe('name-too-long');
    expect(error.key).toBe(long);
    expect(error.message).toContain('101 bytes');
  });

  it.each([
    ['', 'empty'],
    ['a.b', 'a dot'],
    ['a/b', 'a slash'],
    ['a\nb', 'a control character'],
  ])('refuses the key %j (%s) with invalid-key', async (key) => {
    const error = await refused([{ __key__: key, cls: '1' }]);
    expect(error.code).toBe('invalid-key');
  });

  it.each([
    ['', 'empty'],
    ['a/b', 'with a slash'],
    ['JPG', 'uppercase'],
    ['.jpg', 'with a leading dot'],
  ])('refuses the field %j (%s) with invalid-field', async (field) => {
    const error = await refused([{ __key__: 'k', [field]: 'x' }]);
    expect(error.code).toBe('invalid-field');
    expect(error.field).toBe(field);
  });

  it('refuses a field that is neither bytes nor a string', async () => {
    const error = await refused([{ __key__: 'k', cls: 3 as unknown as string }]);
    expect(error).toMatchObject({ code: 'invalid-field', field: 'cls', key: 'k' });
  });

  it('accepts multi-part fields such as seg.png and skips __metadata__ entries', async () => {
    const tar = await collect(writeTar([{ __key__: 'k', 'seg.png': 'x', __url__: 'ignored' }]));
    expect((await members(tar)).map((m) => m.name)).toEqual(['k.seg.png']);
  });

  it('refuses a key written twice and a sample without fields', async () => {
    expect((await refused([sample(0), sample(1), sample(0)])).code).toBe('duplicate-key');
    expect((await refused([{ __key__: 'k', __url__: 'x' }])).code).toBe('empty-sample');
  });

  it('streams: yields a sample before pulling the next one from its source', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<Sample> {
      for (let i = 0; i < 3; i++) {
        pulled++;
        yield sample(i);
      }
    }
    const stream = writeTar(source());
    const first = await stream.next();
    expect(first.done).toBe(false);
    expect(pulled).toBe(1);
    await stream.return(undefined);
  });
});

describe('digestingStream', () => {
  it('counts the bytes and hashes them with sha256 while passing the stream through', async () => {
    const digest = new StreamDigest();
    const tar = await collect(digestingStream(writeTar([sample(0), sample(1)]), digest));
    expect(digest.bytes).toBe(tar.length);
    expect(digest.sha256).toBe(createHash('sha256').update(tar).digest('hex'));
  });

  it('refuses to give a sha256 before the stream has ended', async () => {
    const digest = new StreamDigest();
    const stream = digestingStream(writeTar([sample(0)]), digest);
    await stream.next();
    expect(digest.done).toBe(false);
    expect(() => digest.sha256).toThrow(/before the stream ended/);
  });
});
