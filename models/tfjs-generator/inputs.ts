import { AFFECTNET_CLASSES, AU_MAX_INTENSITY } from '../../plan/expressions';
import { mix32, mulberry32 } from '../../plan/random';
import type { SampleRequest } from '../../plan/request';
import type { InputPart } from './descriptor';

/**
 * The conditioning values fed to a user's model, each a pure function of the request, so a sample
 * renders the same on any worker. The exact recipes are documented in README.md: a model trained
 * elsewhere must be fed the same numbers at training time.
 */

/** Seed of the k-th noise part (0-based, in descriptor order) of a sample. */
export function noiseSeed(generatorSeed: number, k: number): number {
  return mix32((generatorSeed ^ Math.imul(k + 1, 0x9e3779b9)) >>> 0);
}

/** `n` values; normal ones by Box-Muller, two per pair of uniforms (cos first, then sin). */
export function noiseValues(seed: number, n: number, distribution: 'normal' | 'uniform'): Float32Array {
  const rng = mulberry32(seed);
  const out = new Float32Array(n);
  if (distribution === 'uniform') {
    for (let i = 0; i < n; i++) out[i] = rng() * 2 - 1;
    return out;
  }
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - rng()));
    const theta = 2 * Math.PI * rng();
    out[i] = r * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = r * Math.sin(theta);
  }
  return out;
}

/** FNV-1a over UTF-8 bytes. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The built-in text embedding (no text encoder can be shipped): lower-cased alphanumeric tokens
 * are hashed into `dim` signed buckets (feature hashing) and the vector is L2-normalised. Crude,
 * but deterministic and cheap, and it lets a small model learn from prompt words.
 */
export function hashTextEmbedding(prompt: string, dim: number): Float32Array {
  const out = new Float32Array(dim);
  for (const token of prompt.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []) {
    const h = fnv1a(token);
    const i = h % dim;
    out[i] = out[i]! + (h >>> 31 ? -1 : 1);
  }
  let norm = 0;
  for (const v of out) norm += v * v;
  if (norm > 0) {
    const k = 1 / Math.sqrt(norm);
    for (let i = 0; i < dim; i++) out[i] = out[i]! * k;
  }
  return out;
}

export function partLength(part: InputPart): number {
  switch (part.kind) {
    case 'aus':
      return part.order.length;
    case 'class':
      return AFFECTNET_CLASSES.length;
    case 'noise':
      return part.shape.reduce((a, b) => a * b, 1);
    case 'text':
      return part.dim;
  }
}

/**
 * Writes one part of one sample at `offset` of `target`. `noiseIndex` counts noise parts across the
 * whole descriptor, so two noise inputs of one model never repeat each other.
 */
export function writePart(
  part: InputPart,
  request: SampleRequest,
  noiseIndex: number,
  target: Float32Array,
  offset: number,
): void {
  switch (part.kind) {
    case 'aus': {
      const k = part.scale === 'unit' ? 1 / AU_MAX_INTENSITY : 1;
      part.order.forEach((au, i) => {
        target[offset + i] = (request.aus[au] ?? 0) * k;
      });
      return;
    }
    case 'class':
      target.fill(0, offset, offset + AFFECTNET_CLASSES.length);
      target[offset + request.classIndex] = 1;
      return;
    case 'noise':
      target.set(
        noiseValues(noiseSeed(request.generatorSeed, noiseIndex), partLength(part), part.distribution),
        offset,
      );
      return;
    case 'text':
      target.set(hashTextEmbedding(request.prompt, part.dim), offset);
      return;
  }
}
