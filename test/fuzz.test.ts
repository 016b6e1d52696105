import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import {
  ConsumerError,
  openRun,
  type ReaderState,
  readRun,
  syntheticImages,
  writeSyntheticRun,
} from '../consumer';
import { InvalidRunIdError, runKeys } from '../run/layout';
import { parseSpec, resolveSpec, SpecError } from '../spec';
import { openStore } from '../storage';
import { InvalidKeyError } from '../storage/errors';
import { assertValidKey } from '../storage/keys';
import { readSamples, type Sample, TarFormatError, writeTar } from '../webdataset';

/**
 * Bad input, fuzzed (issue 10): every property ends in a typed error or a correct result, never
 * an untyped exception, a hang or a partial output. Seeded and bounded so `npm test` stays quick
 * and a failure replays exactly (fast-check prints the seed and the shrunk counterexample).
 */
const SEED = 20261201;
const runs = (numRuns: number) => ({ seed: SEED, numRuns });

/** Runs `fn`; a throw must be an instance of one of `types`, anything else fails the property. */
function typedOrOk<T>(fn: () => T, ...types: (abstract new (...args: never[]) => Error)[]): T | Error {
  try {
    return fn();
  } catch (error) {
    if (types.some((t) => error instanceof t)) return error as Error;
    throw error;
  }
}

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of source) out.push(x);
  return out;
}

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

const sampleArb: fc.Arbitrary<Sample[]> = fc
  .uniqueArray(fc.stringMatching(/^[a-z0-9_]{1,20}$/), { minLength: 1, maxLength: 6 })
  .chain((keys) =>
    fc.tuple(
      ...keys.map((key) =>
        fc.record({
          __key__: fc.constant(key),
          bin: fc.uint8Array({ maxLength: 1500 }),
          json: fc.string({ maxLength: 40 }).map((s) => JSON.stringify({ s })),
        }),
      ),
    ),
  );

/** The tar's bytes and where its members end (the end-of-archive marker starts there). */
async function tarOf(samples: Sample[]): Promise<{ tar: Uint8Array; membersEnd: number }> {
  const chunks = await collect(writeTar(samples));
  const tar = Buffer.concat(chunks);
  return { tar, membersEnd: tar.length - chunks[chunks.length - 1]!.length };
}

describe('fuzz: the spec parser', () => {
  it('any text parses to a spec or throws one SpecError, nothing else', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        typedOrOk(() => parseSpec(text), SpecError);
      }),
      runs(300),
    );
  });

  it('any JSON value, and near-valid specs with random field values, resolve or throw SpecError', () => {
    const value = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constant(undefined));
    const nearValid = fc.record({
      runId: fc.oneof(fc.constant('fuzz-run'), fc.string({ maxLength: 70 })),
      target: fc.oneof(fc.integer(), fc.constant('5x affectnet'), fc.string({ maxLength: 20 }), value),
      shardSize: fc.oneof(fc.integer(), value),
      output: fc.oneof(fc.constant('file:///tmp/fuzz'), fc.string({ maxLength: 40 }), value),
      generator: fc.oneof(fc.record({ backend: fc.string({ maxLength: 12 }), batchSize: value }), value),
      classes: value,
      filter: value,
    });
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 4 }), nearValid), (input) => {
        const result = typedOrOk(() => resolveSpec(input), SpecError);
        if (result instanceof SpecError) expect(result.issues.length).toBeGreaterThan(0);
      }),
      runs(300),
    );
  });
});

describe('fuzz: the tar reader', () => {
  it('random bytes: samples or a TarFormatError, never another error or a hang', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 4096 }),
        fc.integer({ min: 1, max: 700 }),
        async (bytes, n) => {
          try {
            await collect(readSamples(chunked(bytes, n), { name: 'fuzz.tar' }));
          } catch (error) {
            expect(error).toBeInstanceOf(TarFormatError);
          }
        },
      ),
      runs(300),
    );
  });

  it('a truncated shard always ends in a TarFormatError: never a silent partial read', async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, fc.double({ min: 0, max: 1, noNaN: true }), async (samples, cut) => {
        const { tar, membersEnd } = await tarOf(samples);
        // Cut anywhere up to the end-of-archive marker: what is left is a partial shard.
        const at = Math.floor(cut * membersEnd);
        const error = await collect(readSamples(chunked(tar.subarray(0, at), 512), { name: 'cut.tar' })).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(TarFormatError);
      }),
      runs(150),
    );
  });

  it('a bit flip yields every member back (content may differ) or a TarFormatError', async () => {
    await fc.assert(
      fc.asyncProperty(sampleArb, fc.nat(), fc.integer({ min: 0, max: 7 }), async (samples, pos, bit) => {
        const tar = Uint8Array.from((await tarOf(samples)).tar);
        const at = pos % tar.length;
        tar[at] = tar[at]! ^ (1 << bit);
        try {
          const read = await collect(readSamples(chunked(tar, 1000), { name: 'flip.tar' }));
          // Data has no checksum in a tar, so a flip there (or in a name) changes content; it
          // never loses or invents a member: each written member comes back once.
          const members = read.reduce(
            (n, s) => n + Object.keys(s).filter((k) => !k.startsWith('__')).length,
            0,
          );
          expect(members).toBe(2 * samples.length);
        } catch (error) {
          expect(error).toBeInstanceOf(TarFormatError);
        }
      }),
      runs(200),
    );
  });
});

describe('fuzz: object keys and run ids', () => {
  it('a run id is refused with InvalidRunIdError, or every key of the run stays under its prefix', () => {
    const runId = fc.oneof(
      fc.string({ maxLength: 70 }),
      fc.constantFrom(
        '..',
        '.',
        'a/..',
        '../other',
        'a/b',
        'run/shards',
        '',
        '/abs',
        'x\u0000y',
        '.synfarm-tmp',
      ),
      fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,62}$/),
    );
    fc.assert(
      fc.property(
        runId,
        fc.integer({ min: 0, max: 999_999 }),
        fc.integer({ min: 0, max: 9 }),
        (id, shard, round) => {
          let keys: ReturnType<typeof runKeys>;
          try {
            keys = runKeys(id);
          } catch (error) {
            expect(error).toBeInstanceOf(InvalidRunIdError);
            return;
          }
          const all = [
            keys.spec,
            keys.manifest,
            keys.success,
            keys.shardTar(shard),
            keys.shardSidecar(shard),
            keys.generatedPart(shard, round, shard),
            keys.labelsPart(shard, round, 0),
            keys.decisions(shard, round),
            keys.dedupeIndex(shard),
          ];
          for (const key of all) {
            assertValidKey(key);
            expect(key.startsWith(`${id}/`)).toBe(true);
            // One segment: no run id can name a folder inside another run.
            expect(id.includes('/')).toBe(false);
          }
        },
      ),
      runs(500),
    );
  });

  it('any key is refused with InvalidKeyError or names a path inside the store', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc
            .array(fc.constantFrom('a', '..', '.', '', 'b', '\\', '.synfarm-tmp'), { maxLength: 6 })
            .map((s) => s.join('/')),
        ),
        (key) => {
          const result = typedOrOk(() => assertValidKey(key), InvalidKeyError);
          if (result instanceof InvalidKeyError) return;
          const resolved = path.posix.normalize(`/base/${key}`);
          expect(resolved.startsWith('/base/')).toBe(true);
          expect(resolved).toBe(`/base/${key}`);
        },
      ),
      runs(500),
    );
  });
});

describe("fuzz: the consumer's resume state", () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'synfarm-fuzz-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('any resume state resumes exactly or throws a typed error before reading', async () => {
    const store = openStore(pathToFileURL(dir).href);
    await writeSyntheticRun(store, 'fuzz', [5, 3], { images: await syntheticImages(2, 16) });
    const run = await openRun(store.url, 'fuzz');
    const all = await collect(readRun({ run, seed: 3 }));
    const state = fc.record(
      {
        epoch: fc.oneof(fc.integer({ min: -2, max: 3 }), fc.double()),
        consumed: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.double()),
        seed: fc.oneof(fc.constant(3), fc.integer()),
        rank: fc.integer({ min: -1, max: 3 }),
        worldSize: fc.integer({ min: 0, max: 3 }),
        worker: fc.integer({ min: -1, max: 2 }),
        numWorkers: fc.integer({ min: 0, max: 2 }),
        shuffle: fc.option(fc.boolean(), { nil: undefined }),
        bufferSize: fc.option(fc.integer({ min: -1, max: 2000 }), { nil: undefined }),
        remainder: fc.option(fc.constantFrom('drop', 'pad', 'other'), { nil: undefined }),
        shards: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(state, async (resume) => {
        let read: unknown[];
        try {
          read = await collect(readRun({ run, seed: 3, resume: resume as ReaderState }));
        } catch (error) {
          expect(error).toBeInstanceOf(ConsumerError);
          return;
        }
        expect(read.length).toBeLessThanOrEqual(all.length);
      }),
      runs(200),
    );
  });
});
