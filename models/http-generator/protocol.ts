import { z } from 'zod';
import { AFFECTNET_CLASSES, AU_IDS } from '../../plan/expressions';
import { type SampleRequest, SteeringSchema } from '../../plan/request';
import { auPromptWords } from './au-words';

/** Wire formats, one schema each; PROTOCOL.md documents them for server authors. */

export const SYNFARM_PROTOCOL = 'synfarm-generate-v1';

/** Sent with every request; most diffusion servers drift into these without it. */
export const DEFAULT_NEGATIVE_PROMPT =
  'cartoon, drawing, painting, illustration, 3d render, deformed face, disfigured, extra limbs, ' +
  'blurry, lowres, text, watermark, multiple people';

export const SynfarmRequestItemSchema = z.object({
  key: z.string(),
  prompt: z.string(),
  negativePrompt: z.string(),
  /** AU id -> FACS intensity 0..5 (every planned AU, zeros included). */
  aus: z.partialRecord(z.enum(AU_IDS), z.number()),
  auSide: z.partialRecord(z.enum(AU_IDS), z.enum(['left', 'right'])),
  classIndex: z.int(),
  className: z.enum(AFFECTNET_CLASSES),
  /** uint32; the server must be deterministic given it. */
  seed: z.int(),
  width: z.int(),
  height: z.int(),
  guidance: z.number().optional(),
  /** Deficit rounds only: which class to push toward and away from (plan/request SteeringSchema). */
  steering: SteeringSchema.optional(),
});
export type SynfarmRequestItem = z.infer<typeof SynfarmRequestItemSchema>;

export const SynfarmGenerateRequestSchema = z.object({
  protocol: z.literal(SYNFARM_PROTOCOL),
  requests: z.array(SynfarmRequestItemSchema),
});
export type SynfarmGenerateRequest = z.infer<typeof SynfarmGenerateRequestSchema>;

export const SynfarmGenerateResponseSchema = z.object({
  images: z.array(z.object({ key: z.string(), format: z.enum(['png', 'jpg']), base64: z.string().min(1) })),
  model: z.object({ id: z.string().min(1), version: z.string().min(1) }),
});
export type SynfarmGenerateResponse = z.infer<typeof SynfarmGenerateResponseSchema>;

export function synfarmItem(
  request: SampleRequest,
  size: number,
  negativePrompt: string,
): SynfarmRequestItem {
  return {
    key: request.key,
    prompt: request.prompt,
    negativePrompt,
    aus: request.aus,
    auSide: request.auSide,
    classIndex: request.classIndex,
    className: request.className,
    seed: request.generatorSeed,
    width: size,
    height: size,
    ...(request.steering ? { steering: request.steering } : {}),
  };
}

/** AUTOMATIC1111 / Forge `POST /sdapi/v1/txt2img`: only the fields synfarm sets. */
export const A1111RequestSchema = z.object({
  prompt: z.string(),
  negative_prompt: z.string(),
  seed: z.int(),
  width: z.int(),
  height: z.int(),
  steps: z.int(),
  cfg_scale: z.number(),
  batch_size: z.literal(1),
  n_iter: z.literal(1),
});
export type A1111Request = z.infer<typeof A1111RequestSchema>;

export const A1111ResponseSchema = z.object({
  images: z.array(z.string().min(1)).min(1),
  /** A JSON string in A1111 (sd_model_name, sd_model_hash, seed, ...). */
  info: z.unknown().optional(),
});

export interface A1111Settings {
  /** SD 1.x renders well at 512 only; synfarm downsizes to image.size afterwards. */
  renderSize: number;
  steps: number;
  cfgScale: number;
}
export const DEFAULT_A1111: A1111Settings = { renderSize: 512, steps: 25, cfgScale: 7 };

/**
 * A text-only server cannot take an AU vector, so the AUs become words after the planned prompt
 * (which describes identity, lighting and pose), e.g. "..., cheeks raised, smiling, lip corners
 * strongly pulled up".
 */
export function a1111Prompt(request: SampleRequest): string {
  const base =
    request.prompt.trim() || `a close-up photo of a person's face, ${request.className} expression`;
  const words = auPromptWords(request);
  return words ? `${base}, ${words}` : base;
}

export function a1111Body(
  request: SampleRequest,
  settings: A1111Settings,
  negativePrompt: string,
): A1111Request {
  return {
    prompt: a1111Prompt(request),
    negative_prompt: negativePrompt,
    seed: request.generatorSeed,
    width: settings.renderSize,
    height: settings.renderSize,
    steps: settings.steps,
    cfg_scale: settings.cfgScale,
    batch_size: 1,
    n_iter: 1,
  };
}

/** Model name and hash from A1111's `info` (a JSON string), when it has them. */
export function a1111Model(info: unknown): { id: string; version: string } | undefined {
  let parsed: unknown = info;
  if (typeof info === 'string') {
    try {
      parsed = JSON.parse(info);
    } catch {
      return undefined;
    }
  }
  if (!parsed || typeof parsed !== 'object') return undefined;
  const { sd_model_name: name, sd_model_hash: hash } = parsed as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return undefined;
  return { id: name, version: typeof hash === 'string' && hash !== '' ? hash : 'unknown' };
}
