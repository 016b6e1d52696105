import * as tf from '@tensorflow/tfjs-core';
import sharp from 'sharp';
import type { SampleRequest } from '../../plan/request';
import type { GeneratorSettings } from '../../spec/schema';
import { encodeImage } from '../encode';
import type { GeneratedImage, GenerateOptions, Generator } from '../generator';
import { activeTfjsBackend, initTfjsBackend, type TfjsBackendInfo } from '../tfjs-backend';
import {
  defaultDescriptor,
  parseDescriptor,
  type ResolvedDescriptor,
  resolveDescriptor,
  type ValueRange,
} from './descriptor';
import { TfjsGeneratorError } from './errors';
import { partLength, writePart } from './inputs';
import { type OpenStore, openLocation, readJson } from './location';
import { loadModel } from './model';

export type TfjsGeneratorSettings = Extract<GeneratorSettings, { backend: 'tfjs' }>;

export interface TfjsGeneratorDeps {
  /** Opens s3:// and file:// locations; inject one with endpoint/credentials (the default reads env). */
  openStore?: OpenStore;
}

/** Output sizes the farm writes (the spec's image.size range). */
export const MIN_SIZE = 112;
export const MAX_SIZE = 512;

const MODEL_FIELD = 'generator.modelUrl';
const DESCRIPTOR_FIELD = 'generator.descriptorUrl';

/**
 * Loads a user's TF.js generator (layers or graph model) and its descriptor, and checks one against
 * the other before anything runs: a wrong spec fails here, at worker start, with the field to fix.
 * Runs on whichever backend models/tfjs-backend activated (initialising it if nothing has).
 */
export async function createTfjsGenerator(
  settings: TfjsGeneratorSettings,
  deps: TfjsGeneratorDeps = {},
): Promise<Generator> {
  const backend = activeTfjsBackend() ?? (await initTfjsBackend());
  const descriptorJson = settings.descriptorUrl
    ? await readJson(openLocation(settings.descriptorUrl, DESCRIPTOR_FIELD, deps.openStore), DESCRIPTOR_FIELD)
    : undefined;
  // Parse the descriptor before loading a possibly large model, so a typo costs nothing.
  const parsed = descriptorJson === undefined ? undefined : parseDescriptor(descriptorJson, DESCRIPTOR_FIELD);
  const model = await loadModel(openLocation(settings.modelUrl, MODEL_FIELD, deps.openStore), MODEL_FIELD);
  let resolved: ResolvedDescriptor;
  try {
    resolved = parsed
      ? resolveDescriptor(parsed, model.signature, DESCRIPTOR_FIELD)
      : resolveDescriptor(defaultDescriptor(model.signature, MODEL_FIELD), model.signature, MODEL_FIELD);
    await checkOutputShape(model, resolved, parsed ? DESCRIPTOR_FIELD : MODEL_FIELD);
  } catch (err) {
    model.dispose();
    throw err;
  }
  const id = resolved.id ?? `tfjs:${settings.modelUrl.split('/').slice(-2).join('/')}`;
  const version = resolved.version ?? model.contentHash.slice(0, 16);
  let disposed = false;

  return {
    id,
    version,
    async generate(requests: readonly SampleRequest[], options: GenerateOptions): Promise<GeneratedImage[]> {
      validateOptions(options);
      if (disposed) throw new Error('this tfjs generator was disposed; create a new one');
      const out: GeneratedImage[] = [];
      for (let i = 0; i < requests.length; i += settings.batchSize) {
        options.signal?.throwIfAborted();
        const batch = requests.slice(i, i + settings.batchSize);
        const pixels = await runBatch(model, resolved, batch);
        const info = activeTfjsBackend() ?? backend;
        out.push(
          ...(await Promise.all(
            batch.map((req, j) =>
              encode(req, pixels[j]!, resolved.output.size, options, { id, version, backend: info }),
            ),
          )),
        );
      }
      return out;
    },
    async dispose() {
      disposed = true;
      model.dispose();
    },
  };
}

function validateOptions(options: GenerateOptions): void {
  const { size, format, quality } = options;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new TfjsGeneratorError(
      'invalid-size',
      'image.size',
      `image size ${size} is not supported; choose an integer from ${MIN_SIZE} to ${MAX_SIZE} px`,
    );
  }
  if (format !== 'jpg' && format !== 'png') {
    throw new TfjsGeneratorError(
      'invalid-option',
      'image.format',
      `format "${String(format)}" is not supported; use jpg or png`,
    );
  }
  if (format === 'jpg' && (!Number.isInteger(quality) || quality < 1 || quality > 100)) {
    throw new TfjsGeneratorError(
      'invalid-option',
      'image.quality',
      `JPEG quality ${quality} is outside 1..100`,
    );
  }
}

/** Builds the batch's input tensors in descriptor order; noise parts are numbered across inputs. */
function buildFeeds(resolved: ResolvedDescriptor, batch: readonly SampleRequest[]): tf.NamedTensorMap {
  const feeds: tf.NamedTensorMap = {};
  let noiseIndex = 0;
  for (const input of resolved.inputs) {
    const perSample = input.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(batch.length * perSample);
    const firstNoise = noiseIndex;
    batch.forEach((req, b) => {
      let offset = b * perSample;
      let k = firstNoise;
      for (const part of input.parts) {
        writePart(part, req, k, data, offset);
        if (part.kind === 'noise') k++;
        offset += partLength(part);
      }
    });
    noiseIndex += input.parts.filter((p) => p.kind === 'noise').length;
    feeds[input.modelName] = tf.tensor(data, [batch.length, ...input.shape], 'float32');
  }
  return feeds;
}

const TO_BYTE: Record<ValueRange, (v: number) => number> = {
  '[-1,1]': (v) => (v + 1) * 127.5,
  '[0,1]': (v) => v * 255,
  '[0,255]': (v) => v,
};

/** Runs one batch; returns each sample's native-size RGB bytes. */
async function runBatch(
  model: Awaited<ReturnType<typeof loadModel>>,
  resolved: ResolvedDescriptor,
  batch: readonly SampleRequest[],
): Promise<Uint8Array[]> {
  const feeds = buildFeeds(resolved, batch);
  let output: tf.Tensor | undefined;
  try {
    output = await model.run(feeds, resolved.output.name);
    const values = await output.data<'float32'>();
    const { size, channels } = resolved.output;
    const perImage = size * size * channels;
    // Range conversion in JS, not on the backend: identical rounding on wasm, cpu and GPU.
    const toByte = TO_BYTE[resolved.output.range];
    return batch.map((_, b) => {
      const px = new Uint8Array(perImage);
      for (let i = 0; i < perImage; i++) {
        const v = Math.round(toByte(values[b * perImage + i]!));
        px[i] = Math.min(255, Math.max(0, v));
      }
      return px;
    });
  } finally {
    tf.dispose(Object.values(feeds));
    output?.dispose();
  }
}

/**
 * One dry run at batch 1 before any real work: a graph model whose output shape is unknown until
 * it runs is still checked against the descriptor at load time.
 */
async function checkOutputShape(
  model: Awaited<ReturnType<typeof loadModel>>,
  resolved: ResolvedDescriptor,
  field: string,
): Promise<void> {
  const feeds: tf.NamedTensorMap = {};
  for (const input of resolved.inputs) feeds[input.modelName] = tf.zeros([1, ...input.shape]);
  let output: tf.Tensor | undefined;
  try {
    output = await model.run(feeds, resolved.output.name);
    const { size, channels } = resolved.output;
    const want = [1, size, size, channels];
    if (output.shape.length !== 4 || output.shape.some((d, i) => d !== want[i])) {
      throw new TfjsGeneratorError(
        'descriptor-mismatch',
        field,
        `the model's output "${resolved.output.name}" came out as [${output.shape.join(', ')}] for one sample; ` +
          `expected [${want.join(', ')}] (NHWC, size ${size}, RGB)`,
      );
    }
  } catch (err) {
    if (err instanceof TfjsGeneratorError) throw err;
    throw new TfjsGeneratorError(
      'descriptor-mismatch',
      field,
      `the model failed on inputs shaped as the descriptor says (${(err as Error).message})`,
      { cause: err },
    );
  } finally {
    tf.dispose(Object.values(feeds));
    output?.dispose();
  }
}

async function encode(
  req: SampleRequest,
  pixels: Uint8Array,
  nativeSize: number,
  options: GenerateOptions,
  model: { id: string; version: string; backend: TfjsBackendInfo },
): Promise<GeneratedImage> {
  let img = sharp(pixels, { raw: { width: nativeSize, height: nativeSize, channels: 3 } });
  if (nativeSize !== options.size) img = img.resize(options.size, options.size, { kernel: 'lanczos3' });
  return {
    key: req.key,
    bytes: await encodeImage(img, options),
    format: options.format,
    width: options.size,
    height: options.size,
    meta: {
      generator: 'tfjs',
      model: model.id,
      modelVersion: model.version,
      backend: `${model.backend.name}@${model.backend.version}`,
      nativeSize,
      seed: req.generatorSeed,
    },
  };
}
