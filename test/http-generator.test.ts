import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AU_PROMPT_WORDS,
  a1111Prompt,
  auPhrase,
  auPromptWords,
  createHttpGenerator,
  type HttpGeneratorError,
  type HttpGeneratorSettings,
  SynfarmGenerateRequestSchema,
} from '../models/http-generator';
import { AFFECTNET_CLASSES, AU_IDS } from '../plan/expressions';
import { type SampleRequest, SampleRequestSchema } from '../plan/request';

function request(i: number, overrides: Partial<SampleRequest> = {}): SampleRequest {
  const classIndex = i % AFFECTNET_CLASSES.length;
  return SampleRequestSchema.parse({
    key: `000002_${String(i).padStart(6, '0')}`,
    shard: 2,
    index: i,
    round: 0,
    classIndex,
    className: AFFECTNET_CLASSES[classIndex],
    aus: { AU6: 3, AU12: 4 },
    auSide: {},
    identity: {
      ageBand: 'adult',
      gender: 'masculine',
      skinTone: 4,
      faceShape: 'round',
      hair: 'short dark',
      eyeColor: 'brown',
      glasses: false,
      facialHair: 'none',
      headPose: { yaw: 0, pitch: 0, roll: 0 },
      lighting: { direction: 'front', strength: 0.7, warmth: 'neutral' },
      background: 'studio gray',
    },
    prompt: 'a photo of an adult man',
    generatorSeed: 1000 + i,
    ...overrides,
  });
}

/** The colour a seed paints, so each returned image can be traced back to its request. */
function seedColor(seed: number): { r: number; g: number; b: number } {
  return { r: (seed * 37) % 256, g: (seed * 91) % 256, b: (seed * 13) % 256 };
}

async function solidPng(seed: number, size = 64): Promise<string> {
  const png = await sharp({ create: { width: size, height: size, channels: 3, background: seedColor(seed) } })
    .png()
    .toBuffer();
  return png.toString('base64');
}

type Handler = (path: string, body: unknown, res: ServerResponse) => Promise<void> | void;

/** A fake inference server speaking both protocols; each test may swap its behaviour. */
const server = {
  http: undefined as Server | undefined,
  url: '',
  inFlight: 0,
  maxInFlight: 0,
  calls: [] as { path: string; body: unknown }[],
  handler: undefined as Handler | undefined,
  hung: [] as ServerResponse[],
};

async function serveNormally(path: string, body: unknown, res: ServerResponse): Promise<void> {
  await new Promise((r) => setTimeout(r, 20));
  if (path === '/generate') {
    const req = SynfarmGenerateRequestSchema.parse(body);
    const images = await Promise.all(
      req.requests.map(async (r) => ({ key: r.key, format: 'png', base64: await solidPng(r.seed) })),
    );
    json(res, 200, { images, model: { id: 'fake-sd', version: '1.2' } });
  } else if (path === '/sdapi/v1/txt2img') {
    const seed = (body as { seed: number }).seed;
    json(res, 200, {
      images: [await solidPng(seed, 512)],
      info: JSON.stringify({ sd_model_name: 'fake-a1111', sd_model_hash: 'abc123', seed }),
    });
  } else {
    json(res, 404, { detail: 'Not Found' });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

beforeAll(async () => {
  server.http = createServer(async (req, res) => {
    server.inFlight++;
    server.maxInFlight = Math.max(server.maxInFlight, server.inFlight);
    res.on('close', () => {
      server.inFlight--;
    });
    const body = await readBody(req);
    server.calls.push({ path: req.url ?? '', body });
    await (server.handler ?? serveNormally)(req.url ?? '', body, res);
  });
  await new Promise<void>((resolve) => server.http!.listen(0, '127.0.0.1', resolve));
  server.url = `http://127.0.0.1:${(server.http.address() as AddressInfo).port}`;
});

beforeEach(() => {
  server.calls = [];
  server.maxInFlight = 0;
  server.handler = undefined;
});

afterAll(async () => {
  for (const res of server.hung) res.destroy();
  server.http?.closeAllConnections();
  await new Promise((r) => server.http?.close(r));
});

function settings(extra: Partial<HttpGeneratorSettings> = {}): HttpGeneratorSettings {
  return {
    backend: 'http',
    batchSize: 4,
    url: server.url,
    protocol: 'synfarm',
    timeoutMs: 5000,
    concurrency: 4,
    ...extra,
  };
}

const FAST_RETRY = { retry: { attempts: 3, baseDelayMs: 5, maxDelayMs: 20 } };
const JPG = { size: 112, format: 'jpg', quality: 90 } as const;

async function rejection(p: Promise<unknown>): Promise<HttpGeneratorError> {
  try {
    await p;
  } catch (err) {
    return err as HttpGeneratorError;
  }
  throw new Error('expected a rejection');
}

async function centerColor(bytes: Uint8Array): Promise<number[]> {
  const { data, info } = await sharp(bytes).raw().toBuffer({ resolveWithObject: true });
  const o = (Math.floor(info.height / 2) * info.width + Math.floor(info.width / 2)) * info.channels;
  return [data[o]!, data[o + 1]!, data[o + 2]!];
}

function expectColorOf(seed: number, rgb: number[]): void {
  const c = seedColor(seed);
  for (const [i, v] of [c.r, c.g, c.b].entries()) expect(Math.abs(v - rgb[i]!)).toBeLessThanOrEqual(3);
}

describe('http generator, synfarm protocol', () => {
  it('sends the documented request and returns each image, resized and re-encoded, in request order', async () => {
    const gen = await createHttpGenerator(settings());
    const reqs = [0, 1, 2, 3, 4, 5].map((i) => request(i));
    const images = await gen.generate(reqs, JPG);
    expect(images.map((img) => img.key)).toEqual(reqs.map((r) => r.key));
    for (const [i, img] of images.entries()) {
      expect(await sharp(img.bytes).metadata()).toMatchObject({ format: 'jpeg', width: 112, height: 112 });
      expectColorOf(reqs[i]!.generatorSeed, await centerColor(img.bytes));
      expect(img.meta).toMatchObject({ generator: 'http', model: 'fake-sd', modelVersion: '1.2' });
    }
    // batchSize 4: six requests travel as two POSTs.
    expect(server.calls.map((c) => c.path)).toEqual(['/generate', '/generate']);
    const first = SynfarmGenerateRequestSchema.parse(server.calls[0]!.body);
    expect(first.requests[0]).toMatchObject({
      key: reqs[0]!.key,
      seed: reqs[0]!.generatorSeed,
      aus: { AU6: 3, AU12: 4 },
      width: 112,
      height: 112,
      className: 'neutral',
    });
    expect(gen.version).toBe('fake-sd@1.2');
  });

  it('passes the steering of a deficit round to the server, and only where it is set', async () => {
    const gen = await createHttpGenerator(settings());
    const steering = {
      targetClass: 'fear' as const,
      avoidClass: 'happy' as const,
      gain: 1.3,
      emphasise: ['AU1' as const, 'AU20' as const],
      suppress: ['AU12' as const],
    };
    await gen.generate([request(0, { steering }), request(1)], JPG);
    const sent = SynfarmGenerateRequestSchema.parse(server.calls[0]!.body);
    expect(sent.requests[0]!.steering).toEqual(steering);
    expect(sent.requests[1]).not.toHaveProperty('steering');
  });

  it('retries a 503 twice and then succeeds', async () => {
    let failures = 0;
    server.handler = (path, body, res) => {
      if (failures < 2) {
        failures++;
        return json(res, 503, { detail: 'warming up' });
      }
      return serveNormally(path, body, res);
    };
    const gen = await createHttpGenerator(settings(), FAST_RETRY);
    const [img] = await gen.generate([request(7)], { ...JPG, format: 'png' });
    expect(server.calls).toHaveLength(3);
    expect(await sharp(img!.bytes).metadata()).toMatchObject({ format: 'png', width: 112 });
  });

  it('gives up after the bounded attempts with http-unavailable', async () => {
    server.handler = (_path, _body, res) => json(res, 502, { error: 'bad gateway' });
    const gen = await createHttpGenerator(settings(), FAST_RETRY);
    const err = await rejection(gen.generate([request(1)], JPG));
    expect(err).toMatchObject({ code: 'http-unavailable', field: 'generator.url', retryable: true });
    expect(server.calls).toHaveLength(3);
  });

  it('a connection refused is retried and then reported as http-unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const gen = await createHttpGenerator(settings({ url: `http://127.0.0.1:${port}` }), FAST_RETRY);
    const err = await rejection(gen.generate([request(1)], JPG));
    expect(err).toMatchObject({ code: 'http-unavailable' });
    expect(err.message).toContain('3 times');
  });

  it('a 400 is a non-retryable http-rejected carrying the server message, sent once', async () => {
    server.handler = (_path, _body, res) => json(res, 400, { detail: 'width must be a multiple of 64' });
    const gen = await createHttpGenerator(settings(), FAST_RETRY);
    const err = await rejection(gen.generate([request(1)], JPG));
    expect(err).toMatchObject({ code: 'http-rejected', status: 400, retryable: false });
    expect(err.serverMessage).toBe('width must be a multiple of 64');
    expect(err.message).toContain('width must be a multiple of 64');
    expect(server.calls).toHaveLength(1);
  });

  it('a hanging request fails with http-timeout after timeoutMs', async () => {
    server.handler = (_path, _body, res) => {
      server.hung.push(res);
    };
    const gen = await createHttpGenerator(settings({ timeoutMs: 1000 }), FAST_RETRY);
    const err = await rejection(gen.generate([request(1)], JPG));
    expect(err).toMatchObject({ code: 'http-timeout', retryable: true });
    expect(err.message).toContain('1000 ms');
  });

  it("the caller's abort signal stops a request in flight", async () => {
    server.handler = (_path, _body, res) => {
      server.hung.push(res);
    };
    const gen = await createHttpGenerator(settings({ timeoutMs: 60_000 }), FAST_RETRY);
    const controller = new AbortController();
    const pending = rejection(gen.generate([request(1)], { ...JPG, signal: controller.signal }));
    setTimeout(() => controller.abort(new Error('activity cancelled')), 50);
    expect((await pending).message).toBe('activity cancelled');
  });

  it('never has more requests in flight than the concurrency setting', async () => {
    const gen = await createHttpGenerator(settings({ batchSize: 1, concurrency: 2 }));
    const reqs = Array.from({ length: 8 }, (_, i) => request(i));
    // Two generate calls at once share the worker's limit.
    const [a, b] = await Promise.all([gen.generate(reqs.slice(0, 4), JPG), gen.generate(reqs.slice(4), JPG)]);
    expect(server.calls).toHaveLength(8);
    expect(server.maxInFlight).toBe(2);
    expect([...a!, ...b!].map((img) => img.key)).toEqual(reqs.map((r) => r.key));
  });

  it('a rejected request cancels the other requests of the same generate call', async () => {
    server.handler = (_path, body, res) => {
      if ((body as { seed: number }).seed === request(0).generatorSeed)
        return json(res, 400, { detail: 'bad prompt' });
      server.hung.push(res);
    };
    const gen = await createHttpGenerator(settings({ protocol: 'a1111', timeoutMs: 60_000 }), FAST_RETRY);
    const err = await rejection(gen.generate([request(0), request(1), request(2)], JPG));
    expect(err).toMatchObject({ code: 'http-rejected' });
    for (let i = 0; i < 100 && server.inFlight > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(server.inFlight).toBe(0);
  });

  it('a response missing a requested key is http-bad-response', async () => {
    server.handler = (_path, _body, res) => json(res, 200, { images: [], model: { id: 'x', version: '1' } });
    const gen = await createHttpGenerator(settings());
    expect(await rejection(gen.generate([request(1)], JPG))).toMatchObject({ code: 'http-bad-response' });
  });

  it('rejects an unsupported size before sending anything', async () => {
    const gen = await createHttpGenerator(settings());
    expect(await rejection(gen.generate([request(1)], { ...JPG, size: 1024 }))).toMatchObject({
      code: 'invalid-size',
      field: 'image.size',
    });
    expect(server.calls).toHaveLength(0);
  });
});

describe('http generator, AUTOMATIC1111 adapter', () => {
  it('posts txt2img with the AUs as prompt words and downsizes the 512 px answer', async () => {
    const gen = await createHttpGenerator(settings({ protocol: 'a1111', concurrency: 2 }));
    const reqs = [request(1), request(2)];
    const images = await gen.generate(reqs, { ...JPG, format: 'png' });
    expect(server.calls.map((c) => c.path)).toEqual(['/sdapi/v1/txt2img', '/sdapi/v1/txt2img']);
    const sent = server.calls.find((c) => (c.body as { seed: number }).seed === reqs[0]!.generatorSeed)!
      .body as Record<string, unknown>;
    expect(sent).toMatchObject({ width: 512, height: 512, batch_size: 1, seed: reqs[0]!.generatorSeed });
    expect(sent.prompt).toBe(
      'a photo of an adult man, cheeks raised, smiling, lip corners strongly pulled up',
    );
    expect(typeof sent.negative_prompt).toBe('string');
    for (const [i, img] of images.entries()) {
      expect(img.key).toBe(reqs[i]!.key);
      expect(await sharp(img.bytes).metadata()).toMatchObject({ format: 'png', width: 112, height: 112 });
      expectColorOf(reqs[i]!.generatorSeed, await centerColor(img.bytes));
    }
    expect(images[0]!.meta).toMatchObject({
      model: 'fake-a1111',
      modelVersion: 'abc123',
      serverPrompt: sent.prompt,
    });
  });
});

describe('AU prompt words', () => {
  it('has words for every AU synfarm plans', () => {
    for (const au of AU_IDS) expect(AU_PROMPT_WORDS[au].phrase).toContain('~');
  });

  it('words intensity: traces left out, slightly, plain, strongly', () => {
    expect(auPhrase('AU6', 0.3)).toBeUndefined();
    expect(auPhrase('AU6', 1)).toBe('cheeks slightly raised');
    expect(auPhrase('AU6', 2.5)).toBe('cheeks raised');
    expect(auPhrase('AU6', 4.2)).toBe('cheeks strongly raised');
  });

  it('renders happy (AU6+AU12) as raised cheeks and a smile, and unilateral AUs as one-sided', () => {
    expect(auPromptWords({ aus: { AU6: 3, AU12: 3, AU1: 0 }, auSide: {} })).toBe(
      'cheeks raised, smiling, lip corners pulled up',
    );
    const contempt = auPromptWords({ aus: { AU12: 2.5, AU14: 1.2 }, auSide: { AU12: 'left', AU14: 'left' } });
    expect(contempt).toBe(
      'smirking, lip corner pulled up on one side, lip corner slightly dimpled on one side',
    );
    expect(auPhrase('AU15', 3, 'right')).toBe('lip corners pulled down on one side');
  });

  it('falls back to the class when the planned prompt is empty', () => {
    expect(a1111Prompt(request(3, { prompt: '', aus: {} }))).toBe(
      "a close-up photo of a person's face, surprise expression",
    );
  });
});
