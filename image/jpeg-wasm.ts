import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { RawImage } from './decode';

/**
 * Baseline and progressive JPEG decoding with libjpeg-turbo 2.0 built to WebAssembly (the .wasm of
 * @cwasm/jpeg-turbo, MIT, called through its TurboJPEG exports). sharp decodes with mozjpeg, a
 * fork with libjpeg-turbo's decoder, to the same pixels, but spends about 1 ms per call before it
 * decodes anything: a procedural 224 px face takes 1.2 ms of CPU here against sharp's 2.4, a
 * 112 px one 0.3 against 2.3. Only 3-component (YCbCr or RGB) JPEGs without an ICC profile, the
 * ones synfarm writes, come this way: sharp turns CMYK and profiled images into sRGB through a
 * colour profile, which libjpeg cannot, and a consumer must get the same pixels whichever
 * decoder ran.
 */

/** TurboJPEG's pixel format for packed RGB: no alpha byte to drop afterwards. */
const TJPF_RGB = 0;

/** The part of the WebAssembly API used here (the ES2023 lib of tsconfig does not declare it). */
interface Wasm {
  compile(bytes: Uint8Array): Promise<WasmModule>;
  Instance: new (
    module: WasmModule,
    imports: Record<string, Record<string, (...args: number[]) => number>>,
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

let compiled: Promise<WasmModule | undefined> | undefined;
let instance: TurboJpeg | undefined;
const stats = { decoded: 0, declined: 0, instances: 0 };

/**
 * Images above this many pixels go to sharp: the wasm path is for shard-sized images, and wasm
 * memory never shrinks once a large image has grown it. Far below 2^31 / 3, so no size the
 * decoder is handed can wrap its 32-bit arithmetic.
 */
export const WASM_MAX_PIXELS = 4096 * 4096;

/** Undefined when the .wasm cannot be read or compiled: every image then goes to sharp. */
function compiledDecoder(): Promise<WasmModule | undefined> {
  compiled ??= (async () => {
    const file = createRequire(import.meta.url).resolve('@cwasm/jpeg-turbo/jpeg-turbo.wasm');
    return wasm.compile(await readFile(file));
  })().catch(() => undefined);
  return compiled;
}

/**
 * Compiles the decoder once per process (V8 then tiers up the hot functions in the background).
 * Called early, it overlaps with opening the first shard.
 */
export async function loadJpegDecoder(): Promise<void> {
  await compiledDecoder();
}

/** How the wasm path fared in this process: images it decoded, images it left to sharp. */
export function jpegWasmStats(): Readonly<typeof stats> {
  return { ...stats };
}

/**
 * The shared instance, created synchronously so that no decode can start on an instance that an
 * earlier one is about to drop. Nothing in the library prints: TurboJPEG keeps its messages in
 * memory, and the WASI calls other than the environment's size are never made.
 */
function turboJpeg(module: WasmModule): TurboJpeg {
  if (instance) return instance;
  const unused = (name: string) => () => {
    throw new Error(`libjpeg-turbo called ${name}`);
  };
  let exports: TurboJpeg | undefined;
  const created = new wasm.Instance(module, {
    env: {
      setjmp: () => 0,
      longjmp: () => {
        throw new Error('libjpeg-turbo gave up on the JPEG data');
      },
    },
    wasi_snapshot_preview1: {
      environ_sizes_get: (count: number, size: number) => {
        const view = new DataView(exports!.memory.buffer);
        view.setUint32(count, 0, true);
        view.setUint32(size, 0, true);
        return 0;
      },
      environ_get: unused('environ_get'),
      proc_exit: unused('proc_exit'),
      fd_close: unused('fd_close'),
      fd_seek: unused('fd_seek'),
      fd_write: unused('fd_write'),
    },
  });
  exports = created.exports as unknown as TurboJpeg;
  stats.instances++;
  instance = exports;
  return exports;
}

/**
 * Packed RGB, or undefined for a JPEG this decoder declines (too large, or any error status).
 * Memory is freed only on the way out of a call that returned: after a throw the caller drops
 * the instance, heap and all, and calling into it again could trap or never return.
 */
function decodeRgb(tj: TurboJpeg, jpeg: Uint8Array): RawImage | undefined {
  const input = tj.malloc(jpeg.length);
  const header = tj.malloc(16);
  const handle = tj.tjInitDecompress();
  let output = 0;
  const decode = (): RawImage | undefined => {
    if (!input || !header || !handle) return undefined;
    new Uint8Array(tj.memory.buffer, input, jpeg.length).set(jpeg);
    if (tj.tjDecompressHeader3(handle, input, jpeg.length, header, header + 4, header + 8, header + 12) !== 0)
      return undefined;
    const [width, height] = new Int32Array(tj.memory.buffer, header, 2) as unknown as [number, number];
    if (width <= 0 || height <= 0 || width * height > WASM_MAX_PIXELS) return undefined;
    output = tj.malloc(width * height * 3);
    // A status of -1 includes libjpeg's warnings, which sharp may accept: sharp then decides.
    if (
      !output ||
      tj.tjDecompress2(handle, input, jpeg.length, output, width, width * 3, height, TJPF_RGB, 0) !== 0
    )
      return undefined;
    // Memory may have grown (and its buffer been replaced) inside the calls: view it afresh.
    const data = new Uint8Array(tj.memory.buffer, output, width * height * 3).slice();
    return { data, width, height, channels: 3 };
  };
  const rgb = decode();
  if (handle) tj.tjDestroy(handle);
  tj.free(input);
  tj.free(header);
  if (output) tj.free(output);
  return rgb;
}

/**
 * What the wasm decoder needs to know of a JPEG's header: the frame's component count (SOFn) and
 * whether an ICC profile is embedded (APP2 "ICC_PROFILE"), which sharp applies on the way to sRGB.
 * Reads every marker segment up to the first scan: a profile may follow the frame header.
 */
export function jpegHeader(bytes: Uint8Array): { components?: number; icc: boolean } {
  let icc = false;
  let components: number | undefined;
  let at = 2; // after SOI
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) break;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xda || marker === 0xd9) break; // the first scan, or the end
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker === 0xe2 && String.fromCharCode(...bytes.subarray(at + 4, at + 15)) === 'ICC_PROFILE')
      icc = true;
    // SOF0-SOF15 except DHT (C4), JPG (C8) and DAC (CC): byte 9 of the segment is Nf.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      components ??= bytes[at + 9];
    at += 2 + length;
  }
  return { components, icc };
}

/**
 * RGB pixels of a 3-component JPEG without an ICC profile, or undefined: then sharp decodes it,
 * or rejects it with its own error. The wasm path only ever speeds up what sharp would do, so it
 * declines everything unusual: other component counts, profiles, images over WASM_MAX_PIXELS,
 * modes libjpeg-turbo 2.0 lacks (arithmetic coding, odd sampling factors), data with warnings.
 * After a fatal error or a trap inside the instance, the instance is dropped: libjpeg's longjmp
 * arrives here as a throw that unwinds the C stack without restoring its stack pointer, and a
 * trap may leave its heap half-written. The next decode instantiates the compiled module afresh.
 */
export async function decodeRgbJpeg(bytes: Uint8Array): Promise<RawImage | undefined> {
  const header = jpegHeader(bytes);
  if (header.components !== 3 || header.icc) return undefined;
  const module = await compiledDecoder();
  if (!module) return undefined;
  const tj = turboJpeg(module);
  let rgb: RawImage | undefined;
  try {
    rgb = decodeRgb(tj, bytes);
  } catch {
    if (instance === tj) instance = undefined;
  }
  if (rgb) stats.decoded++;
  else stats.declined++;
  return rgb;
}
