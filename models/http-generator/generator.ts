import sharp from 'sharp';
import type { SampleRequest } from '../../plan/request';
import type { GeneratorSettings } from '../../spec/schema';
import { encodeImage } from '../encode';
import type { GeneratedImage, GenerateOptions, Generator } from '../generator';
import { HttpGeneratorError } from './errors';
import {
  A1111ResponseSchema,
  type A1111Settings,
  a1111Body,
  a1111Model,
  DEFAULT_A1111,
  DEFAULT_NEGATIVE_PROMPT,
  SYNFARM_PROTOCOL,
  type SynfarmGenerateRequest,
  SynfarmGenerateResponseSchema,
  synfarmItem,
} from './protocol';
import { endpointUrl, resolveServerAddress } from './secret-url';
import { Semaphore } from './semaphore';
import { DEFAULT_RETRY, postJson, type RetryPolicy } from './transport';

export type HttpGeneratorSettings = Extract<GeneratorSettings, { backend: 'http' }>;

/** Knobs the spec does not expose (tests shorten the backoff; a deployment may tune A1111). */
export interface HttpGeneratorOptions {
  retry?: Partial<RetryPolicy>;
  a1111?: Partial<A1111Settings>;
  negativePrompt?: string;
  fetch?: typeof fetch;
  /** Where `${NAME}` references in the URL are resolved; default this process's environment. */
  env?: Record<string, string | undefined>;
}

export const MIN_SIZE = 112;
export const MAX_SIZE = 512;
const FIELD = 'generator.url';

interface ServerImage {
  bytes: Buffer;
  model: { id: string; version: string };
  /** The prompt as sent, when the adapter rewrote it. */
  prompt?: string;
}

/**
 * A generator served by an external inference server next to the GPU worker. Determinism is the
 * server's side of the contract (same seed, same image); this side bounds the requests in flight,
 * retries what a retry can fix, and re-encodes whatever comes back to the requested size and format.
 */
export async function createHttpGenerator(
  settings: HttpGeneratorSettings,
  options: HttpGeneratorOptions = {},
): Promise<Generator> {
  const server = resolveServerAddress(settings.url, options.env);
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...options.retry };
  const a1111: A1111Settings = { ...DEFAULT_A1111, ...options.a1111 };
  const negativePrompt = options.negativePrompt ?? DEFAULT_NEGATIVE_PROMPT;
  const gate = new Semaphore(settings.concurrency);
  let lastModel = { id: 'unknown', version: 'unknown' };

  const post = (path: string, body: unknown, signal?: AbortSignal) =>
    gate.run(
      () =>
        postJson(endpointUrl(server.url, path), body, {
          timeoutMs: settings.timeoutMs,
          retry,
          signal,
          fetch: options.fetch,
          field: FIELD,
          headers: server.headers,
          shownUrl: endpointUrl(server.shown, path),
        }),
      signal,
    );

  async function synfarmBatch(
    batch: readonly SampleRequest[],
    opts: GenerateOptions,
  ): Promise<ServerImage[]> {
    const body: SynfarmGenerateRequest = {
      protocol: SYNFARM_PROTOCOL,
      requests: batch.map((r) => synfarmItem(r, opts.size, negativePrompt)),
    };
    const parsed = SynfarmGenerateResponseSchema.safeParse(await post('/generate', body, opts.signal));
    if (!parsed.success)
      throw badResponse(endpointUrl(server.shown, '/generate'), parsed.error.issues[0]?.message ?? 'invalid');
    const byKey = new Map(parsed.data.images.map((img) => [img.key, img]));
    lastModel = parsed.data.model;
    return batch.map((r) => {
      const img = byKey.get(r.key);
      if (!img) throw badResponse(endpointUrl(server.shown, '/generate'), `no image for key ${r.key}`);
      return { bytes: Buffer.from(img.base64, 'base64'), model: parsed.data.model };
    });
  }

  async function a1111One(request: SampleRequest, opts: GenerateOptions): Promise<ServerImage> {
    const body = a1111Body(request, a1111, negativePrompt);
    const parsed = A1111ResponseSchema.safeParse(await post('/sdapi/v1/txt2img', body, opts.signal));
    if (!parsed.success)
      throw badResponse(
        endpointUrl(server.shown, '/sdapi/v1/txt2img'),
        parsed.error.issues[0]?.message ?? 'invalid',
      );
    const model = a1111Model(parsed.data.info) ?? { id: 'a1111', version: 'unknown' };
    lastModel = model;
    // A1111 may prefix a data URL header; the image is the part after the comma.
    const b64 = parsed.data.images[0]!.replace(/^data:[^,]*,/, '');
    return { bytes: Buffer.from(b64, 'base64'), model, prompt: body.prompt };
  }

  return {
    id: `http:${settings.protocol}`,
    get version() {
      return `${lastModel.id}@${lastModel.version}`;
    },
    async generate(requests: readonly SampleRequest[], opts: GenerateOptions): Promise<GeneratedImage[]> {
      validateOptions(opts);
      // The first failure cancels the batch's other requests: their images would be thrown away.
      const sibling = new AbortController();
      const signal = opts.signal ? AbortSignal.any([opts.signal, sibling.signal]) : sibling.signal;
      const scoped = { ...opts, signal };
      const failFast = <T>(p: Promise<T>) =>
        p.catch((err: unknown) => {
          sibling.abort(err);
          throw err;
        });
      let served: ServerImage[];
      if (settings.protocol === 'a1111') {
        served = await Promise.all(requests.map((r) => failFast(a1111One(r, scoped))));
      } else {
        const batches: SampleRequest[][] = [];
        for (let i = 0; i < requests.length; i += settings.batchSize) {
          batches.push(requests.slice(i, i + settings.batchSize));
        }
        served = (await Promise.all(batches.map((b) => failFast(synfarmBatch(b, scoped))))).flat();
      }
      return Promise.all(
        requests.map((r, i) => reencode(r, served[i]!, opts, settings.protocol, server.shown)),
      );
    },
  };
}

function badResponse(url: string, why: string): HttpGeneratorError {
  return new HttpGeneratorError(
    'http-bad-response',
    FIELD,
    `${url} answered with something that is not the protocol's response (${why}); see models/http-generator/PROTOCOL.md`,
  );
}

function validateOptions(options: GenerateOptions): void {
  const { size, format, quality } = options;
  if (!Number.isInteger(size) || size < MIN_SIZE || size > MAX_SIZE) {
    throw new HttpGeneratorError(
      'invalid-size',
      'image.size',
      `image size ${size} is not supported; choose an integer from ${MIN_SIZE} to ${MAX_SIZE} px`,
    );
  }
  if (format !== 'jpg' && format !== 'png') {
    throw new HttpGeneratorError(
      'invalid-option',
      'image.format',
      `format "${String(format)}" is not supported; use jpg or png`,
    );
  }
  if (format === 'jpg' && (!Number.isInteger(quality) || quality < 1 || quality > 100)) {
    throw new HttpGeneratorError(
      'invalid-option',
      'image.quality',
      `JPEG quality ${quality} is outside 1..100`,
    );
  }
}

/** Whatever the server sent (any size, png or jpg, maybe with alpha) becomes the farm's format. */
async function reencode(
  request: SampleRequest,
  served: ServerImage,
  options: GenerateOptions,
  protocol: string,
  url: string,
): Promise<GeneratedImage> {
  let bytes: Uint8Array;
  try {
    const img = sharp(served.bytes)
      .resize(options.size, options.size, { fit: 'cover' })
      .flatten({ background: '#000000' });
    bytes = await encodeImage(img, options);
  } catch (err) {
    throw new HttpGeneratorError(
      'http-bad-response',
      FIELD,
      `${url} sent an image for ${request.key} that cannot be decoded (${(err as Error).message})`,
      { cause: err },
    );
  }
  return {
    key: request.key,
    bytes,
    format: options.format,
    width: options.size,
    height: options.size,
    meta: {
      generator: 'http',
      protocol,
      model: served.model.id,
      modelVersion: served.model.version,
      seed: request.generatorSeed,
      ...(served.prompt !== undefined ? { serverPrompt: served.prompt } : {}),
    },
  };
}
