import { decodeRgb, type RawImage } from '../../image';
import type { SampleErrorCode } from './errors';

/** Smallest image side the detector and the 112 px face crops can work with. */
export const MIN_IMAGE_SIDE = 48;

/** RGB pixels, 3 bytes each, row-major. */
export interface DecodedImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Why one sample got no label; becomes its calibration's `error`. */
export interface SampleFailure {
  code: SampleErrorCode;
  message: string;
}

export function isFailure(x: object): x is SampleFailure {
  return 'code' in x;
}

/**
 * Stage 1: encoded bytes to RGB pixels, once per image (image/decode.ts: synfarm's JPEGs in
 * WebAssembly, anything else through sharp). Everything later (detector input, face crops) is cut
 * from these pixels; a bad image is a per-sample failure, never a throw.
 */
export async function decodeImage(
  bytes: Uint8Array,
  expected?: { width: number; height: number },
  options: { onThisThread?: boolean } = {},
): Promise<DecodedImage | SampleFailure> {
  let out: RawImage;
  try {
    out = await decodeRgb(bytes, options);
  } catch (err) {
    return { code: 'decode-failed', message: `image could not be decoded: ${(err as Error).message}` };
  }
  const { width, height, channels } = out;
  if (channels !== 3)
    return { code: 'decode-failed', message: `decoded to ${channels} channels, expected RGB` };
  if (expected && (width !== expected.width || height !== expected.height)) {
    return {
      code: 'wrong-size',
      message: `image is ${width}x${height}, the part was generated at ${expected.width}x${expected.height}`,
    };
  }
  if (Math.min(width, height) < MIN_IMAGE_SIDE) {
    return { code: 'too-small', message: `image is ${width}x${height}, smaller than ${MIN_IMAGE_SIDE}px` };
  }
  return { data: out.data, width, height };
}
