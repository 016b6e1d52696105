import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { AFFECTNET_CLASSES, EMFACS_PROTOTYPES, type ExpressionClass } from '../../plan/expressions';
import { type AuVector, type Identity, type SampleRequest, SKIN_TONES } from '../../plan/request';
import { encodeImage } from '../encode';
import type { GeneratedImage, GenerateOptions, Generator } from '../generator';
import { GeneratorInputError } from './errors';
import { faceSvg } from './face-svg';
import { applyOverrides, parsePrompt } from './prompt';
import { createRng, pick, range } from './rng';
import { validateOptions, validateRequest } from './validate';

export const PROCEDURAL_VERSION = '1.3.0';

/** The identity the prompt and request together ask for, plus what the prompt contributed. */
export function resolveIdentity(req: SampleRequest): {
  identity: Identity;
  prompt: { used: string[]; ignored: string[] };
} {
  const parsed = parsePrompt(req.prompt);
  // An unnamed "side light" side is a function of the seed, so it is stable across re-renders.
  const identity = applyOverrides(req.identity, parsed.overrides, (req.generatorSeed & 1) === 1);
  return { identity, prompt: { used: parsed.used, ignored: parsed.ignored } };
}

/** Renders one validated request to encoded bytes. */
export async function renderRequest(req: SampleRequest, options: GenerateOptions): Promise<GeneratedImage> {
  const { identity, prompt } = resolveIdentity(req);
  const svg = faceSvg(req, identity, options.size);
  const img = sharp(Buffer.from(svg)).removeAlpha();
  return {
    key: req.key,
    bytes: await encodeImage(img, options),
    format: options.format,
    width: options.size,
    height: options.size,
    meta: { generator: 'procedural', version: PROCEDURAL_VERSION, prompt, identity },
  };
}

async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export interface ProceduralOptions {
  /** Images rasterised at once; librsvg runs on libuv's thread pool, so more than the cores only queues. */
  parallel?: number;
}

/**
 * The embedded default generator: an AU-driven parametric face drawn as SVG and rasterised by
 * sharp/librsvg. Deterministic byte for byte given each request (no clock, no Math.random).
 */
export function createProceduralGenerator(opts: ProceduralOptions = {}): Generator {
  const parallel = Math.max(1, opts.parallel ?? availableParallelism());
  return {
    id: 'procedural',
    version: PROCEDURAL_VERSION,
    async generate(requests: readonly SampleRequest[], options: GenerateOptions): Promise<GeneratedImage[]> {
      validateOptions(options);
      const valid = requests.map((r) => validateRequest(r));
      return mapLimited(valid, parallel, async (r) => {
        options.signal?.throwIfAborted();
        return renderRequest(r, options);
      });
    },
  };
}

const IDENTITY_CHOICES = {
  ageBand: ['young adult', 'adult', 'middle-aged', 'elderly'],
  gender: ['feminine', 'masculine', 'androgynous'],
  faceShape: ['oval', 'round', 'square', 'heart', 'long'],
  hair: ['short dark', 'short light', 'long dark', 'long light', 'curly', 'bald', 'gray'],
  eyeColor: ['brown', 'blue', 'green', 'hazel', 'gray'],
  facialHair: ['none', 'none', 'stubble', 'beard', 'moustache'],
  direction: ['front', 'left', 'right', 'top'],
  warmth: ['neutral', 'warm', 'cool'],
  background: ['studio gray', 'white wall', 'office', 'outdoor park', 'dark backdrop', 'living room'],
} as const;

/** A plausible identity drawn from a seed, for one-off renders that name none. */
export function identityFromSeed(seed: number): Identity {
  const r = createRng(seed ^ 0x9e3779b9);
  const gender = pick(r, IDENTITY_CHOICES.gender);
  const ageBand = pick(r, IDENTITY_CHOICES.ageBand);
  return {
    ageBand,
    gender,
    skinTone: SKIN_TONES[Math.floor(r() * SKIN_TONES.length)]!,
    faceShape: pick(r, IDENTITY_CHOICES.faceShape),
    hair: pick(r, IDENTITY_CHOICES.hair),
    eyeColor: pick(r, IDENTITY_CHOICES.eyeColor),
    glasses: r() < 0.25,
    facialHair: gender === 'masculine' ? pick(r, IDENTITY_CHOICES.facialHair) : 'none',
    headPose: { yaw: range(r, -8, 8), pitch: range(r, -5, 5), roll: range(r, -5, 5) },
    lighting: {
      direction: pick(r, IDENTITY_CHOICES.direction),
      strength: range(r, 0.3, 0.9),
      warmth: pick(r, IDENTITY_CHOICES.warmth),
    },
    background: pick(r, IDENTITY_CHOICES.background),
  };
}

/** Prototype AUs of a class at a moderate-strong intensity (FACS C-D). */
export function prototypeAus(className: ExpressionClass, intensity = 3.5): AuVector {
  const aus: AuVector = {};
  for (const au of EMFACS_PROTOTYPES[className]) aus[au] = intensity;
  return aus;
}

export interface RenderOneInput {
  className: ExpressionClass;
  aus?: AuVector;
  prompt?: string;
  seed?: number;
  size?: number;
  format?: 'jpg' | 'png';
  quality?: number;
}

/** One image outside a run (the CLI's preview): the class prototype unless AUs are given. */
export async function renderOne(input: RenderOneInput): Promise<GeneratedImage> {
  const classIndex = AFFECTNET_CLASSES.indexOf(input.className);
  if (classIndex < 0) {
    throw new GeneratorInputError(
      'className',
      `unknown class "${input.className}"; use one of ${AFFECTNET_CLASSES.join(', ')}`,
    );
  }
  const seed = input.seed ?? 0;
  const request = validateRequest({
    key: '000000_000000',
    shard: 0,
    index: 0,
    round: 0,
    classIndex,
    className: input.className,
    aus: input.aus ?? prototypeAus(input.className),
    auSide: input.className === 'contempt' && !input.aus ? { AU12: 'left', AU14: 'left' } : {},
    identity: identityFromSeed(seed),
    prompt: input.prompt ?? '',
    generatorSeed: seed >>> 0,
  });
  const options: GenerateOptions = {
    size: input.size ?? 224,
    format: input.format ?? 'jpg',
    quality: input.quality ?? 90,
  };
  validateOptions(options);
  return renderRequest(request, options);
}
