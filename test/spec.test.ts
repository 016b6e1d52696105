import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import {
  canonicalJson,
  loadSpec,
  parseOutputUrl,
  parseResolvedSpec,
  parseSpec,
  resolveSpec,
  SpecError,
  type SpecIssue,
  specDigest,
  specToJson,
} from '../spec';

const BASE = { runId: 'ok-run', target: 1000, output: 's3://bucket-a/runs' };

function specError(run: () => unknown): SpecError {
  try {
    run();
  } catch (e) {
    if (e instanceof SpecError) return e;
    throw e;
  }
  throw new Error('expected a SpecError');
}

function issuesOf(input: unknown): readonly SpecIssue[] {
  return specError(() => parseSpec(stringify(input), { source: 'bad.yaml' })).issues;
}

describe('parseSpec: good specs', () => {
  it('fills every default and resolves the target and shard count', () => {
    const spec = parseSpec('runId: demo\ntarget: 5x affectnet\noutput: s3://synfarm/runs/\n');
    expect(spec).toEqual({
      specVersion: 1,
      runId: 'demo',
      seed: 1,
      targetSamples: 1_438_255,
      shardSize: 1000,
      shardCount: 1439,
      classes: [
        { name: 'neutral', index: 0, weight: 1 },
        { name: 'happy', index: 1, weight: 1 },
        { name: 'sad', index: 2, weight: 1 },
        { name: 'surprise', index: 3, weight: 1 },
        { name: 'fear', index: 4, weight: 1 },
        { name: 'disgust', index: 5, weight: 1 },
        { name: 'anger', index: 6, weight: 1 },
        { name: 'contempt', index: 7, weight: 1 },
      ],
      image: { size: 224, format: 'jpg', quality: 90 },
      generator: { backend: 'procedural', batchSize: 16 },
      calibrator: { backend: 'ensemble', models: [], policy: 'synfer', mixWeight: 0.5, temperatures: {} },
      filter: {
        minFaceScore: 0.5,
        minConfidence: 0.3,
        requireAgreement: false,
        maxRounds: 3,
        maxOvergeneration: 4,
        dedupeHamming: 4,
        testRejectFraction: 0,
        auRequestedMin: 2.5,
        auMissingBelow: 0.1,
        auUnrequestedAbove: 4.5,
        auChecked: ['AU1', 'AU12', 'AU26'],
        minSharpness: 20,
        minMeanLuma: 20,
        maxMeanLuma: 235,
        maxClippedFraction: 0.4,
        balanceBy: 'calibrated',
        guidance: true,
        guidanceMinAcceptance: 0.9,
        guidanceGain: 0.5,
        guidanceMaxGain: 1.6,
        guidanceSuppress: 0.5,
      },
      output: 's3://synfarm/runs',
    });
  });

  it.each([
    ['5x affectnet', 1_438_255],
    ['5X AffectNet', 1_438_255],
    ['1x affectnet', 287_651],
    ['0.5x affectnet', 143_826],
    ['280k', 280_000],
    ['1.4m', 1_400_000],
    ['1.4M', 1_400_000],
    ['1_000', 1000],
    ['1,438,255', 1_438_255],
    [12345, 12345],
  ])('resolves target %j to %d samples', (target, samples) => {
    expect(resolveSpec({ ...BASE, target }).targetSamples).toBe(samples);
  });

  it('makes the last shard the remainder: 5x AffectNet is 1438 full shards and one of 255', () => {
    const spec = resolveSpec({ ...BASE, target: '5x affectnet' });
    expect(spec.shardCount).toBe(1439);
    expect(spec.targetSamples - (spec.shardCount - 1) * spec.shardSize).toBe(255);
  });

  it('reads JSON and YAML of the same spec to the same resolved spec', () => {
    const input = {
      runId: 'same',
      seed: 7,
      target: '280k',
      classes: { happy: 2, sad: 1 },
      generator: { backend: 'http', url: 'http://127.0.0.1:7860', protocol: 'a1111' },
      output: 'file:///data/synfarm',
    };
    const fromJson = parseSpec(JSON.stringify(input, null, 2), { source: 'spec.json' });
    const fromYaml = parseSpec(stringify(input), { source: 'spec.yaml' });
    expect(fromJson).toEqual(fromYaml);
    expect(fromJson.generator).toEqual({
      backend: 'http',
      batchSize: 16,
      url: 'http://127.0.0.1:7860',
      protocol: 'a1111',
      timeoutMs: 120_000,
      concurrency: 4,
    });
  });

  it('resolves a class list to equal weights and a map to its weights, in AffectNet order', () => {
    expect(resolveSpec({ ...BASE, classes: ['sad', 'happy'] }).classes).toEqual([
      { name: 'happy', index: 1, weight: 1 },
      { name: 'sad', index: 2, weight: 1 },
    ]);
    expect(resolveSpec({ ...BASE, classes: { contempt: 0.5, neutral: 3 } }).classes).toEqual([
      { name: 'neutral', index: 0, weight: 3 },
      { name: 'contempt', index: 7, weight: 0.5 },
    ]);
  });

  it('accepts the generator shorthand `generator: tfjs` with its required modelUrl', () => {
    const spec = parseSpec(
      'runId: a\ntarget: 10\noutput: file:///tmp/x\ngenerator:\n  backend: tfjs\n  modelUrl: s3://m/model.json\n',
    );
    expect(spec.generator).toEqual({ backend: 'tfjs', batchSize: 16, modelUrl: 's3://m/model.json' });
    expect(resolveSpec({ ...BASE, generator: 'testpattern' }).generator).toEqual({
      backend: 'testpattern',
      batchSize: 16,
    });
  });

  it('normalises output URLs so equal locations resolve alike', () => {
    expect(resolveSpec({ ...BASE, output: 's3://bucket-a//runs/x/' }).output).toBe('s3://bucket-a/runs/x');
    expect(resolveSpec({ ...BASE, output: 'file:///data/out/' }).output).toBe('file:///data/out');
    expect(parseOutputUrl('s3://bucket-a/runs/x')).toEqual({
      scheme: 's3',
      bucket: 'bucket-a',
      prefix: 'runs/x',
    });
    expect(parseOutputUrl('file:///data/out')).toEqual({ scheme: 'file', path: '/data/out' });
  });
});

describe('specDigest', () => {
  it('is equal for specs that resolve alike, however they were written', () => {
    const a = resolveSpec({ ...BASE, target: '5x affectnet', classes: ['sad', 'happy'] });
    const b = parseSpec(
      '{"output": "s3://bucket-a/runs/", "classes": {"happy": 1, "sad": 1}, "target": 1438255, "runId": "ok-run"}',
    );
    expect(specDigest(a)).toBe(specDigest(b));
    expect(specDigest(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs when anything that changes the data differs', () => {
    const base = resolveSpec(BASE);
    expect(specDigest(resolveSpec({ ...BASE, seed: 2 }))).not.toBe(specDigest(base));
    expect(specDigest(resolveSpec({ ...BASE, image: { quality: 91 } }))).not.toBe(specDigest(base));
  });

  it('canonical JSON sorts keys at every level', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: 0 }], c: null } })).toBe(
      '{"a":{"c":null,"d":[2,{"y":0,"z":1}]},"b":1}',
    );
  });
});

describe('resolved spec.json', () => {
  it('round-trips through specToJson and parseResolvedSpec unchanged', () => {
    const spec = resolveSpec({ ...BASE, generator: { backend: 'tfjs', modelUrl: '/models/g/model.json' } });
    expect(parseResolvedSpec(specToJson(spec))).toEqual(spec);
  });

  it('rejects a spec.json that lacks resolved fields instead of defaulting them', () => {
    const spec = resolveSpec(BASE) as Record<string, unknown>;
    const { filter: _filter, ...partial } = spec;
    const error = specError(() => parseResolvedSpec(JSON.stringify(partial), { source: 'spec.json' }));
    expect(error.code).toBe('invalid-spec');
    expect(error.message).toContain('fully resolved spec');
  });

  it('rejects a spec.json whose shard count does not match its sizes', () => {
    const spec = { ...resolveSpec(BASE), shardCount: 2 };
    const error = specError(() => parseResolvedSpec(JSON.stringify(spec)));
    expect(error.issues.map((i) => i.path)).toEqual(['shardCount']);
  });
});

describe('loadSpec', () => {
  it('reads a YAML file and names the file in errors', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'synfarm-spec-'));
    try {
      const good = path.join(dir, 'good.yaml');
      await writeFile(good, 'runId: from-file\ntarget: 280k\noutput: file:///tmp/x\n');
      expect((await loadSpec(good)).targetSamples).toBe(280_000);
      const bad = path.join(dir, 'bad.yaml');
      await writeFile(bad, 'runId: from-file\ntarget: 280k\n');
      await expect(loadSpec(bad)).rejects.toThrow(`Invalid run spec ${bad}`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reports a missing file as spec-unreadable with its path', async () => {
    const missing = path.join(tmpdir(), 'synfarm-no-such-spec.yaml');
    await expect(loadSpec(missing)).rejects.toMatchObject({ code: 'spec-unreadable', source: missing });
  });
});

/** One bad field each: [name, spec (merged over a valid base), field path, expectation text]. */
const BAD: readonly [string, Record<string, unknown>, string, string][] = [
  [
    'run id with capitals and _',
    { runId: 'Bad_Run' },
    'runId',
    'a run id of 1-63 characters from a-z, 0-9 and "-"',
  ],
  ['run id too long', { runId: 'a'.repeat(64) }, 'runId', 'starting with a letter or digit'],
  ['run id starting with -', { runId: '-x' }, 'runId', 'a run id'],
  ['negative seed', { seed: -1 }, 'seed', 'a uint32 seed: an integer from 0 to 4294967295'],
  ['seed above uint32', { seed: 2 ** 32 }, 'seed', 'an integer from 0 to 4294967295'],
  ['fractional seed', { seed: 1.5 }, 'seed', 'a uint32 seed'],
  ['unknown target form', { target: '5y affectnet' }, 'target', '"Nx affectnet" (e.g. "5x affectnet"'],
  ['zero target', { target: 0 }, 'target', 'a sample count: a positive integer'],
  ['boolean target', { target: true }, 'target', 'a sample count'],
  ['fractional target', { target: 10.5 }, 'target', 'a sample count'],
  ['shard size 0', { shardSize: 0 }, 'shardSize', 'samples per shard: an integer from 1 to 100000'],
  ['typo shardsize', { shardsize: 100 }, 'shardsize', 'did you mean "shardSize"?'],
  ['unknown class', { classes: ['happy', 'joy'] }, 'classes[1]', 'one of neutral, happy, sad, surprise'],
  ['misspelt class', { classes: ['hapy'] }, 'classes[0]', 'did you mean "happy"?'],
  ['repeated class', { classes: ['happy', 'sad', 'happy'] }, 'classes[2]', 'each class listed once'],
  ['empty class list', { classes: [] }, 'classes', 'at least one class'],
  [
    'zero weight',
    { classes: { happy: 0, sad: 1 } },
    'classes.happy',
    'a weight > 0 (omit the class to exclude it)',
  ],
  ['misspelt class key', { classes: { happy: 1, fearr: 1 } }, 'classes.fearr', 'did you mean "fear"?'],
  ['classes of wrong type', { classes: 'happy' }, 'classes', 'a list of class names'],
  ['image too small', { image: { size: 64 } }, 'image.size', 'an integer from 112 to 512'],
  [
    'image format jpeg',
    { image: { format: 'jpeg' } },
    'image.format',
    'one of jpg, png (did you mean "jpg"?)',
  ],
  ['image quality 0', { image: { quality: 0 } }, 'image.quality', 'an integer from 1 to 100'],
  ['image not a mapping', { image: 3 }, 'image', 'a mapping of size, format and quality'],
  [
    'unknown generator backend',
    { generator: { backend: 'diffusers' } },
    'generator.backend',
    'one of procedural, testpattern, tfjs, http',
  ],
  ['batch size 0', { generator: { batchSize: 0 } }, 'generator.batchSize', 'an integer from 1 to 1024'],
  [
    'batch size text',
    { generator: { batchSize: 'abc' } },
    'generator.batchSize',
    'an integer from 1 to 1024',
  ],
  [
    'tfjs without modelUrl',
    { generator: { backend: 'tfjs' } },
    'generator.modelUrl',
    'a TF.js model.json location',
  ],
  [
    'tfjs model over plain http',
    { generator: { backend: 'tfjs', modelUrl: 'http://x/model.json' } },
    'generator.modelUrl',
    'plain http is refused',
  ],
  [
    'http url without scheme',
    { generator: { backend: 'http', url: 'localhost:8080' } },
    'generator.url',
    'an http:// or https:// URL',
  ],
  [
    'http protocol unknown',
    { generator: { backend: 'http', url: 'http://h', protocol: 'comfy' } },
    'generator.protocol',
    'one of synfarm, a1111',
  ],
  [
    'http timeout too small',
    { generator: { backend: 'http', url: 'http://h', timeoutMs: 10 } },
    'generator.timeoutMs',
    'an integer from 1000 to 3600000',
  ],
  [
    'key of another backend',
    { generator: { backend: 'procedural', url: 'http://h' } },
    'generator.url',
    '"url" is a setting of backend http only',
  ],
  [
    'calibrator backend unknown',
    { calibrator: { backend: 'single' } },
    'calibrator.backend',
    'one of ensemble, passthrough',
  ],
  [
    'calibrator policy misspelt',
    { calibrator: { policy: 'synfr' } },
    'calibrator.policy',
    'one of synfer, drop, keep-intended (did you mean "synfer"?)',
  ],
  ['mix weight above 1', { calibrator: { mixWeight: 1.5 } }, 'calibrator.mixWeight', 'a number from 0 to 1'],
  [
    'temperature for an unlisted model',
    { calibrator: { models: ['a'], temperatures: { b: 1 } } },
    'calibrator.temperatures.b',
    'a model id listed in calibrator.models (a)',
  ],
  [
    'temperature zero',
    { calibrator: { temperatures: { a: 0 } } },
    'calibrator.temperatures.a',
    'a temperature > 0',
  ],
  ['max rounds 11', { filter: { maxRounds: 11 } }, 'filter.maxRounds', 'an integer from 0 to 10'],
  [
    'negative confidence',
    { filter: { minConfidence: -0.1 } },
    'filter.minConfidence',
    'a number from 0 to 1',
  ],
  ['agreement as text', { filter: { requireAgreement: 'yes' } }, 'filter.requireAgreement', 'true or false'],
  ['dedupe hamming 65', { filter: { dedupeHamming: 65 } }, 'filter.dedupeHamming', 'an integer from 0 to 64'],
  ['filter typo', { filter: { maxRound: 2 } }, 'filter.maxRound', 'did you mean "maxRounds"?'],
  [
    'output over http',
    { output: 'http://example.com/x' },
    'output',
    'an output URL: s3://bucket/optional/prefix',
  ],
  ['output bucket with capitals', { output: 's3://Bucket/x' }, 'output', 'an output URL'],
  ['relative file output', { output: 'file://relative/path' }, 'output', 'file:///absolute/path'],
  ['output escaping with ..', { output: 'file:///data/../etc' }, 'output', 'an output URL'],
  ['too many shards', { target: 2_000_000_000 }, 'target', 'at most 1,000,000 shards'],
  [
    'shard too large for its rounds',
    { shardSize: 90_000 },
    'shardSize',
    'at most 76923 with filter.maxRounds = 3',
  ],
];

describe('parseSpec: bad specs', () => {
  it.each(BAD)('%s: names %s and what it expected', (_name, override, field, expected) => {
    const issues = issuesOf({ ...BASE, ...override });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.path).toBe(field);
    expect(issues[0]!.expected).toContain(expected);
  });

  it.each([
    ['runId', 'a run id'],
    ['target', 'a sample count'],
    ['output', 'an output URL'],
  ])('a missing %s is reported as missing with what it expects', (field, expected) => {
    const { [field]: _dropped, ...rest } = BASE as Record<string, unknown>;
    const [issue] = issuesOf(rest);
    expect(issue).toMatchObject({ path: field, received: 'missing' });
    expect(issue!.expected).toContain(expected);
  });

  it('lists every problem in one error, each with field, value given and expectation', () => {
    const text = [
      'runId: Demo_1',
      'target: 5y affectnet',
      'shardsize: 100',
      'image:',
      '  format: jpeg',
      'generator:',
      '  batchSize: abc',
      'output: http://x',
    ].join('\n');
    const error = specError(() => parseSpec(text, { source: 'bad.yaml' }));
    expect(error.code).toBe('invalid-spec');
    expect(error.issues.map((i) => i.path)).toEqual([
      'runId',
      'target',
      'shardsize',
      'image.format',
      'generator.batchSize',
      'output',
    ]);
    expect(error.message).toContain('Invalid run spec bad.yaml: 6 problems');
    expect(error.message).toContain(
      'generator.batchSize (line 7): got "abc"; expected an integer from 1 to 1024',
    );
    expect(error.message).toContain('shardsize (line 3): unknown key; did you mean "shardSize"?');
    expect(error.field).toBe('runId');
  });

  it('names the line of each bad field in YAML', () => {
    const error = specError(() =>
      parseSpec('runId: a\ntarget: 10\noutput: s3://abc\nfilter:\n  maxRounds: 99\n'),
    );
    expect(error.issues[0]).toMatchObject({ path: 'filter.maxRounds', line: 5 });
  });

  it('reports YAML syntax errors with their line', () => {
    const error = specError(() =>
      parseSpec('runId: a\ntarget: [1, 2\noutput: s3://abc\n', { source: 's.yaml' }),
    );
    expect(error.code).toBe('invalid-spec');
    expect(error.issues[0]!.path).toBe('(yaml)');
    expect(error.issues[0]!.line).toBeGreaterThanOrEqual(2);
    expect(error.message).toMatch(/line \d+, column \d+: invalid YAML\/JSON/);
  });

  it('reports a repeated key as a YAML error on its line', () => {
    const error = specError(() => parseSpec('runId: a\ntarget: 10\nrunId: b\n'));
    expect(error.issues[0]).toMatchObject({ path: '(yaml)', line: 3 });
    expect(error.issues[0]!.expected).toContain('unique');
  });

  it('rejects a document that is not a mapping', () => {
    expect(issuesOf(['runId', 'a'])[0]).toMatchObject({ path: '(root)' });
    expect(specError(() => parseSpec('')).issues[0]!.expected).toContain('a mapping of run spec fields');
  });

  it('resolveSpec reports the same problems for data as parseSpec does for text', () => {
    const error = specError(() => resolveSpec({ ...BASE, seed: -1, shardsize: 3 }));
    expect(error.issues.map((i) => i.path).sort()).toEqual(['seed', 'shardsize']);
  });
});
