import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Generator } from '../models/generator';
import { initTfjsBackend } from '../models/tfjs-backend';
import {
  createTfjsGenerator,
  hashTextEmbedding,
  noiseValues,
  type TfjsGeneratorError,
  type TfjsGeneratorSettings,
} from '../models/tfjs-generator';
import { AFFECTNET_CLASSES, AU_IDS } from '../plan/expressions';
import type { SampleRequest } from '../plan/request';
import { openStore } from '../storage';
import { fileSaveHandler, fixtureRequest, saveTinyGeneratorModel } from './support/fixtures';
import { testStack } from './support/stack';

/** The same network behind one concatenated input `z` plus a text embedding input. */
async function saveConcatModel(dir: string): Promise<void> {
  const z = tfl.input({ name: 'z', shape: [AU_IDS.length + AFFECTNET_CLASSES.length + 16] });
  const text = tfl.input({ name: 'prompt_embedding', shape: [32] });
  const joined = tfl.layers.concatenate().apply([z, text]) as tfl.SymbolicTensor;
  const dense = tfl.layers
    .dense({
      units: 8 * 8 * 3,
      activation: 'sigmoid',
      kernelInitializer: tfl.initializers.glorotNormal({ seed: 3 }),
    })
    .apply(joined) as tfl.SymbolicTensor;
  const image = tfl.layers
    .reshape({ name: 'rgb', targetShape: [8, 8, 3] })
    .apply(dense) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: [z, text], outputs: image });
  await model.save(fileSaveHandler(dir));
  model.dispose();
}

/**
 * A graph model written by hand (GraphDef as JSON, as tensorflowjs_converter emits it):
 * noise [batch, 192] -> Tanh -> Reshape to [batch, 8, 8, 3]. Its output shape is unknown until run.
 */
async function saveGraphModel(dir: string): Promise<void> {
  const weights = [{ name: 'target_shape', shape: [4], dtype: 'int32' as const }];
  await writeFile(path.join(dir, 'weights.bin'), Buffer.from(new Int32Array([-1, 8, 8, 3]).buffer));
  const dim = (...sizes: number[]) => ({ shape: { dim: sizes.map((size) => ({ size: String(size) })) } });
  const modelJson = {
    format: 'graph-model',
    modelTopology: {
      node: [
        { name: 'noise', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: dim(-1, 192) } },
        {
          name: 'target_shape',
          op: 'Const',
          attr: {
            dtype: { type: 'DT_INT32' },
            value: { tensor: { dtype: 'DT_INT32', tensorShape: dim(4) } },
          },
        },
        { name: 'squash', op: 'Tanh', input: ['noise'], attr: { T: { type: 'DT_FLOAT' } } },
        {
          name: 'image',
          op: 'Reshape',
          input: ['squash', 'target_shape'],
          attr: { T: { type: 'DT_FLOAT' } },
        },
      ],
      versions: { producer: 1 },
    },
    weightsManifest: [{ paths: ['weights.bin'], weights }],
  };
  await writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
}

function request(i: number, overrides: Partial<SampleRequest> = {}): SampleRequest {
  const classIndex = i % AFFECTNET_CLASSES.length;
  return fixtureRequest({
    shard: 1,
    index: i,
    classIndex,
    aus: classIndex === 1 ? { AU6: 3, AU12: 4 } : { AU4: 2.5 },
    identity: { lighting: { direction: 'front', strength: 0.7, warmth: 'neutral' } },
    prompt: `a photo of an adult woman, sample ${i}`,
    generatorSeed: (i * 2654435761) >>> 0,
    ...overrides,
  });
}

function settings(modelUrl: string, extra: Partial<TfjsGeneratorSettings> = {}): TfjsGeneratorSettings {
  return { backend: 'tfjs', batchSize: 4, modelUrl, ...extra };
}

const JPG = { size: 112, format: 'jpg', quality: 90 } as const;

async function rejection(p: Promise<unknown>): Promise<TfjsGeneratorError> {
  try {
    await p;
  } catch (err) {
    return err as TfjsGeneratorError;
  }
  throw new Error('expected a rejection');
}

async function rgb(bytes: Uint8Array): Promise<Buffer> {
  return sharp(bytes).removeAlpha().raw().toBuffer();
}

let dir: string;
let modelPath: string;
let gen: Generator;

beforeAll(async () => {
  await initTfjsBackend({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'synfarm-tfjs-gen-'));
  await saveTinyGeneratorModel(dir);
  modelPath = path.join(dir, 'model.json');
  gen = await createTfjsGenerator(settings(modelPath));
});

afterAll(async () => {
  await gen?.dispose?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('tfjs generator from a local path (default signature, no descriptor)', () => {
  it('returns the same bytes for the same request, and a different image for another seed', async () => {
    const a = await gen.generate([request(1)], JPG);
    const again = await gen.generate([request(1)], JPG);
    const otherSeed = await gen.generate([request(1, { generatorSeed: 12345 })], JPG);
    expect(Buffer.from(again[0]!.bytes).equals(Buffer.from(a[0]!.bytes))).toBe(true);
    expect((await rgb(otherSeed[0]!.bytes)).equals(await rgb(a[0]!.bytes))).toBe(false);
  });

  it('resizes the native 8 px image to the requested size and encodes the requested format', async () => {
    const [jpg] = await gen.generate([request(2)], JPG);
    const [png] = await gen.generate([request(2)], { size: 128, format: 'png', quality: 90 });
    expect(await sharp(jpg!.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 112, height: 112 });
    expect(await sharp(png!.bytes).metadata()).toMatchObject({ format: 'png', width: 128, height: 128 });
    expect(jpg).toMatchObject({ key: request(2).key, format: 'jpg', width: 112, height: 112 });
    expect(png!.meta).toMatchObject({
      generator: 'tfjs',
      nativeSize: 8,
      backend: expect.stringMatching(/^wasm@/),
    });
    expect(gen.version).toMatch(/^[0-9a-f]{16}$/);
  });

  it('keeps batch order and gives each sample the same image whatever batch it rides in', async () => {
    const reqs = [0, 1, 2, 3, 4, 5].map((i) => request(i));
    // batchSize 4 splits six requests into two model calls.
    const forward = await gen.generate(reqs, { ...JPG, format: 'png' });
    const reversed = await gen.generate([...reqs].reverse(), { ...JPG, format: 'png' });
    expect(forward.map((g) => g.key)).toEqual(reqs.map((r) => r.key));
    expect(reversed.map((g) => g.key)).toEqual([...reqs].reverse().map((r) => r.key));
    for (const img of forward) {
      const twin = reversed.find((r) => r.key === img.key)!;
      expect(Buffer.from(twin.bytes).equals(Buffer.from(img.bytes))).toBe(true);
    }
  });

  it('rejects an unsupported size with invalid-size naming image.size', async () => {
    const err = await rejection(gen.generate([request(1)], { ...JPG, size: 64 }));
    expect(err).toMatchObject({ code: 'invalid-size', field: 'image.size' });
  });
});

describe('tfjs generator from s3://', () => {
  it('loads model.json, weights and descriptor through the object store and renders the same bytes', async () => {
    const { s3 } = testStack();
    const prefix = `tfjs-generator-test/${Date.now().toString(36)}`;
    const options = {
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    };
    const store = openStore(`s3://${s3.bucket}/${prefix}`, options);
    await store.put('model.json', await readFile(path.join(dir, 'model.json')));
    await store.put('weights.bin', await readFile(path.join(dir, 'weights.bin')));
    await store.put(
      'descriptor.json',
      JSON.stringify({
        id: 'tiny-dense',
        version: '1',
        inputs: [
          { name: 'aus', kind: 'aus' },
          { name: 'class', kind: 'class' },
          { name: 'noise', kind: 'noise', shape: [16] },
        ],
        output: { name: 'image', range: '[-1,1]', size: 8 },
      }),
    );
    try {
      const fromS3 = await createTfjsGenerator(
        settings(`s3://${s3.bucket}/${prefix}/model.json`, {
          descriptorUrl: `s3://${s3.bucket}/${prefix}/descriptor.json`,
        }),
        { openStore: (url) => openStore(url, options) },
      );
      const reqs = [request(3), request(4)];
      const remote = await fromS3.generate(reqs, JPG);
      const local = await gen.generate(reqs, JPG);
      expect(fromS3.id).toBe('tiny-dense');
      expect(fromS3.version).toBe('1');
      expect(remote.map((r) => Buffer.from(r.bytes).toString('base64'))).toEqual(
        local.map((r) => Buffer.from(r.bytes).toString('base64')),
      );
      await fromS3.dispose?.();
    } finally {
      await store.deletePrefix('');
    }
  });
});

describe('tfjs generator descriptor', () => {
  let concatDir: string;
  beforeAll(async () => {
    concatDir = await mkdtemp(path.join(tmpdir(), 'synfarm-tfjs-concat-'));
    await saveConcatModel(concatDir);
  });
  afterAll(async () => {
    if (concatDir) await rm(concatDir, { recursive: true, force: true });
  });

  async function withDescriptor(descriptor: unknown): Promise<Generator> {
    const file = path.join(concatDir, `descriptor-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(descriptor));
    return createTfjsGenerator(
      settings(pathToFileURL(path.join(concatDir, 'model.json')).href, {
        descriptorUrl: pathToFileURL(file).href,
      }),
    );
  }

  const good = {
    inputs: [
      { name: 'z', parts: [{ kind: 'aus' }, { kind: 'class' }, { kind: 'noise', shape: [16] }] },
      { name: 'prompt_embedding', kind: 'text', dim: 32 },
    ],
    output: { name: 'rgb', range: '[0,1]' },
  };

  it('feeds concatenated parts and the hashed prompt embedding, so the prompt changes the image', async () => {
    const g = await withDescriptor(good);
    const [a] = await g.generate([request(5)], { ...JPG, format: 'png' });
    const [b] = await g.generate([request(5, { prompt: 'an elderly man with a beard' })], {
      ...JPG,
      format: 'png',
    });
    expect((await rgb(a!.bytes)).equals(await rgb(b!.bytes))).toBe(false);
    await g.dispose?.();
  });

  it('a noise shape that does not match the model is descriptor-mismatch naming generator.descriptorUrl', async () => {
    const bad = structuredClone(good);
    bad.inputs[0]!.parts![2] = { kind: 'noise', shape: [12] };
    const err = await rejection(withDescriptor(bad));
    expect(err).toMatchObject({ code: 'descriptor-mismatch', field: 'generator.descriptorUrl' });
    expect(err.message).toContain('"z"');
  });

  it('an input name the model does not have, or a model input left unfed, is descriptor-mismatch', async () => {
    const renamed = { ...good, inputs: [good.inputs[0], { name: 'text', kind: 'text', dim: 32 }] };
    expect(await rejection(withDescriptor(renamed))).toMatchObject({ code: 'descriptor-mismatch' });
    const partial = { ...good, inputs: [good.inputs[0]] };
    const err = await rejection(withDescriptor(partial));
    expect(err).toMatchObject({ code: 'descriptor-mismatch' });
    expect(err.message).toContain('prompt_embedding');
  });

  it('without a descriptor, a model outside the default signature is descriptor-mismatch naming generator.modelUrl', async () => {
    const err = await rejection(createTfjsGenerator(settings(path.join(concatDir, 'model.json'))));
    expect(err).toMatchObject({ code: 'descriptor-mismatch', field: 'generator.modelUrl' });
  });

  it('a missing model.json or weight shard is missing-model naming generator.modelUrl', async () => {
    const noModel = await rejection(
      createTfjsGenerator(settings(path.join(concatDir, 'nope', 'model.json'))),
    );
    expect(noModel).toMatchObject({ code: 'missing-model', field: 'generator.modelUrl' });
    const lonely = await mkdtemp(path.join(tmpdir(), 'synfarm-tfjs-lonely-'));
    try {
      await writeFile(path.join(lonely, 'model.json'), await readFile(path.join(concatDir, 'model.json')));
      const noWeights = await rejection(createTfjsGenerator(settings(path.join(lonely, 'model.json'))));
      expect(noWeights).toMatchObject({ code: 'missing-model', field: 'generator.modelUrl' });
      expect(noWeights.message).toContain('weights.bin');
    } finally {
      await rm(lonely, { recursive: true, force: true });
    }
  });

  it('loads a graph model too, checking its output by a dry run when the model cannot say its shape', async () => {
    const graphDir = await mkdtemp(path.join(tmpdir(), 'synfarm-tfjs-graph-'));
    try {
      await saveGraphModel(graphDir);
      const descriptor = path.join(graphDir, 'descriptor.json');
      const modelUrl = path.join(graphDir, 'model.json');
      await writeFile(
        descriptor,
        JSON.stringify({
          inputs: [{ name: 'noise', kind: 'noise', shape: [192] }],
          output: { name: 'image', size: 8 },
        }),
      );
      const g = await createTfjsGenerator(settings(modelUrl, { descriptorUrl: descriptor }));
      const [a, b] = await g.generate([request(1), request(2)], JPG);
      expect(await sharp(a!.bytes).metadata()).toMatchObject({ width: 112, height: 112 });
      expect((await rgb(a!.bytes)).equals(await rgb(b!.bytes))).toBe(false);
      await g.dispose?.();
      await writeFile(
        descriptor,
        JSON.stringify({
          inputs: [{ name: 'noise', kind: 'noise', shape: [192] }],
          output: { name: 'image', size: 16 },
        }),
      );
      const err = await rejection(createTfjsGenerator(settings(modelUrl, { descriptorUrl: descriptor })));
      expect(err).toMatchObject({ code: 'descriptor-mismatch', field: 'generator.descriptorUrl' });
      expect(err.message).toContain('[1, 8, 8, 3]');
    } finally {
      await rm(graphDir, { recursive: true, force: true });
    }
  });

  it('a file that is not a model.json is model-load-failed', async () => {
    const file = path.join(concatDir, 'not-a-model.json');
    await writeFile(file, JSON.stringify({ hello: 'world' }));
    expect(await rejection(createTfjsGenerator(settings(file)))).toMatchObject({ code: 'model-load-failed' });
  });
});

describe('tfjs generator conditioning values', () => {
  it('noise is a pure function of the seed, and normal noise looks standard normal', () => {
    const a = noiseValues(42, 4000, 'normal');
    expect(noiseValues(42, 4000, 'normal')).toEqual(a);
    expect(noiseValues(43, 4000, 'normal')).not.toEqual(a);
    const mean = a.reduce((s, v) => s + v, 0) / a.length;
    const variance = a.reduce((s, v) => s + (v - mean) ** 2, 0) / a.length;
    expect(Math.abs(mean)).toBeLessThan(0.1);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
  });

  it('the hashing text embedding is unit length, order-free within a prompt, and differs across prompts', () => {
    const a = hashTextEmbedding('A smiling Woman, glasses', 64);
    expect(hashTextEmbedding('glasses woman smiling a', 64)).toEqual(a);
    expect(a.reduce((s, v) => s + v * v, 0)).toBeCloseTo(1, 5);
    expect(hashTextEmbedding('an angry man', 64)).not.toEqual(a);
    expect(hashTextEmbedding('', 64).every((v) => v === 0)).toBe(true);
  });
});

describe('tfjs generator across backends', () => {
  afterAll(async () => {
    await initTfjsBackend({ backend: 'wasm' });
  });

  it('renders the same images (within rounding) on wasm and cpu', async () => {
    const reqs = [0, 1, 2].map((i) => request(i));
    const opts = { size: 112, format: 'png', quality: 90 } as const;
    await initTfjsBackend({ backend: 'wasm' });
    const onWasm = await createTfjsGenerator(settings(modelPath));
    const wasmImages = await onWasm.generate(reqs, opts);
    await onWasm.dispose?.();
    await initTfjsBackend({ backend: 'cpu' });
    const onCpu = await createTfjsGenerator(settings(modelPath));
    const cpuImages = await onCpu.generate(reqs, opts);
    await onCpu.dispose?.();
    expect(wasmImages[0]!.meta.backend).toMatch(/^wasm@/);
    expect(cpuImages[0]!.meta.backend).toMatch(/^cpu@/);
    for (let i = 0; i < reqs.length; i++) {
      const a = await rgb(wasmImages[i]!.bytes);
      const b = await rgb(cpuImages[i]!.bytes);
      let maxDiff = 0;
      for (let j = 0; j < a.length; j++) maxDiff = Math.max(maxDiff, Math.abs(a[j]! - b[j]!));
      expect(maxDiff).toBeLessThanOrEqual(2);
    }
  });
});
