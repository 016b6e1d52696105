import sharp from 'sharp';
import { decodeRgbJpeg, loadJpegDecoder, type RawImage } from '../image';
import type { Sample } from '../webdataset';
import { MissingFieldError } from './errors';

const decoder = new TextDecoder();

function field(sample: Sample, name: string): Uint8Array {
  const value = sample[name];
  if (value === undefined) throw new MissingFieldError(sample.__key__, name);
  return typeof value === 'string' ? new TextEncoder().encode(value) : value;
}

/** The `.json` member parsed: intended and calibrated labels, soft labels, AUs, prompt, seeds. */
export function decodeJson<T = unknown>(sample: Sample): T {
  return JSON.parse(decoder.decode(field(sample, 'json'))) as T;
}

/** The `.cls` member: the calibrated class index, AffectNet order. */
export function decodeCls(sample: Sample): number {
  const text = decoder.decode(field(sample, 'cls')).trim();
  const cls = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(cls)) {
    throw new MissingFieldError(sample.__key__, 'cls', `has a "cls" member holding ${JSON.stringify(text)}`);
  }
  return cls;
}

/** The encoded image as stored (no decode): `jpg` or `png`. */
export function imageBytes(sample: Sample): { format: 'jpg' | 'png'; bytes: Uint8Array } {
  if (sample.jpg !== undefined) return { format: 'jpg', bytes: field(sample, 'jpg') };
  return { format: 'png', bytes: field(sample, 'png') };
}

export type { RawImage };

export interface DecodeOptions {
  /** RGBA instead of RGB. */
  alpha?: boolean;
  /**
   * Decode a colour JPEG without an ICC profile (what synfarm writes) on this thread, with libjpeg-turbo
   * in WebAssembly (image/jpeg-wasm.ts): sharp's pixels without sharp's cost per call, but one image
   * at a time. Default true; false sends it to sharp, which decodes on libuv's thread pool, so
   * several decodes in flight use several cores.
   */
  onThisThread?: boolean;
}

/** Whether a JPEG decoded with these options goes to the WebAssembly decoder first. */
function triesWasm(options: DecodeOptions): boolean {
  return !options.alpha && options.onThisThread !== false;
}

/**
 * Decodes the image to raw RGB (or RGBA with `alpha`) pixels, the same pixels whichever decoder
 * runs (see `onThisThread`). PNGs, greyscale, CMYK and profiled JPEGs, and any JPEG the
 * WebAssembly decoder declines (image/jpeg-wasm.ts), go to sharp, so a bad image gets sharp's error.
 * Corrupt scan data that both decoders accept may decode differently: a reader with `verify`
 * checks each shard's sha256 first. Shard images are small (112-512 px), so sharp's per-image
 * overhead outweighs the decode itself: a JPEG has no alpha to remove, so its pipeline is only
 * the decode (a fifth less CPU per image), and sequential read lets libvips stream the rows
 * instead of buffering the image for random access.
 */
export async function decodeImage(sample: Sample, options: DecodeOptions = {}): Promise<RawImage> {
  const { format, bytes } = imageBytes(sample);
  if (format === 'jpg' && triesWasm(options)) {
    const rgb = await decodeRgbJpeg(bytes);
    if (rgb) return rgb;
  }
  const image = sharp(bytes, { sequentialRead: true });
  const pipeline = options.alpha ? image.ensureAlpha() : format === 'jpg' ? image : image.removeAlpha();
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

export interface DecodedSample {
  sample: Sample;
  image: RawImage;
  json: unknown;
  cls: number;
}

/**
 * Decodes a stream of samples with up to `concurrency` images in flight, in input order. With
 * more than one, sharp decodes them on libuv's thread pool, so a reader that waited for each
 * image in turn would leave the other cores idle (a data loader's prefetch, in one process);
 * with `concurrency: 1` (one loader process per core) each decodes on this thread in WebAssembly,
 * which is faster per image.
 */
export async function* decodeSamples(
  samples: AsyncIterable<Sample>,
  options: { concurrency?: number; alpha?: boolean } = {},
): AsyncGenerator<DecodedSample> {
  const limit = Math.max(1, options.concurrency ?? 4);
  const decode: DecodeOptions = { alpha: options.alpha, onThisThread: limit === 1 };
  // Not awaited, and it never rejects: a decoder that cannot load leaves every image to sharp.
  if (triesWasm(decode)) void loadJpegDecoder();
  const inFlight: Promise<DecodedSample>[] = [];
  const start = (sample: Sample): Promise<DecodedSample> =>
    decodeImage(sample, decode).then((image) => ({
      sample,
      image,
      json: decodeJson(sample),
      cls: decodeCls(sample),
    }));
  for await (const sample of samples) {
    inFlight.push(start(sample));
    if (inFlight.length >= limit) yield await inFlight.shift()!;
  }
  while (inFlight.length > 0) yield await inFlight.shift()!;
}
