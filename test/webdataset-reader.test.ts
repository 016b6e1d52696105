import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../plan/random';
import {
  groupByKeys,
  readSamples,
  readTar,
  type Sample,
  TarFormatError,
  type TarMember,
  writeTar,
} from '../webdataset/index';

const text = new TextEncoder();

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return new Uint8Array(Buffer.concat(chunks));
}

async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** Deterministic PRNG so a failing chunking can be replayed from its seed. */
const seededRandom = mulberry32;

/** `bytes` in pieces whose sizes `nextSize` picks, as a network stream might deliver them. */
async function* rechunk(bytes: Uint8Array, nextSize: () => number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; ) {
    const size = Math.max(1, nextSize());
    yield bytes.slice(at, at + size);
    at += size;
  }
}

function fixChecksum(bytes: Uint8Array, headerOffset: number): void {
  const block = bytes.subarray(headerOffset, headerOffset + 512);
  block.fill(0x20, 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  block.set(text.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
}

/** A hand-made entry (header of `typeflag` plus padded data) for PAX, GNU and odd entry types. */
function rawEntry(name: string, typeflag: string, data: Uint8Array | string = '', prefix = ''): Uint8Array {
  const body = typeof data === 'string' ? text.encode(data) : data;
  const entry = new Uint8Array(512 + Math.ceil(body.length / 512) * 512);
  entry.set(text.encode(name).subarray(0, 100), 0);
  entry.set(text.encode('0000644\u0000'), 100);
  entry.set(text.encode(`${body.length.toString(8).padStart(11, '0')}\u0000`), 124);
  entry[156] = typeflag.charCodeAt(0);
  entry.set(text.encode('ustar\u000000'), 257);
  entry.set(text.encode(prefix), 345);
  entry.set(body, 512);
  fixChecksum(entry, 0);
  return entry;
}

/** A PAX record `<len> key=value\n` whose length counts itself. */
function paxRecord(key: string, value: string): string {
  const bodyBytes = text.encode(` ${key}=${value}\n`).length;
  let length = bodyBytes + 1;
  while (String(length).length + bodyBytes !== length) length++;
  return `${length} ${key}=${value}\n`;
}

const END = new Uint8Array(1024);

function chunkSizes(seed: number, max = 1200): () => number {
  const random = seededRandom(seed);
  return () => Math.floor(random() * max) + 1;
}

function testSamples(): Sample[] {
  return Array.from({ length: 4 }, (_, i) => ({
    __key__: `000002_${String(i).padStart(6, '0')}`,
    jpg: Uint8Array.from({ length: 300 + i * 250 }, (_, j) => (j * 31 + i) % 256),
    json: JSON.stringify({ index: i, soft: [0.1, 0.9] }),
    cls: String(i),
  }));
}

async function cleanTar(): Promise<{ tar: Uint8Array; members: TarMember[]; membersEnd: number }> {
  const tar = await collect(writeTar(testSamples()));
  const members = await toArray(readTar([tar]));
  const last = members.at(-1)!;
  return { tar, members, membersEnd: last.dataOffset + Math.ceil(last.size / 512) * 512 };
}

function plain(members: TarMember[]) {
  return members.map((m) => ({ ...m, data: Buffer.from(m.data).toString('base64') }));
}

describe('readTar and readSamples', () => {
  it('round-trips samples written by writeTar, strings coming back as UTF-8 bytes', async () => {
    const { tar } = await cleanTar();
    const samples = await toArray(readSamples([tar], { name: 'shard-000002.tar' }));
    const expected = testSamples().map((s) => ({
      __key__: s.__key__,
      __url__: 'shard-000002.tar',
      jpg: s.jpg,
      json: text.encode(s.json as string),
      cls: text.encode(s.cls as string),
    }));
    expect(samples).toEqual(expected);
  });

  it('reports each member with its header offset, data offset and size', async () => {
    const { tar, members } = await cleanTar();
    expect(members).toHaveLength(12);
    expect(members[0]).toMatchObject({ name: '000002_000000.cls', offset: 0, dataOffset: 512, size: 1 });
    for (const m of members) {
      expect(m.dataOffset).toBe(m.offset + 512);
      expect(m.data).toEqual(tar.subarray(m.dataOffset, m.dataOffset + m.size));
    }
  });

  it('reads the same members when the stream arrives in 1-byte chunks', async () => {
    const { tar, members } = await cleanTar();
    const oneByte = await toArray(readTar(rechunk(tar, () => 1)));
    expect(plain(oneByte)).toEqual(plain(members));
  });

  it.each([1, 2, 3, 4, 5])('reads the same members with random chunk sizes (seed %i)', async (seed) => {
    const { tar, members } = await cleanTar();
    const maxChunk = [7, 511, 513, 1500, 9000][seed - 1]!;
    const chunked = await toArray(readTar(rechunk(tar, chunkSizes(seed, maxChunk))));
    expect(plain(chunked)).toEqual(plain(members));
  });

  it('accepts an archive that ends with the two zero blocks and no record padding', async () => {
    const tar = concat(rawEntry('k.txt', '0', 'hi'), END);
    expect((await toArray(readTar([tar]))).map((m) => m.name)).toEqual(['k.txt']);
  });

  it('accepts record padding of any length after the end marker', async () => {
    const tar = concat(rawEntry('k.txt', '0', 'hi'), END, new Uint8Array(30000));
    expect(await toArray(readTar(rechunk(tar, chunkSizes(3))))).toHaveLength(1);
  });

  it('stops reading the source when the consumer stops early', async () => {
    const { tar, members } = await cleanTar();
    let closed = false;
    async function* source() {
      try {
        yield* rechunk(tar, () => 700);
      } finally {
        closed = true;
      }
    }
    for await (const member of readTar(source())) {
      expect(member.name).toBe(members[0]!.name);
      break;
    }
    expect(closed).toBe(true);
  });
});

describe('readTar on PAX, GNU and non-file entries', () => {
  it('honours a PAX path record for names longer than the ustar field', async () => {
    const long = `${'n'.repeat(150)}.json`;
    const pax = rawEntry('./PaxHeaders/x', 'x', paxRecord('path', long) + paxRecord('mtime', '1.5'));
    const tar = concat(pax, rawEntry(long.slice(0, 100), '0', '{}'), END);
    const [member] = await toArray(readTar([tar]));
    expect(member).toMatchObject({ name: long, offset: 0, dataOffset: pax.length + 512, size: 2 });
  });

  it('honours a PAX size record over the header size', async () => {
    const data = 'x'.repeat(600);
    const tar = concat(rawEntry('p', 'x', paxRecord('size', '600')), rawEntry('k.txt', '0', data), END);
    tar.set(text.encode('00000000001\u0000'), 1024 + 124);
    fixChecksum(tar, 1024);
    const [member] = await toArray(readTar([tar]));
    expect(member!.data).toEqual(text.encode(data));
  });

  it('applies a PAX global header to later entries without yielding it', async () => {
    const tar = concat(
      rawEntry('g', 'g', paxRecord('comment', 'made by hand')),
      rawEntry('k.cls', '0', '1'),
      END,
    );
    expect((await toArray(readTar([tar]))).map((m) => [m.name, m.offset])).toEqual([['k.cls', 512 + 512]]);
  });

  it('honours a GNU long-name entry', async () => {
    const long = `${'g'.repeat(120)}.txt`;
    const tar = concat(rawEntry('././@LongLink', 'L', `${long}\u0000`), rawEntry('short', '0', 'abc'), END);
    const [member] = await toArray(readTar([tar]));
    expect(member).toMatchObject({ name: long, offset: 0, size: 3 });
  });

  it('joins the ustar prefix field to the name', async () => {
    const tar = concat(rawEntry('k.txt', '0', 'a', 'some/dir'), END);
    expect((await toArray(readTar([tar])))[0]!.name).toBe('some/dir/k.txt');
  });

  it('skips directories, links and unknown entry types, keeping the files around them', async () => {
    const tar = concat(
      rawEntry('dir', '5'),
      rawEntry('old-style-dir/', '\u0000'),
      rawEntry('link.txt', '2'),
      rawEntry('hard.txt', '1'),
      rawEntry('volume', 'V', 'x'.repeat(700)),
      rawEntry('a.txt', '0', 'A'),
      rawEntry('b.txt', '7', 'B'),
      END,
    );
    expect((await toArray(readTar([tar]))).map((m) => [m.name, Buffer.from(m.data).toString()])).toEqual([
      ['a.txt', 'A'],
      ['b.txt', 'B'],
    ]);
  });
});

interface Corruption {
  name: string;
  build: (clean: Awaited<ReturnType<typeof cleanTar>>) => { bytes: Uint8Array; offset: number };
  code: TarFormatError['code'];
}

const corruptions: Corruption[] = [
  {
    name: 'cut in the middle of a member',
    code: 'truncated',
    build: ({ tar, members }) => ({
      bytes: tar.slice(0, members[4]!.dataOffset + 100),
      offset: members[4]!.offset,
    }),
  },
  {
    name: "cut inside a member's padding",
    code: 'truncated',
    build: ({ tar, members }) => {
      const m = members[4]!;
      return { bytes: tar.slice(0, m.dataOffset + m.size + 1), offset: m.offset };
    },
  },
  {
    name: 'cut inside a header',
    code: 'truncated',
    build: ({ tar, members }) => ({
      bytes: tar.slice(0, members[3]!.offset + 100),
      offset: members[3]!.offset,
    }),
  },
  {
    name: 'cut exactly at a header',
    code: 'missing-end',
    build: ({ tar, members }) => ({ bytes: tar.slice(0, members[3]!.offset), offset: members[3]!.offset }),
  },
  {
    name: 'cut after the last member, before the end marker',
    code: 'missing-end',
    build: ({ tar, membersEnd }) => ({ bytes: tar.slice(0, membersEnd), offset: membersEnd }),
  },
  {
    name: 'cut after one of the two zero blocks',
    code: 'truncated',
    build: ({ tar, membersEnd }) => ({ bytes: tar.slice(0, membersEnd + 512), offset: membersEnd }),
  },
  {
    name: 'cut inside the end marker',
    code: 'truncated',
    build: ({ tar, membersEnd }) => ({ bytes: tar.slice(0, membersEnd + 700), offset: membersEnd }),
  },
  {
    name: 'empty stream',
    code: 'missing-end',
    build: () => ({ bytes: new Uint8Array(), offset: 0 }),
  },
  {
    name: 'a flipped byte in a header',
    code: 'bad-checksum',
    build: ({ tar, members }) => {
      const bytes = tar.slice();
      bytes[members[2]!.offset + 3]! ^= 0x01;
      return { bytes, offset: members[2]!.offset };
    },
  },
  {
    name: 'garbage instead of a tar',
    code: 'bad-checksum',
    build: () => {
      const random = seededRandom(42);
      return { bytes: Uint8Array.from({ length: 4096 }, () => Math.floor(random() * 256)), offset: 0 };
    },
  },
  {
    name: 'garbage after a member',
    code: 'bad-checksum',
    build: ({ tar, members }) => {
      const bytes = tar.slice();
      bytes.fill(0x41, members[6]!.offset, members[6]!.offset + 2000);
      return { bytes, offset: members[6]!.offset };
    },
  },
  {
    name: 'a size field that is not octal (checksum valid)',
    code: 'bad-header',
    build: ({ tar, members }) => {
      const bytes = tar.slice();
      bytes.set(text.encode('0000000009x\u0000'), members[5]!.offset + 124);
      fixChecksum(bytes, members[5]!.offset);
      return { bytes, offset: members[5]!.offset };
    },
  },
  {
    name: 'a zeroed header followed by more members',
    code: 'data-after-end',
    build: ({ tar, members }) => {
      const bytes = tar.slice();
      bytes.fill(0, members[5]!.offset, members[5]!.offset + 1024);
      return { bytes, offset: members[5]!.offset };
    },
  },
  {
    name: 'a PAX header that no entry follows',
    code: 'bad-header',
    build: ({ membersEnd, tar }) => ({
      bytes: concat(tar.slice(0, membersEnd), rawEntry('p', 'x', paxRecord('path', 'a.txt')), END),
      offset: membersEnd,
    }),
  },
  {
    name: 'a stream that ends after a PAX header',
    code: 'truncated',
    build: ({ membersEnd, tar }) => ({
      bytes: concat(tar.slice(0, membersEnd), rawEntry('p', 'x', paxRecord('path', 'a.txt'))),
      offset: membersEnd + 1024,
    }),
  },
  {
    name: 'a malformed PAX record',
    code: 'bad-pax',
    build: ({ membersEnd, tar }) => ({
      bytes: concat(
        tar.slice(0, membersEnd),
        rawEntry('p', 'x', '99 path=a.txt\n'),
        rawEntry('a.txt', '0'),
        END,
      ),
      offset: membersEnd,
    }),
  },
];

describe('readTar on damaged shards', () => {
  const chunkings: [string, (bytes: Uint8Array) => AsyncIterable<Uint8Array> | Iterable<Uint8Array>][] = [
    ['one chunk', (bytes) => [bytes]],
    ['1-byte chunks', (bytes) => rechunk(bytes, () => 1)],
    ['random chunks', (bytes) => rechunk(bytes, chunkSizes(7))],
  ];

  for (const corruption of corruptions) {
    it.each(chunkings)(
      `raises TarFormatError ${corruption.code} for ${corruption.name} (%s)`,
      async (_, chunk) => {
        const { bytes, offset } = corruption.build(await cleanTar());
        const error = await toArray(readTar(chunk(bytes), { name: 's3://bucket/shard-000002.tar' })).catch(
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TarFormatError);
        expect(error).toMatchObject({ code: corruption.code, offset, shard: 's3://bucket/shard-000002.tar' });
        expect((error as Error).message).toContain(`byte offset ${offset}`);
      },
    );
  }

  it('raises duplicate-field at the second member when a sample has two members for one field', async () => {
    const second = rawEntry('k.JPG', '0', 'b');
    const tar = concat(rawEntry('k.jpg', '0', 'a'), second, END);
    const error = await toArray(readSamples([tar], { name: 'dup.tar' })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      name: 'TarFormatError',
      code: 'duplicate-field',
      offset: 1024,
      shard: 'dup.tar',
    });
  });
});

describe('groupByKeys', () => {
  function member(name: string, data = name): TarMember {
    return { name, offset: 0, dataOffset: 512, size: data.length, data: text.encode(data) };
  }

  it('splits names at the first dot of the basename and lowercases the field, as Python does', async () => {
    const samples = await toArray(
      groupByKeys([member('dir.v1/abc.seg.png', 'S'), member('dir.v1/abc.JSON', 'J')], { url: 'u' }),
    );
    expect(samples).toEqual([
      { __key__: 'dir.v1/abc', __url__: 'u', 'seg.png': text.encode('S'), json: text.encode('J') },
    ]);
  });

  it('skips __meta__ entries, names without a field and __-prefixed fields', async () => {
    const samples = await toArray(
      groupByKeys([member('__index__'), member('README'), member('k.__proto__'), member('k.cls', '3')]),
    );
    expect(samples).toEqual([{ __key__: 'k', cls: text.encode('3') }]);
    expect(Object.getPrototypeOf(samples[0])).toBe(Object.prototype);
  });

  it('starts a new sample whenever the key changes, even back to an earlier key', async () => {
    const keys = (
      await toArray(groupByKeys([member('a.x'), member('a.y'), member('b.x'), member('a.z')]))
    ).map((s) => s.__key__);
    expect(keys).toEqual(['a', 'b', 'a']);
  });
});
