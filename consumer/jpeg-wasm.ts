import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { RawImage } from './decode';

/**
 * Baseline and progressive JPEG decoding with libjpeg-turbo built to WebAssembly (the .wasm of
 * @cwasm/jpeg-turbo, MIT, called through its TurboJPEG exports). sharp decodes with mozjpeg, a
 * fork with libjpeg-turbo's decoder, to the same pixels, but spends about 1 ms per call before it
 * decodes anything, so a shard's 112-224 px faces decode several times faster here. Only
 * 3-component (YCbCr or RGB) JPEGs without an ICC profile, the ones synfarm writes, come this way:
 * sharp turns CMYK and profiled images into sRGB through a colour profile, which libjpeg cannot,
 * and a consumer must get the same pixels whichever decoder ran.
 */

/** TurboJPEG's pixel format for packed RGB: no alpha byte to drop afterwards. */
const TJPF_RGB = 0;

/** The part of the WebAssembly API used here (the ES2023 lib of tsconfig does not declare it). */
interface Wasm {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, () => number>>,
  ) => { exports: unknown };
}
type WasmModule = { readonly __brand: 'WebAssembly.Module' };
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

interface TurboJpeg {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(pointer: number): void;
  tjInitDecompress(): number;
  tjDecompressHeader3(
    handle: number,
    jpeg: number,
    size: number,
    width: number,
    height: number,
    subsampling: number,
    colorspace: number,
  ): number;
  tjDecompress2(
    handle: number,
    jpeg: number,
    size: number,
    out: number,
    width: number,
    pitch: number,
    height: number,
    format: number,
    flags: number,
  ): number;
  tjDestroy(handle: number): number;
}

/** libjpeg gave up inside the instance (its longjmp, which this build turns into a throw). */
class LibjpegAbort extends Error {}

let compiled: Promise<WasmModule> | undefined;
let instance: TurboJpeg | undefined;

function compiledDecoder(): Promise<WasmModule> {
  compiled ??= (async () => {
    const file = createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm');
    return wasm.compile(await readFile(file));
  })();
  return compiled;
}

/**
 * Compiles the decoder once per process (V8 then tiers up the hot functions in the background).
 * Called early, it overlaps with opening the first shard.
 */
export async function loadJpegDecoder(): Promise<void> {
  await compiledDecoder();
}

/**
 * libjpeg reports a fatal error with longjmp, which this build leaves to its host: the import
 * throws, and the exception unwinds the C stack without restoring its stack pointer. So an
 * instance that threw is dropped and the next decode starts a fresh one (cheap: the module stays
 * compiled). Nothing in the library prints: TurboJPEG keeps its messages in memory.
 */
async function turboJpeg(): Promise<TurboJpeg> {
  if (instance) return instance;
  const module = await compiledDecoder();
  const fail = (what: string) => () => {
    throw new LibjpegAbort(what);
  };
  const created = new wasm.Instance(module, {
    env: { setjmp: () => 0, longjmp: fail('libjpeg-turbo found the JPEG data corrupt or truncated') },
    wasi_snapshot_preview1: {
      environ_sizes_get: () => 0,
      environ_get: fail('environ_get'),
      proc_exit: fail('proc_exit'),
      fd_close: fail('fd_close'),
      fd_seek: fail('fd_seek'),
      fd_write: fail('fd_write'),
    },
  });
  instance = created.exports as unknown as TurboJpeg;
  return instance;
}

/** Decodes to packed RGB. A LibjpegAbort leaves the instance unusable; the caller drops it. */
function decodeRgb(tj: TurboJpeg, jpeg: Uint8Array): RawImage {
  const input = tj.malloc(jpeg.length);
  const header = tj.malloc(16);
  const handle = tj.tjInitDecompress();
  let output = 0;
  let aborted = false;
  try {
    new Uint8Array(tj.memory.buffer, input, jpeg.length).set(jpeg);
    if (tj.tjDecompressHeader3(handle, input, jpeg.length, header, header + 4, header + 8, header + 12) !== 0)
      throw new Error('JPEG decode failed: libjpeg-turbo could not read its header');
    const [width, height] = new Int32Array(tj.memory.buffer, header, 2) as unknown as [number, number];
    output = tj.malloc(width * height * 3);
    if (tj.tjDecompress2(handle, input, jpeg.length, output, width, width * 3, height, TJPF_RGB, 0) !== 0)
      throw new Error('JPEG decode failed: libjpeg-turbo could not decode its data');
    // Memory may have grown (and its buffer been replaced) inside the calls: view it afresh.
    const data = new Uint8Array(tj.memory.buffer, output, width * height * 3).slice();
    return { data, width, height, channels: 3 };
  } catch (error) {
    aborted = error instanceof LibjpegAbort;
    throw aborted ? new Error(`JPEG decode failed: ${(error as Error).message}`) : error;
  } finally {
    if (aborted) instance = undefined;
    else {
      tj.tjDestroy(handle);
      tj.free(input);
      tj.free(header);
      if (output) tj.free(output);
    }
  }
}

/**
 * What the wasm decoder needs to know of a JPEG's header: the frame's component count (SOFn) and
 * whether an ICC profile is embedded (APP2 "ICC_PROFILE"), which sharp applies on the way to sRGB.
 */
export function jpegHeader(bytes: Uint8Array): { components?: number; icc: boolean } {
  let icc = false;
  let at = 2; // after SOI
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker === 0xe2 && String.fromCharCode(...bytes.subarray(at + 4, at + 15)) === 'ICC_PROFILE')
      icc = true;
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): byte 9 of the segment is Nf.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { components: bytes[at + 9], icc };
    }
    if (marker === 0xda || marker === 0xd9) break; // scan or end before a frame header
    at += 2 + length;
  }
  return { icc };
}

/**
 * RGB pixels of a 3-component JPEG without an ICC profile (ICC profiles come before the frame
 * header); undefined for any other, which sharp then decodes.
 */
export async function decodeRgbJpeg(bytes: Uint8Array): Promise<RawImage | undefined> {
  const header = jpegHeader(bytes);
  if (header.components !== 3 || header.icc) return undefined;
  return decodeRgb(await turboJpeg(), bytes);
}
