import type { SampleRequest } from '../plan/request';

/** What every generator backend returns for one request. */
export interface GeneratedImage {
  key: string;
  /** Encoded image bytes in `format`. */
  bytes: Uint8Array;
  format: 'jpg' | 'png';
  width: number;
  height: number;
  /** Backend-specific facts recorded into the sample's `.json` (e.g. prompt words used/ignored). */
  meta: Record<string, unknown>;
}

export interface GenerateOptions {
  /** Square output size in pixels. */
  size: number;
  format: 'jpg' | 'png';
  /** JPEG quality 1..100. */
  quality: number;
  signal?: AbortSignal;
}

/**
 * One interface for all backends (testpattern, procedural, tfjs, http): a batch of planned
 * requests in, the same number of images out, in the same order, deterministic given each
 * request's `generatorSeed`.
 */
export interface Generator {
  readonly id: string;
  readonly version: string;
  generate(requests: readonly SampleRequest[], options: GenerateOptions): Promise<GeneratedImage[]>;
  dispose?(): Promise<void>;
}
