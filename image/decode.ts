import sharp from 'sharp';
import { decodeRgbJpeg } from './jpeg-wasm';

export interface RawImage {
  /** Interleaved pixels, row-major, `channels` bytes per pixel. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * 3-channel sRGB pixels of an encoded image. A colour JPEG without an ICC profile (what synfarm
 * writes) is decoded on this thread in WebAssembly (./jpeg-wasm.ts), to sharp's own pixels at
 * about half of sharp's CPU per shard-sized image; anything else, any JPEG that decoder declines
 * (warnings included), and everything when `onThisThread` is false goes to sharp, which throws
 * on bad or truncated data and decodes on libuv's thread pool, so several in flight use several
 * cores: the choice for a process that has the node's cores to itself. Same pixels either way
 * for well-formed images; corrupt data that both decoders accept (a damaged table, a flipped bit
 * in a scan) may decode differently. The farm's stages call this once per image: the calibrator
 * for the models' input, the filter for its measurements.
 */
export async function decodeRgb(
  bytes: Uint8Array,
  options: { onThisThread?: boolean } = {},
): Promise<RawImage> {
  const fast = options.onThisThread === false ? undefined : await decodeRgbJpeg(bytes);
  if (fast) return fast;
  // sharp's default failOn ('warning') also rejects truncated files: a half-written image is no image.
  const { data, info } = await sharp(bytes)
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}
